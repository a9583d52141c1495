#pragma once
// The API's closed vocabularies as small enums (reference §2, §3, §5): compact in memory for
// large result sets, and impossible to misspell in a request.

#include <cstdint>
#include <optional>
#include <string_view>

namespace s1pilot::s1 {

/// POST /threats/mitigate/{action}.
enum class mitigation_action : std::uint8_t {
    kill,
    quarantine,
    remediate,
    rollback_remediation,
    un_quarantine,
    network_quarantine,
};

/// The path segment: `kill`, `rollback-remediation`, `un-quarantine`, ...
std::string_view endpoint_name(mitigation_action a) noexcept;
/// The name in a threat's `mitigationStatus[].action`: `kill`, `rollback`, `unquarantine`, ...
std::string_view status_name(mitigation_action a) noexcept;
/// Accepts either form.
std::optional<mitigation_action> parse_mitigation_action(std::string_view name) noexcept;

/// `mitigationStatus[].status`.
enum class mitigation_result : std::uint8_t { success, failed, pending, sent, partial, pending_reboot };
std::string_view to_string(mitigation_result r) noexcept;
std::optional<mitigation_result> parse_mitigation_result(std::string_view name) noexcept;

/// `threatInfo.mitigationStatus`.
enum class mitigation_state : std::uint8_t { not_mitigated, mitigated, marked_as_benign };
std::string_view to_string(mitigation_state s) noexcept;
std::optional<mitigation_state> parse_mitigation_state(std::string_view name) noexcept;

enum class incident_status : std::uint8_t { unresolved, in_progress, resolved };
std::string_view to_string(incident_status s) noexcept;
std::optional<incident_status> parse_incident_status(std::string_view name) noexcept;

enum class analyst_verdict : std::uint8_t { undefined, true_positive, false_positive, suspicious };
std::string_view to_string(analyst_verdict v) noexcept;
std::optional<analyst_verdict> parse_analyst_verdict(std::string_view name) noexcept;

/// `agentRealtimeInfo.agentNetworkStatus`.
enum class network_status : std::uint8_t { connected, disconnected, connecting, disconnecting };
std::string_view to_string(network_status s) noexcept;
std::optional<network_status> parse_network_status(std::string_view name) noexcept;

/// `agentRealtimeInfo.agentOsType`. (`linux_`: GCC predefines `linux` as a macro in GNU mode.)
enum class os_type : std::uint8_t { windows, macos, linux_, windows_legacy };
std::string_view to_string(os_type t) noexcept;
std::optional<os_type> parse_os_type(std::string_view name) noexcept;

}  // namespace s1pilot::s1
