#pragma once
// The engine's metrics (docs/operations.md has the reference). Most are read off the audit
// records as they are written, so the metrics say what the audit log says; the calls' figures
// come from the console clients' observers, and time to contain from the runs and the
// confirmation follow-up.

#include "s1pilot/config/playbook.hpp"
#include "s1pilot/core/metrics.hpp"

#include <boost/json/object.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::engine {

struct engine_metrics {
    explicit engine_metrics(core::metrics_registry& registry);

    core::metrics_registry& registry;
    core::metric_family& runs;           ///< {playbook, result}
    core::metric_family& actions;        ///< {playbook, action, outcome}: threats (or runs, target: filter)
    core::metric_family& confirmations;  ///< {playbook, action, result}
    core::metric_family& ambiguous;      ///< {playbook, action}: calls whose outcome was unknown
    core::metric_family& api_requests;   ///< {console, endpoint, status}
    core::metric_family& api_duration;   ///< {console, class}
    core::metric_family& limiter_waits;  ///< {console, class}
    core::metric_family& limiter_wait_seconds;
    core::metric_family& limiter_rate;  ///< {console, class}: the rate allowed now
    core::metric_family& retries;       ///< {console, class}
    core::metric_family& throttled;     ///< {console, class}
    core::metric_family& ledger_rows;   ///< {state}
    core::metric_family& audit_records;
    core::metric_family& time_to_contain;  ///< {playbook}
    core::metric_family& last_success;     ///< {playbook}: unix seconds
    core::metric_family& interval;         ///< {playbook}: seconds between polls
    core::metric_family& held;             ///< {playbook}: 1 while the last run was held

    /// Counts what one written audit record says.
    void observe_record(const boost::json::object& record);
    /// The per-playbook gauges of a configuration (a reload drops those of removed playbooks).
    void publish_playbooks(const std::vector<config::playbook>& playbooks);

private:
    std::set<std::string> published_;  ///< the playbooks of the last publish
};

/// The `endpoint` label of a call: its path with numeric segments as `{id}` (a note read names
/// its threat), so that the label's values stay few.
std::string endpoint_label(std::string_view path);

/// The action whose completion contains a threat, for time to contain: the playbook's first
/// mitigation or isolation (counted when the agent confirms it), else its first action (counted
/// at its 200). Its ledger key; empty for a playbook without actions.
std::string containment_key(const config::playbook& p);

}  // namespace s1pilot::engine
