#pragma once
// The engine's state and the coroutines its files share: acting on one batch exactly once
// (act.cpp), reading threats back (act.cpp), a whole run (run.cpp), reconciliation
// (reconcile.cpp), the loops and the lifecycle (engine.cpp, loops.cpp), and the durable writes
// on the worker thread (durable.cpp).

#include "s1pilot/engine/batch.hpp"
#include "s1pilot/engine/effects.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/leadership.hpp"
#include "s1pilot/engine/metrics.hpp"
#include "s1pilot/engine/plan.hpp"
#include "s1pilot/policy/rate_limiter.hpp"
#include "s1pilot/policy/retry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <memory>
#include <set>
#include <type_traits>

namespace s1pilot::engine::detail {

/// One console: its settings, its transport, its shared rate limits and retry budget, and the
/// client on them. Shared: a run keeps the session it started with across a reload.
struct console_session {
    config::console_config config;
    std::unique_ptr<net::transport> transport;
    std::unique_ptr<policy::rate_limiter> read;
    std::unique_ptr<policy::rate_limiter> write;
    std::unique_ptr<policy::retry_budget> budget;
    std::unique_ptr<s1::client> client;
    std::uint64_t throttled = 0;  ///< 429s from this console (each logged as a warning)
    std::string last_error;       ///< the last failed attempt's error (redacted)
    std::optional<core::timestamp> last_error_at;
};
using session_ptr = std::shared_ptr<console_session>;

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
    int attempts_before = 0;  ///< sends of these rows before this batch (kept in the ledger)
    /// Set for a mitigation or isolation: accepted rows are followed until the agent carries
    /// them out, for this long (limits.confirm_within).
    std::optional<std::chrono::milliseconds> confirm_within;
    baseline_map baselines;  ///< a mitigation's per-threat baseline, written into each row
    /// Its first intent is durable already: written ahead, while the batch before it was being
    /// sent (act_on_batch's `ahead`). Its rows are pending: while stopping, it still goes to the
    /// client, which sends nothing, so that they end failed (known unsent).
    bool intent_written = false;
};

/// How a batch ended, per threat.
struct batch_outcome {
    std::vector<std::string> done;
    std::vector<std::string> failed;
    std::vector<std::string> unknown;  ///< still pending (the read could not decide)
    std::vector<std::string> skipped;  ///< the console skipped them (not supported): done, not acted
    std::size_t calls = 0;
    std::size_t reconciled = 0;
    std::size_t followed = 0;  ///< accepted and now followed until the agent confirms them
    bool fatal = false;        ///< a ledger or audit write failed: the engine failed closed
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

/// One playbook's poll loop: its own timer, stopped or re-timed alone.
struct playbook_loop {
    std::string playbook;
    std::chrono::milliseconds every{};
    bool stopped = false;
    std::optional<core::timestamp> next_run;        ///< when its wait ends (for the status)
    boost::asio::steady_timer* sleeping = nullptr;  ///< its wait in progress: stopping the loop cancels it
};

/// Leadership's state in the engine (leadership.hpp decides; lease.cpp carries it out).
struct lease_runtime {
    state::lock_session* session = nullptr;  ///< null: no shared ledger, always active
    std::int64_t key = 0;                    ///< the cluster's lock
    lease_state state{};
    lease_role role = lease_role::active;
    std::uint64_t term = 0;                        ///< +1 at every take and every loss
    std::set<std::string> term_runs;               ///< run ids written since the lock was taken: this term's rows
    bool reconciling = false;                      ///< a take-over (or a later) reconciliation is going
    bool looping = false;                          ///< the lease loop runs (drain waits for it)
    std::optional<core::timestamp> due;            ///< when another's row left pending becomes due
    std::string standby_reason;                    ///< why standby, for reason()
    boost::asio::steady_timer* waiting = nullptr;  ///< the loop's wait: a failed write cuts it short
    /// Waits of the consoles' clients (rate limit, backoff, Retry-After): a loss cuts them short,
    /// and the call then finds it may not send.
    std::set<boost::asio::steady_timer*> call_waits;
};

/// The call targets of `threat_ids` as a read shows them (agent 0 where the read lacks it).
std::vector<call_target> targets_of(const std::vector<std::string>& threat_ids,
                                    const std::vector<s1::threat_record>& read);

}  // namespace s1pilot::engine::detail

namespace s1pilot::engine {

struct engine::impl : std::enable_shared_from_this<engine::impl> {
    engine* self = nullptr;
    boost::asio::any_io_executor executor;
    std::shared_ptr<const snapshot> current;
    std::map<std::string, detail::session_ptr> sessions;
    engine_services services;
    engine_options options;
    std::map<std::string, trigger_gate> gates;
    std::map<std::string, std::shared_ptr<detail::playbook_loop>> loops;
    std::set<boost::asio::steady_timer*> sleeping;  ///< every sleep in progress: stop() cancels them
    std::string not_ready;
    detail::lease_runtime lease;
    bool stopping = false;
    bool recovering = false;
    bool scheduling = false;  ///< start_schedule() was called: reloads start loops too
    bool following = false;   ///< the confirmation loop runs (drain waits for it)
    std::size_t active_runs = 0;
    std::size_t live_loops = 0;
    std::uint64_t dry_runs = 0;
    std::uint64_t reconcile_batches = 0;
    std::unique_ptr<core::metrics_registry> own_metrics;  ///< when services.metrics is null
    std::unique_ptr<engine_metrics> metrics;
    std::optional<std::chrono::steady_clock::time_point> metrics_refreshed;
    /// Per playbook: its last run and counts since the process started (the status).
    struct run_history {
        std::optional<last_run> last;
        std::optional<run_report> report;  ///< the last run's, for a waiting trigger
        std::size_t runs = 0, held = 0, failed = 0;
        std::size_t started = 0;                       ///< runs begun (gated), to know which one a trigger joined
        std::set<boost::asio::steady_timer*> waiting;  ///< woken (cancelled) when a run ends
    };
    std::map<std::string, run_history> history;
    /// The one thread that touches the ledger and the audit writer. Declared last: destroyed
    /// (joined) first, while everything its work refers to still exists.
    std::unique_ptr<boost::asio::thread_pool> worker;

    bool ready() const noexcept { return not_ready.empty(); }
    /// Calls may go out: not stopping, and with a shared ledger the lock is held (by this term:
    /// runs of a lost term never send again, as a loss stops them before the lock is retaken).
    bool may_send() const noexcept { return !stopping && !fenced(); }
    /// A shared ledger whose lock this instance does not hold (any more).
    bool fenced() const noexcept { return lease.session != nullptr && !lease.state.holding; }
    /// A batch's intent may be written while the batch before it is being sent: only on a ledger
    /// this instance alone writes. On a shared one, an intent committed right before its POST is
    /// what shows that the cluster's lock is still held when the POST leaves.
    bool writes_ahead() const noexcept { return lease.session == nullptr; }
    /// Runs may start: may_send, and the take-over's reconciliation is over.
    bool acting() const noexcept { return may_send() && lease.role == lease_role::active; }
    detail::session_ptr session_for(std::string_view console) const;

    /// Runs `f` on the worker thread and resumes on the engine's executor with its result.
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F>> on_worker(F f) {
        using result_type = std::invoke_result_t<F>;
        co_return co_await boost::asio::co_spawn(
            worker->get_executor(), [&f]() -> boost::asio::awaitable<result_type> { co_return f(); },
            boost::asio::use_awaitable);
    }

    /// Sleeps `d` unless stop() (or stopping `loop`) comes first; false when cut short.
    boost::asio::awaitable<bool> sleep(std::chrono::nanoseconds d, detail::playbook_loop* loop = nullptr);
    /// A console client's wait: as sleep, and a lost lock cuts it short too.
    boost::asio::awaitable<void> call_sleep(std::chrono::nanoseconds d);

    /// Records made durable with the next commit (one transaction, one sync): a run's start and
    /// a batch's results ride with the next intent, or the run's end. Reads on the worker do
    /// not wait for them: what they read (rows of other actions and runs, a playbook's earlier
    /// runs, which ended flushed) is never among them.
    struct deferred_writes {
        std::vector<state::row_write> writes;
        std::vector<boost::json::object> records;
        bool empty() const noexcept { return writes.empty() && records.empty(); }
    };
    deferred_writes deferred;

    /// Fail closed: nothing more is sent; /readyz reports `why`; recovery starts.
    void fail_closed(const std::string& why);
    /// The durable write: deferred writes first, then `writes` in one ledger transaction, then
    /// `records` with one sync of the audit log. False, after failing closed, on error.
    [[nodiscard]] boost::asio::awaitable<bool> commit(std::vector<state::row_write> writes,
                                                      std::vector<boost::json::object> records);
    /// Queues a write for the next commit (a result that need not be durable before the next
    /// step: until then its row stays pending, which reconciliation reads).
    void defer(state::row_write write);
    void defer(boost::json::object record);
    /// One ledger write, committed now (with what was deferred).
    [[nodiscard]] boost::asio::awaitable<bool> write_rows(state::row_write write);
    [[nodiscard]] boost::asio::awaitable<bool> flush_deferred();
    /// The write that marks `rows` accepted: done, and followed when `confirm_within` is set.
    state::row_write accepted(std::vector<state::action_row> rows,
                              std::optional<std::chrono::milliseconds> confirm_within) const;
    /// Appends to the audit log (no-op without one). False, after failing closed, on error.
    [[nodiscard]] boost::asio::awaitable<bool> audit(boost::json::object record);
    /// The ledger writes, failing closed on error.
    [[nodiscard]] boost::asio::awaitable<bool> mark_pending(std::vector<state::action_row> rows);
    [[nodiscard]] boost::asio::awaitable<bool> mark_done(std::vector<state::action_row> rows);
    [[nodiscard]] boost::asio::awaitable<bool> mark_failed(std::vector<state::action_row> rows, std::string reason);
    [[nodiscard]] boost::asio::awaitable<bool> record_run(state::run_record run);
    /// mark_done, and with `confirm_within` also the start of the follow-up (one transaction).
    [[nodiscard]] boost::asio::awaitable<bool> mark_accepted(std::vector<state::action_row> rows,
                                                             std::optional<std::chrono::milliseconds> confirm_within);
    /// One pass of the confirmation follow-up: reads the threats of every confirmation due now
    /// and records what they show (confirm.cpp). False when a write failed (failed closed).
    boost::asio::awaitable<bool> confirm_due();
    /// The follow-up loop of `run`: a pass whenever a check is due, until stop().
    boost::asio::awaitable<void> confirmations_loop();
    /// Tries a ledger write and an audit append every options.recovery_interval until both
    /// succeed, then turns ready again.
    boost::asio::awaitable<void> recover();

    /// Acts on one batch exactly once (batch.hpp decides; this carries it out). With `ahead`
    /// (the next batch of the same run, never sent yet) and writes_ahead(), its intent is made
    /// durable while this batch's first POST is in flight; `ahead->intent_written` says whether.
    boost::asio::awaitable<detail::batch_outcome> act_on_batch(const run_identity& id, detail::console_session& session,
                                                               detail::batch_job job,
                                                               detail::batch_job* ahead = nullptr);

    /// Reads `threat_ids` (ids + scope) and, for a note, their notes; splits by the effect.
    boost::asio::awaitable<detail::effect_read> read_effect(detail::console_session& session, const effect& expected,
                                                            const filter::threat_filter& scope,
                                                            const std::vector<std::string>& threat_ids,
                                                            const baseline_map* baselines);

    /// What to do with rows whose effect is absent: resend, fail (with why) or keep pending.
    detail::resend_decision decide_resend(const config::playbook* p, const config::action* action,
                                          const row_detail& detail, bool at_start_up,
                                          const std::vector<detail::pending_row>& absent) const;

    /// Reconciles ledger rows left pending (start-up, or met again during a run), judged
    /// against `snap`. At start-up a row is resent only while fresh and in the playbook's scope.
    boost::asio::awaitable<reconcile_report> reconcile_entries(const snapshot& snap,
                                                               std::vector<state::ledger_entry> entries,
                                                               const std::string& run_id, bool at_start_up);

    /// Reconciles `entries` as one recorded run named `name` (a run id, its start and end in the
    /// ledger): all at once, or each playbook's rows under its gate (`gated`: never beside a run
    /// of that playbook; a playbook whose run is going is left to the next pass).
    boost::asio::awaitable<reconcile_report> reconcile_recorded(std::vector<state::ledger_entry> entries,
                                                                std::string name, bool gated);
    /// Why nothing more is sent: the failed write, standby, or shutting down.
    std::string halt_reason() const;

    /// One run from start to summary (run.cpp), on the snapshot it was given.
    boost::asio::awaitable<run_report> execute_run(std::shared_ptr<const snapshot> snap, const config::playbook& p,
                                                   const trigger& t);

    /// Runs `name` for `t` (the gate has let it in); triggers coalesced meanwhile then start the
    /// next run in the background. The report is this run's.
    boost::asio::awaitable<run_report> run_gated(std::string name, trigger t);
    /// run_gated in the background, owned by the engine (drain waits; a throw fails closed).
    void spawn_gated(const std::string& name, trigger t, std::function<void(run_report)> ended);
    /// The observers that feed a console's metrics and status (observe.cpp).
    s1::call_observers observers_for(const std::string& console, detail::console_session* session);
    /// A time-to-contain observation for `threats` of `playbook` done now by `action_key`.
    void observe_contained(const config::playbook& p, std::string_view action_key,
                           const std::vector<core::timestamp>& created);

    /// The poll loop of one playbook (loops.cpp).
    void start_loop(const config::playbook& p);
    void stop_loop(const std::string& name);

    // Leadership (lease.cpp).

    /// One try for the lock on the worker. True when it was taken now (the caller takes over).
    boost::asio::awaitable<bool> try_take_lock();
    /// The lock was taken: a new term; leader.acquired; the role is taking over until
    /// reconcile_left_pending ends, then active (and the schedule starts).
    boost::asio::awaitable<void> took_lock();
    /// The lock was lost (`why`): a new term, nothing more is sent, waits for a call are cut
    /// short, the schedule stops, standby; leader.lost.
    boost::asio::awaitable<void> lost_lock(std::string why);
    /// The rows left pending that are not this term's: those due are reconciled (each playbook's
    /// through its gate, so never beside a run of it), the others are left and `lease.due` says
    /// when to come back. At start-up, at a take-over, and when `lease.due` passes.
    boost::asio::awaitable<reconcile_report> reconcile_left_pending();
    /// reconcile_left_pending in the background, owned by the engine (`lease.reconciling`); at a
    /// take-over (`taking_over`), turns active when it ends, if the lock is still held.
    void spawn_left_pending(bool taking_over);
    /// The session check, bounded on the engine's side too (the worker may be held by a write to
    /// a database that no longer answers). Empty when the session answered, else why not.
    boost::asio::awaitable<std::string> check_lease_session();
    /// A ledger write failed: with a shared ledger, check the session now, not at the next turn.
    void suspect_session();
    /// Another instance's young rows among `entries` (rows a run met) are left alone: removed
    /// from `entries` and counted in `report`, with an audit record saying when they are due.
    boost::asio::awaitable<bool> hold_young_rows(std::vector<state::ledger_entry>& entries, const std::string& run_id,
                                                 reconcile_report& report);
    /// The run id of this term: recorded so that its rows are this instance's to decide.
    void own_run(const std::string& run_id);
    /// Pending rows by who wrote them: this term's runs, or another (due now, or not yet).
    pending_split split_by_writer(std::vector<state::ledger_entry> entries) const;
    /// The loop of start_schedule, until stop().
    boost::asio::awaitable<void> lease_loop();
};

}  // namespace s1pilot::engine
