#pragma once
// Internal: the fixed vocabularies of the playbook and configuration formats, shared by the
// parsers, the names in messages and the JSON Schema, so a word is spelt in one place.

#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/config/playbook.hpp"
#include "s1pilot/filter/vocabulary.hpp"

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
/// The console's words (filter/vocabulary.hpp) paired with the playbook's enums, which follow
/// their order.
template <typename E, std::size_t N>
constexpr choices<E, N> words_of(const std::array<std::string_view, N>& words) {
    choices<E, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = {words[i], static_cast<E>(i)};
    return out;
}
inline constexpr auto mitigations = words_of<mitigation>(filter::vocabulary::mitigation_endpoints);
inline constexpr auto incident_statuses = words_of<incident_status>(filter::vocabulary::incident_statuses);
inline constexpr auto analyst_verdicts = words_of<analyst_verdict>(filter::vocabulary::analyst_verdicts);
static_assert(mitigations[5].second == mitigation::network_quarantine &&
              incident_statuses[2].second == incident_status::resolved &&
              analyst_verdicts[3].second == analyst_verdict::suspicious);
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
inline constexpr std::array<std::string_view, 4> limits_keys{"max_threats", "on_exceed", "cooldown", "confirm_within"};
inline constexpr std::array<std::string_view, 5> action_keys{"mitigate", "incident", "verdict", "note", "isolate"};
inline constexpr std::array<std::string_view, 2> incident_keys{"status", "verdict"};

inline constexpr std::array<std::string_view, 10> config_keys{
    "consoles", "playbooks", "state", "state_password", "cluster", "lease", "audit", "admin", "retry", "log"};
inline constexpr std::array<std::string_view, 7> console_keys{"url",         "token",    "ca_file",   "proxy",
                                                              "rate_limits", "timeouts", "batch_size"};
inline constexpr std::array<std::string_view, 2> rate_limits_keys{"read", "write"};
inline constexpr std::array<std::string_view, 2> rate_keys{"rate", "burst"};
inline constexpr std::array<std::string_view, 3> timeouts_keys{"connect", "request", "call"};
inline constexpr std::array<std::string_view, 4> audit_keys{"path", "rotate_size", "keep", "hmac_key"};
inline constexpr std::array<std::string_view, 2> admin_keys{"listen", "token"};
inline constexpr std::array<std::string_view, 3> retry_keys{"max_attempts", "base", "cap"};
inline constexpr std::array<std::string_view, 2> log_keys{"level", "format"};
inline constexpr std::array<std::string_view, 2> lease_keys{"retry", "grace"};
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
