#pragma once
// The engine's state and the coroutines its files share: acting on one batch exactly once
// (act.cpp), reading threats back to reconcile (act.cpp), a whole run (run.cpp), start-up
// reconciliation and the schedule (engine.cpp).

#include "s1pilot/engine/effects.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/plan.hpp"
#include "s1pilot/policy/rate_limiter.hpp"
#include "s1pilot/policy/retry.hpp"

#include <boost/asio/steady_timer.hpp>

#include <list>
#include <map>
#include <memory>

namespace s1pilot::engine::detail {

/// One console: its transport, its shared rate limits and retry budget, and the client on them.
struct console_session {
    const config::console_config* config = nullptr;
    std::unique_ptr<net::transport> transport;
    std::unique_ptr<policy::rate_limiter> read;
    std::unique_ptr<policy::rate_limiter> write;
    std::unique_ptr<policy::retry_budget> budget;
    std::unique_ptr<s1::client> client;
};

/// One batch to act on: the call and what reconciliation needs to judge and resend it.
struct batch_job {
    const config::action* action = nullptr;  ///< null: reconcile only (playbook or action gone)
    std::string action_name;
    std::string ledger_key;
    effect expected;
    filter::threat_filter scope;  ///< carried scope keys: for reads and resends
    planned_call call;
    bool filter_target = false;  ///< target: filter (rows are the run, not threats)
    std::string batch_id;
    int attempts_before = 0;  ///< sends of these rows before this batch (start-up reconciliation)
    baseline_map baselines;   ///< a mitigation's per-threat baseline, written into each row
};

/// How a batch ended, per threat.
struct batch_outcome {
    std::vector<std::string> done;
    std::vector<std::string> failed;
    std::vector<std::string> unknown;  ///< still pending (the read could not decide)
    std::vector<std::string> skipped;  ///< the console skipped them (not supported): done, not acted
    std::size_t calls = 0;
    std::size_t reconciled = 0;
    bool fatal = false;  ///< a ledger or audit write failed: the engine failed closed
};

/// A row whose effect is absent, with when it was last written (for the staleness check).
struct pending_row {
    std::string threat_id;
    core::timestamp updated_at{};
};

/// Reconciliation's verdict on the rows whose effect is absent.
struct resend_decision {
    std::vector<std::string> resend;
    std::vector<std::pair<std::vector<std::string>, std::string>> refused;  ///< marked failed, with why
    std::vector<std::string> kept_pending;                                  ///< dry-run playbook: left as is
};

/// A fresh read of some threats (and their notes, for a note effect).
struct effect_read {
    bool ok = false;
    std::string error;
    std::vector<s1::threat_record> threats;
    std::map<std::string, std::vector<std::string>> notes;  ///< threat id -> note texts
    reconcile_split split;
};

}  // namespace s1pilot::engine::detail

namespace s1pilot::engine {

struct engine::impl {
    boost::asio::any_io_executor executor;
    config::daemon_config config;
    std::vector<config::playbook> playbooks;
    engine_services services;
    engine_options options;
    std::map<std::string, detail::console_session> sessions;
    std::map<std::string, trigger_gate> gates;
    std::list<boost::asio::steady_timer> timers;  ///< one per polled playbook; cancelled by stop()
    std::string not_ready;
    bool stopping = false;
    std::size_t active_runs = 0;
    std::size_t loops = 0;
    std::uint64_t dry_runs = 0;

    bool ready() const noexcept { return not_ready.empty(); }
    const config::playbook* find_playbook(std::string_view name) const;
    detail::console_session* session_for(std::string_view console);

    /// Fail closed: nothing more is sent; /readyz reports `why`.
    void fail_closed(const std::string& why);
    /// Appends to the audit log (no-op without one). False, after failing closed, on error.
    bool audit(const boost::json::object& record);
    /// The ledger writes, failing closed on error.
    bool mark_pending(const std::vector<state::action_row>& rows);
    bool mark_done(const std::vector<state::action_row>& rows);
    bool mark_failed(const std::vector<state::action_row>& rows, std::string_view reason);

    /// Acts on one batch exactly once: ledger pending + audit intent (durable) before the POST;
    /// done/failed + result after; an unknown outcome is reconciled by reading and resent only
    /// where the effect is absent, at most retry.max_attempts sends in all.
    boost::asio::awaitable<detail::batch_outcome> act_on_batch(const run_identity& id, detail::console_session& session,
                                                               detail::batch_job job);

    /// Reads `threat_ids` (ids + scope) and, for a note, their notes; splits by the effect.
    boost::asio::awaitable<detail::effect_read> read_effect(detail::console_session& session, const effect& expected,
                                                            const filter::threat_filter& scope,
                                                            const std::vector<std::string>& threat_ids,
                                                            const baseline_map* baselines);

    /// What to do with rows whose effect is absent: resend, fail (with why) or keep pending.
    detail::resend_decision decide_resend(const config::playbook* p, const config::action* action,
                                          const row_detail& detail, bool at_start_up,
                                          const std::vector<detail::pending_row>& absent) const;

    /// Reconciles ledger rows left pending (start-up, or met again during a run). At start-up a
    /// row is resent only while fresh (options.stale_pending_after) and in the playbook's scope.
    boost::asio::awaitable<reconcile_report> reconcile_entries(std::vector<state::ledger_entry> entries,
                                                               const std::string& run_id, bool at_start_up);

    /// One run from start to summary (run.cpp).
    boost::asio::awaitable<run_report> execute_run(const config::playbook& p, const trigger& t);
};

}  // namespace s1pilot::engine
