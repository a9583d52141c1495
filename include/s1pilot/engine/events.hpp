#pragma once
// The audit records the engine writes (DESIGN.md §6), built as plain JSON objects so that their
// fields are unit tested. The writer adds seq, time, prev and hash. No record carries a secret:
// only ids, names, paths, bodies built from the playbook, statuses and the API's error text.

#include "s1pilot/engine/report.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::engine {

/// `success|failure|unknown|skipped|dry_run`.
enum class outcome { success, failure, unknown, skipped, dry_run };
std::string_view to_string(outcome o) noexcept;

/// What every record of a run repeats.
struct run_identity {
    std::string run;
    std::string playbook;
    std::string playbook_sha256;
    std::string console;
    bool dry_run = false;
};

/// One call as the intent and result records name it.
struct call_identity {
    std::string action;  ///< action_name()
    std::string method;  ///< POST
    std::string path;    ///< without query
    std::vector<std::string> threat_ids;
    std::vector<std::string> agent_ids;  ///< isolate only
    std::string batch;                   ///< `b-<n>` within the run
    int attempt = 1;                     ///< sends of this batch so far, this one included
};

/// What came back from a call.
struct call_answer {
    outcome result = outcome::success;
    unsigned http_status = 0;
    std::optional<std::int64_t> affected;
    std::string request_id;  ///< X-RQID
    std::int64_t duration_ms = 0;
    std::string error;   ///< the API's error text or the transport failure; failures only
    std::string reason;  ///< skipped: why the console did not apply it (`remediate: not_supported`)
};

boost::json::object run_start_event(const run_identity& id, std::string_view trigger, std::string_view mode);
boost::json::object run_held_event(const run_identity& id, std::size_t matched, std::size_t after_ledger,
                                   int max_threats);
boost::json::object run_end_event(const run_identity& id, const run_report& report);

boost::json::object intent_event(const run_identity& id, const call_identity& call);
boost::json::object result_event(const run_identity& id, const call_identity& call, const call_answer& answer);
/// A dry run's record of the exact request it would send (outcome dry_run).
boost::json::object dry_run_event(const run_identity& id, const call_identity& call, std::string_view body);
/// Threats left out of an action (on_error: stop after an earlier failure; isolate without agent).
boost::json::object skipped_event(const run_identity& id, std::string_view action,
                                  const std::vector<std::string>& threat_ids, std::string_view reason);

/// The outcome of reading threats after an unknown outcome: which showed the effect (done),
/// which did not (resend or failed) and which could not be decided (unknown).
struct reconcile_counts {
    std::vector<std::string> done;
    std::vector<std::string> absent;
    std::vector<std::string> unknown;
    std::string note;  ///< what happens next, for a person (e.g. `resending`, `playbook no longer loaded`)
};
boost::json::object reconciled_event(const run_identity& id, std::string_view action, const reconcile_counts& counts);

/// What the confirmation follow-up found for some threats of one accepted action.
struct confirmation_event {
    std::string action;  ///< the ledger key: `mitigate:kill`, `isolate:agents`
    std::vector<std::string> threat_ids;
    std::string state;        ///< confirmed | confirmed_failed | unconfirmed
    std::string last_status;  ///< what the console showed last (`success`, `pending`, `failed`, ...)
    bool agent_offline = false;
    int checks = 0;              ///< reads it took
    std::int64_t waited_ms = 0;  ///< from the console's 200 to this decision
};
/// `action.confirmed` (outcome success, or failure for confirmed_failed) or `action.unconfirmed`
/// (outcome unknown): DESIGN §4, confirmation.
boost::json::object confirmation_record(const run_identity& id, const confirmation_event& e);

/// `daemon.start|stop`, `config.loaded|rejected`: `fields` are added after `event`.
boost::json::object daemon_event(std::string_view event, boost::json::object fields = {});

}  // namespace s1pilot::engine
