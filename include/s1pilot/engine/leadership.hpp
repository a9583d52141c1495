#pragma once
// Leadership among instances that share a PostgreSQL ledger (DESIGN §9), as pure decisions: the
// cluster's lock key, what the lease loop does next and what an outcome changes, and which rows
// left pending may be decided now. src/engine/lease.cpp carries them out.
//
// One lock per cluster, held on the ledger's own session: the holder is active (it schedules,
// accepts webhooks, sends); the others are standby and try again every `lease.retry`. The active
// checks its session every `lease_check_every`; a check unanswered within `lease_check_timeout`,
// or failed, is a lost session: the instance stops sending at once and turns standby, opens a new
// session every `lease.retry`, and competes again once the runs of the lost term have ended.

#include "s1pilot/core/time.hpp"
#include "s1pilot/state/ledger.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace s1pilot::engine {

/// The advisory lock's key of a cluster: FNV-1a (64 bits) of `s1pilot:<cluster>`, read as a
/// signed 64-bit number (pg_locks shows it as classid = its high 32 bits, objid = its low ones).
std::int64_t cluster_lock_key(std::string_view cluster) noexcept;

/// Where an instance stands. Without a shared ledger it is always active.
enum class lease_role {
    active,       ///< holds the cluster's lock: schedules playbooks, accepts webhooks, sends
    standby,      ///< does not hold it: schedules nothing, sends nothing, is not ready
    taking_over,  ///< has just taken it: reconciles what was left pending before anything else
};
/// `active`, `standby`, `taking over`.
std::string_view to_string(lease_role role) noexcept;

/// What the lease loop knows: whether the session holds the lock, and whether there is a session.
struct lease_state {
    bool holding = false;
    bool connected = true;
    bool operator==(const lease_state&) const = default;
};

/// What the lease loop does next.
enum class lease_step {
    try_lock,   ///< a session without the lock: try to take it
    check,      ///< holding: check that the session still answers
    reconnect,  ///< no session (it was lost): open a new one
    wait,       ///< runs of the lost term are still ending: compete only after them
};

/// What a step found. A ledger write that fails on the active is answered with a check.
enum class lease_outcome { lock_taken, lock_busy, session_ok, session_lost, reconnected, reconnect_failed };

/// What an outcome changes for the engine.
enum class lease_change {
    none,
    took_lock,  ///< reconcile what was left pending, then act
    lost_lock,  ///< fence: nothing more is sent; the schedule stops; not ready
};

/// The next step. `lost_term_busy`: runs (or a reconciliation) of an earlier term have not ended
/// yet: their calls must have stopped before this instance may take the lock again.
lease_step next_lease_step(const lease_state& state, bool lost_term_busy) noexcept;

/// The state after `outcome`, and what it changes.
std::pair<lease_state, lease_change> after_lease_outcome(const lease_state& state, lease_outcome outcome) noexcept;

/// How long to wait before `step`: the active checks every `check_every`; a standby tries the
/// lock, a lost session is reopened, and a wait for the lost term's runs polls, every `retry`.
std::chrono::milliseconds lease_wait(lease_step step, std::chrono::milliseconds check_every,
                                     std::chrono::milliseconds retry) noexcept;

/// Rows left pending, as the active meets them. A row written in the current term (its run is
/// this instance's, since it took the lock) is its own to decide. Any other was written by
/// another instance or an earlier session, whose POST may still be on the wire: it is decided
/// only `wait` (the call deadline + lease.grace) after it was written.
struct pending_split {
    std::vector<state::ledger_entry> own;      ///< written in this term
    std::vector<state::ledger_entry> due;      ///< another's, old enough to decide now
    std::vector<state::ledger_entry> not_yet;  ///< another's, too young: left alone
    std::optional<core::timestamp> next_due;   ///< when the first of `not_yet` becomes due
};
pending_split split_pending(std::vector<state::ledger_entry> entries,
                            const std::function<bool(std::string_view run_id)>& own, core::timestamp now,
                            std::chrono::milliseconds wait);

}  // namespace s1pilot::engine
