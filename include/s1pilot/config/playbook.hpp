#pragma once
// A playbook (DESIGN §3) as a typed, validated struct: what to select (a threat filter) and
// what to do with it (actions in order), with the limits that bound a run.

#include "s1pilot/config/defaults.hpp"
#include "s1pilot/config/note_template.hpp"
#include "s1pilot/filter/filter.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace s1pilot::config {

enum class run_mode { enforce, dry_run };
enum class target_kind { threats, filter };
enum class exceed_policy { hold, first };
enum class error_policy { stop, proceed };  ///< `on_error: stop | continue`

/// `/threats/mitigate/{action}`.
enum class mitigation { kill, quarantine, remediate, rollback_remediation, un_quarantine, network_quarantine };
enum class incident_status { unresolved, in_progress, resolved };
enum class analyst_verdict { undefined, true_positive, false_positive, suspicious };

/// The wire names: `rollback-remediation`, `in_progress`, `true_positive`, ...
std::string_view to_string(mitigation m) noexcept;
std::string_view to_string(incident_status s) noexcept;
std::string_view to_string(analyst_verdict v) noexcept;
std::string_view to_string(run_mode m) noexcept;  ///< enforce | dry-run

/// `mitigate: kill` → POST /threats/mitigate/kill.
struct mitigate_action {
    mitigation kind;
    bool operator==(const mitigate_action&) const = default;
};
/// `incident: {status, verdict?}` → POST /threats/incident.
struct incident_action {
    incident_status status;
    std::optional<analyst_verdict> verdict;
    bool operator==(const incident_action&) const = default;
};
/// `verdict: true_positive` → POST /threats/analyst-verdict.
struct verdict_action {
    analyst_verdict verdict;
    bool operator==(const verdict_action&) const = default;
};
/// `note: "text"` → POST /threats/notes.
struct note_action {
    note_template text;
    bool operator==(const note_action&) const = default;
};
/// `isolate: agents` → POST /agents/actions/disconnect for the threats' agents.
struct isolate_action {
    bool operator==(const isolate_action&) const = default;
};

using action = std::variant<mitigate_action, incident_action, verdict_action, note_action, isolate_action>;

/// The action's name in the audit log and the ledger: `mitigate:kill`, `incident:in_progress`,
/// `incident:in_progress:true_positive`, `verdict:suspicious`, `note`, `isolate:agents`.
std::string action_name(const action& a);

struct trigger_config {
    std::optional<std::chrono::milliseconds> every;  ///< absent: not polled; >= defaults::min_every
    bool webhook = false;                            ///< runnable from POST /v1/events and /v1/playbooks/<name>/run
};

struct limits_config {
    int max_threats = defaults::max_threats;  ///< >= 1
    exceed_policy on_exceed = exceed_policy::hold;
    std::optional<std::chrono::milliseconds> cooldown;  ///< absent: a done action is never redone
    /// How long a mitigation or isolation the console accepted is followed until the agent has
    /// carried it out (DESIGN §4, confirmation); then it is audited action.unconfirmed.
    std::chrono::milliseconds confirm_within = defaults::confirm_within;
};

struct playbook {
    std::string name;  ///< [a-z0-9][a-z0-9-]*, unique in the loaded set
    std::string description;
    /// The console's name. Empty only when loaded without a daemon configuration and the file
    /// names none (then: the only console).
    std::string console;
    run_mode mode = run_mode::enforce;
    trigger_config trigger;       ///< no every and no webhook: run manually or by `once` only
    filter::threat_filter match;  ///< validated; satisfies the scope rule
    bool allow_tenant_wide = false;
    target_kind target = target_kind::threats;
    limits_config limits;
    std::vector<action> actions;  ///< at least one, in order, no two equal
    error_policy on_error = error_policy::stop;

    std::filesystem::path file;  ///< where it was loaded from
    std::string sha256;          ///< lowercase hex SHA-256 of the file's bytes (the audit records it)
};

}  // namespace s1pilot::config
