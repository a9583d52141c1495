#pragma once
// Internal: the fixed vocabularies of the playbook and configuration formats, shared by the
// parsers, the names in messages and the JSON Schema, so a word is spelt in one place.

#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/config/playbook.hpp"

#include <array>
#include <span>
#include <string_view>
#include <utility>

namespace s1pilot::config::detail {

template <typename E, std::size_t N>
using choices = std::array<std::pair<std::string_view, E>, N>;

inline constexpr choices<run_mode, 2> run_modes{{{"enforce", run_mode::enforce}, {"dry-run", run_mode::dry_run}}};
inline constexpr choices<target_kind, 2> target_kinds{
    {{"threats", target_kind::threats}, {"filter", target_kind::filter}}};
inline constexpr choices<exceed_policy, 2> exceed_policies{
    {{"hold", exceed_policy::hold}, {"first", exceed_policy::first}}};
inline constexpr choices<error_policy, 2> error_policies{
    {{"stop", error_policy::stop}, {"continue", error_policy::proceed}}};
inline constexpr choices<mitigation, 6> mitigations{{{"kill", mitigation::kill},
                                                     {"quarantine", mitigation::quarantine},
                                                     {"remediate", mitigation::remediate},
                                                     {"rollback-remediation", mitigation::rollback_remediation},
                                                     {"un-quarantine", mitigation::un_quarantine},
                                                     {"network-quarantine", mitigation::network_quarantine}}};
inline constexpr choices<incident_status, 3> incident_statuses{{{"unresolved", incident_status::unresolved},
                                                                {"in_progress", incident_status::in_progress},
                                                                {"resolved", incident_status::resolved}}};
inline constexpr choices<analyst_verdict, 4> analyst_verdicts{{{"undefined", analyst_verdict::undefined},
                                                               {"true_positive", analyst_verdict::true_positive},
                                                               {"false_positive", analyst_verdict::false_positive},
                                                               {"suspicious", analyst_verdict::suspicious}}};
inline constexpr choices<bool, 1> isolate_targets{{{"agents", true}}};
inline constexpr choices<log_level, 5> log_levels{{{"trace", log_level::trace},
                                                   {"debug", log_level::debug},
                                                   {"info", log_level::info},
                                                   {"warn", log_level::warn},
                                                   {"error", log_level::error}}};
inline constexpr choices<log_format, 2> log_formats{{{"json", log_format::json}, {"text", log_format::text}}};

inline constexpr std::array<std::string_view, 11> playbook_keys{"name",    "description", "console",           "mode",
                                                                "trigger", "match",       "allow_tenant_wide", "target",
                                                                "limits",  "actions",     "on_error"};
inline constexpr std::array<std::string_view, 2> trigger_keys{"every", "webhook"};
inline constexpr std::array<std::string_view, 3> limits_keys{"max_threats", "on_exceed", "cooldown"};
inline constexpr std::array<std::string_view, 5> action_keys{"mitigate", "incident", "verdict", "note", "isolate"};
inline constexpr std::array<std::string_view, 2> incident_keys{"status", "verdict"};

inline constexpr std::array<std::string_view, 7> config_keys{"consoles", "playbooks", "state", "audit",
                                                             "admin",    "retry",     "log"};
inline constexpr std::array<std::string_view, 7> console_keys{"url",         "token",    "ca_file",   "proxy",
                                                              "rate_limits", "timeouts", "batch_size"};
inline constexpr std::array<std::string_view, 2> rate_limits_keys{"read", "write"};
inline constexpr std::array<std::string_view, 2> rate_keys{"rate", "burst"};
inline constexpr std::array<std::string_view, 2> timeouts_keys{"connect", "request"};
inline constexpr std::array<std::string_view, 4> audit_keys{"path", "rotate_size", "keep", "hmac_key"};
inline constexpr std::array<std::string_view, 2> admin_keys{"listen", "token"};
inline constexpr std::array<std::string_view, 3> retry_keys{"max_attempts", "base", "cap"};
inline constexpr std::array<std::string_view, 2> log_keys{"level", "format"};
inline constexpr std::array<std::string_view, 2> secret_keys{"file", "env"};

template <typename E, std::size_t N>
std::string_view name_of(const choices<E, N>& table, E value) noexcept {
    for (const auto& [name, v] : table)
        if (v == value) return name;
    return "?";
}

template <typename E, std::size_t N>
std::span<const std::pair<std::string_view, E>> as_span(const choices<E, N>& table) noexcept {
    return {table.data(), table.size()};
}

}  // namespace s1pilot::config::detail
