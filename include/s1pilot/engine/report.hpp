#pragma once
// What a run did, for people and for exit codes: the run_report, the one-line summary of
// `s1pilot once`, the table of `s1pilot plan`, and the exit code of a set of runs.

#include <cstddef>
#include <string>
#include <vector>

namespace s1pilot::engine {

/// A call a dry run would make, as recorded (and as `plan` prints it).
struct dry_call {
    std::string method;   ///< POST
    std::string path;     ///< e.g. /web/api/v2.1/threats/mitigate/kill
    std::string body;     ///< the exact JSON body
    std::size_t ids = 0;  ///< ids in the call's filter (agents for isolate; 0 for target: filter)
};

struct action_report {
    std::string action;            ///< action_name(): `mitigate:kill`, `note`, ...
    std::size_t threats_done = 0;  ///< threats for which this run made (or found) the action done
    std::size_t calls = 0;         ///< POSTs sent (resends included)
    std::size_t failures = 0;      ///< threats for which the action failed or stayed unknown
    /// Not done and not failed: left out because an earlier action failed (on_error: stop), or
    /// skipped by the console (a mitigation the agent's platform does not support).
    std::size_t skipped = 0;
    std::size_t reconciled = 0;  ///< found done by reading the console after an unknown outcome
    /// Accepted by the console and followed until the agent carries them out (mitigations and
    /// isolation): done for s1pilot, not yet confirmed.
    std::size_t awaiting_confirmation = 0;
    std::vector<dry_call> dry_calls;
};

enum class run_outcome {
    ok,         ///< ran to the end (actions may have failed: see failures())
    held,       ///< more than max_threats with on_exceed: hold; nothing was sent
    failed,     ///< the run could not go on (resolve failed, ledger or audit failure, refused)
    coalesced,  ///< a run of the playbook was already going; this trigger joins the next one
};

std::string_view to_string(run_outcome o) noexcept;

struct run_report {
    std::string playbook;
    std::string run_id;
    bool dry_run = false;
    run_outcome outcome = run_outcome::ok;
    std::size_t matched = 0;       ///< threats the resolve returned (target: filter: the count)
    std::size_t after_ledger = 0;  ///< of those, with an action still to do or pending
    std::size_t acted = 0;         ///< threats the run acted on (after the limit; 0 when held)
    std::vector<action_report> actions;
    std::string error;  ///< why the run failed, for a person; empty otherwise
    /// The playbook's confirmations in the ledger at the run's end (every run so far): accepted
    /// and still followed, past confirm_within without confirmation, and confirmed failed.
    std::size_t awaiting = 0;
    std::size_t unconfirmed = 0;
    std::size_t confirmed_failed = 0;

    std::size_t calls() const noexcept;
    std::size_t failures() const noexcept;
    std::size_t dry_calls() const noexcept;
    std::size_t skipped() const noexcept;
    std::size_t awaiting_confirmation() const noexcept;  ///< of this run's actions
};

/// `contain-ransomware: matched 12, acted 12 (4 calls), held no, failed 0` (`, skipped 3` when
/// threats were skipped; `, awaiting confirmation 12` for accepted mitigations the agents have
/// not confirmed yet; `, unconfirmed 2` / `, confirmed failed 1` from the ledger when any; a dry run says `would act on
/// 12 (4 calls)`; a failed run adds
/// `: error ...`).
std::string summary_line(const run_report& r);

/// The table of `s1pilot plan`: one block per playbook (playbook, matched, after ledger, held?)
/// and one line per call it would make (method, path, number of ids), columns aligned.
std::string plan_table(const std::vector<run_report>& reports);

/// `s1pilot once`'s exit code: 1 if a run failed, else 4 if one was held or had failed
/// actions, else 0.
int once_exit_code(const std::vector<run_report>& reports);

}  // namespace s1pilot::engine
