// Name tables for the enums of vocabulary.hpp: one array per enum, indexed by its value.

#include "s1pilot/s1/vocabulary.hpp"

#include "s1pilot/filter/vocabulary.hpp"

#include <array>

namespace s1pilot::s1 {
namespace {

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, Enum e) noexcept {
    const auto index = static_cast<std::size_t>(e);
    return index < N ? names[index] : std::string_view("unknown");
}

template <class Enum, std::size_t N>
std::optional<Enum> parse_in(const std::array<std::string_view, N>& names, std::string_view text) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == text) return static_cast<Enum>(i);
    }
    return std::nullopt;
}

constexpr auto endpoint_names = filter::vocabulary::mitigation_endpoints;
constexpr std::array<std::string_view, 6> status_names{"kill",     "quarantine",   "remediate",
                                                       "rollback", "unquarantine", "network_quarantine"};
constexpr std::array<std::string_view, 6> result_names{"success", "failed",  "pending",
                                                       "sent",    "partial", "pending-reboot"};
constexpr auto state_names = filter::vocabulary::mitigation_states;
constexpr auto incident_names = filter::vocabulary::incident_statuses;
constexpr auto verdict_names = filter::vocabulary::analyst_verdicts;
constexpr std::array<std::string_view, 4> network_names{"connected", "disconnected", "connecting", "disconnecting"};
constexpr std::array<std::string_view, 4> os_names{"windows", "macos", "linux", "windows_legacy"};

}  // namespace

std::string_view endpoint_name(mitigation_action a) noexcept {
    return name_of(endpoint_names, a);
}
std::string_view status_name(mitigation_action a) noexcept {
    return name_of(status_names, a);
}
std::optional<mitigation_action> parse_mitigation_action(std::string_view name) noexcept {
    if (auto a = parse_in<mitigation_action>(endpoint_names, name)) return a;
    return parse_in<mitigation_action>(status_names, name);
}

std::string_view to_string(mitigation_result r) noexcept {
    return name_of(result_names, r);
}
std::optional<mitigation_result> parse_mitigation_result(std::string_view name) noexcept {
    return parse_in<mitigation_result>(result_names, name);
}

std::string_view to_string(mitigation_state s) noexcept {
    return name_of(state_names, s);
}
std::optional<mitigation_state> parse_mitigation_state(std::string_view name) noexcept {
    return parse_in<mitigation_state>(state_names, name);
}

std::string_view to_string(incident_status s) noexcept {
    return name_of(incident_names, s);
}
std::optional<incident_status> parse_incident_status(std::string_view name) noexcept {
    return parse_in<incident_status>(incident_names, name);
}

std::string_view to_string(analyst_verdict v) noexcept {
    return name_of(verdict_names, v);
}
std::optional<analyst_verdict> parse_analyst_verdict(std::string_view name) noexcept {
    return parse_in<analyst_verdict>(verdict_names, name);
}

std::string_view to_string(network_status s) noexcept {
    return name_of(network_names, s);
}
std::optional<network_status> parse_network_status(std::string_view name) noexcept {
    return parse_in<network_status>(network_names, name);
}

std::string_view to_string(os_type t) noexcept {
    return name_of(os_names, t);
}
std::optional<os_type> parse_os_type(std::string_view name) noexcept {
    return parse_in<os_type>(os_names, name);
}

}  // namespace s1pilot::s1
