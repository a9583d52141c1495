#pragma once
// The exactly-once step as a pure state machine (DESIGN.md §4, §7). A batch is a set of threats
// one action is sent for; after each event — the answer to a POST, or a fresh read of the
// threats — `decide` says what becomes of every threat: done, skipped (the console's final word),
// failed, to be read back (reconcile), to be sent again, given up (the effect stayed absent after
// the last allowed send), or left pending (nothing could be decided). The coroutine that drives a
// batch (act.cpp) only carries out these decisions: it writes the ledger and the audit log and
// sends or reads what they say. No I/O, no Asio, no clock: every rule here is unit tested with
// made-up inputs.

#include "s1pilot/engine/effects.hpp"
#include "s1pilot/s1/call.hpp"
#include "s1pilot/s1/responses.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace s1pilot::engine {

/// What a batch is, as far as deciding goes.
struct batch_facts {
    std::vector<std::string> threats;  ///< the threats (ledger rows) the last send covered
    /// How many ids the last send posted: the threats, or for isolate their distinct agents.
    /// An answer without details[] is judged by comparing `affected` with this number.
    std::size_t targets = 0;
    int attempts = 1;        ///< sends of these rows so far, the last one included (kept in the ledger)
    int max_attempts = 1;    ///< retry.max_attempts: sends allowed in all, across restarts
    bool can_resend = true;  ///< the action is still loaded and enforcing (false: reconcile only)
    bool per_threat = true;  ///< false for target: filter, whose effect cannot be read per threat
};

/// The next step, per threat. Every threat of the batch is in exactly one group.
struct batch_step {
    std::vector<std::string> done;
    std::map<std::string, std::vector<std::string>> skipped;  ///< reason -> threats (done in the ledger)
    std::map<std::string, std::vector<std::string>> failed;   ///< reason -> threats (the next run retries)
    std::vector<std::string> reconcile;                       ///< the effect is unknown: read before anything is sent
    std::vector<std::string> resend;                          ///< the effect is absent: send again
    std::vector<std::string> give_up;                         ///< absent after the last allowed send: failed
    std::vector<std::string> pending;                         ///< undecided: the row stays pending for a later read
    std::string why;                                          ///< why reconcile (for the audit record and the log)

    /// True when nothing is left to do for the batch (no read, no send).
    bool settled() const noexcept { return reconcile.empty() && resend.empty(); }
};

/// The answer to a POST: `status` as the client classified it; `response` when it was a 2xx
/// understood as an action answer (null otherwise); `error` the failure's text.
struct post_answer {
    s1::call_status status = s1::call_status::success;
    const s1::action_response* response = nullptr;
    std::string error;
};

/// After a POST:
/// - a definite failure (4xx, retries exhausted with nothing sent): every threat failed;
/// - an unknown outcome (5xx, reset or timeout after sending) or a 2xx that carries errors:
///   reconcile every threat, or for target: filter give up (it cannot be read per threat);
/// - a 2xx: each threat listed in `details[]` as its entry says (skipped, failed for
///   `missing_permissions`/`conditions_not_met`, otherwise done); the threats it does not list
///   are done when `affected` covers every target, and reconciled when it is lower. `affected: 0`
///   is never done.
batch_step decide(const batch_facts& batch, const post_answer& answer);

/// A fresh read of the batch's threats (after an unknown outcome): `ok` false when the read
/// failed (every threat left pending); otherwise `split` says which show the effect.
struct threats_read {
    bool ok = false;
    std::string error;
    reconcile_split split;
};

/// After reading back: present → done; absent → resend while `attempts < max_attempts` and the
/// batch can resend, otherwise give up; not found in the read → left pending.
batch_step decide(const batch_facts& batch, const threats_read& read);

}  // namespace s1pilot::engine
