#pragma once
// The engine: carries out playbook runs (DESIGN.md §4) against the consoles, exactly once per
// (playbook, action, threat), recording every decision in the audit log; reconciles what a crash
// left pending; polls playbooks on their schedule, one loop per playbook; swaps in a reloaded
// configuration without disturbing runs in flight (DESIGN.md §7).
//
// Thread model: one io_context thread runs the engine; create it and await its coroutines on that
// executor. Ledger and audit writes run on one worker thread of the engine's own, awaited from
// the loop, so a slow disk delays only the run that writes. The ledger, audit writer and clock
// are borrowed and must outlive the engine; only the worker touches the ledger and the writer
// while the engine lives.
//
// Snapshots: a loaded configuration is one immutable `snapshot`. A run takes the snapshot current
// at its start and keeps it to its end; reload() publishes a new one and never changes one in use.
//
// Fail closed: when a ledger or audit write fails, nothing more is sent, the engine turns
// not-ready (ready() false, reason() says why) and refuses runs; it retries a write every
// options.recovery_interval and turns ready again by itself when one succeeds.
//
// Leadership (DESIGN §9, leadership.hpp): with a shared ledger (services.lock), only the instance
// holding the cluster's lock acts. The others are standby: not ready ("standby: ..."), they
// schedule nothing, refuse triggers and send nothing, and try the lock every lease.retry. The
// active checks its session every options.lease_check_every; when it is lost, nothing more is
// sent (calls waiting to be sent are dropped), the instance turns standby, reopens a session and
// competes again. A row left pending by another instance or an earlier session is decided only
// once the longest consoles.*.timeouts.call + lease.grace have passed since it was written.

#include "s1pilot/audit/writer.hpp"
#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/config/defaults.hpp"
#include "s1pilot/config/playbook.hpp"
#include "s1pilot/core/clock.hpp"
#include "s1pilot/core/metrics.hpp"
#include "s1pilot/engine/leadership.hpp"
#include "s1pilot/engine/report.hpp"
#include "s1pilot/engine/schedule.hpp"
#include "s1pilot/engine/status.hpp"
#include "s1pilot/net/transport.hpp"
#include "s1pilot/s1/client.hpp"
#include "s1pilot/state/ledger.hpp"
#include "s1pilot/state/lock_session.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace s1pilot::engine {

/// Makes the transport of a console. Returns the transport, or a message for the operator.
using transport_factory = std::function<std::variant<std::unique_ptr<net::transport>, std::string>(
    const config::console_config&, boost::asio::any_io_executor)>;

/// How a run is getting on, for a person at a terminal (`once`, `plan`): called on the engine's
/// thread, often; the sink decides what to show and how often.
struct progress_event {
    enum class kind { page, batch, rate_wait };
    kind what = kind::page;
    std::string_view playbook;         ///< page, batch
    std::string_view detail;           ///< batch: the action; rate_wait: the console
    std::size_t done = 0;              ///< page: threats resolved so far; batch: this batch's number
    std::size_t total = 0;             ///< batch: batches of the action (0 for page)
    std::chrono::nanoseconds wait{0};  ///< rate_wait
    bool write = false;                ///< rate_wait: the write limiter (else the read one)
};
using progress_sink = std::function<void(const progress_event&)>;

/// The engine's collaborators. Borrowed: they must outlive the engine.
struct engine_services {
    state::ledger* ledger = nullptr;  ///< required; read-only for plan
    audit::writer* audit = nullptr;   ///< null: nothing is audited (plan)
    const core::clock* clock = nullptr;
    transport_factory transports;               ///< empty: an https_client per console
    s1::sleeper sleep;                          ///< empty: a steady_timer (tests: advance a manual clock)
    s1::random_source random;                   ///< empty: seeded; also drives the schedule's splay
    core::metrics_registry* metrics = nullptr;  ///< where the engine's metrics go; null: a private registry
    progress_sink progress;                     ///< empty: no progress is reported
    /// The shared ledger's lock and session (the PostgreSQL ledger itself): leadership among the
    /// instances of `config.cluster`. Null: a ledger of this instance alone, always active.
    state::lock_session* lock = nullptr;
};

/// What start_run did with a trigger.
enum class start_result {
    started,    ///< a run began (in the background)
    coalesced,  ///< a run of the playbook is going: the trigger joins the next one
    unknown,    ///< no playbook of that name is loaded
    refused,    ///< not ready, or shutting down: nothing starts
};

/// A loaded configuration: the daemon configuration and the playbooks, never changed once
/// published. A playbook without a console names the only configured one.
struct snapshot {
    config::daemon_config config;
    std::vector<config::playbook> playbooks;
    std::uint64_t generation = 0;  ///< 1 for the configuration the engine was created with, +1 per reload

    const config::playbook* find(std::string_view name) const;
};

/// What a reload changed, by playbook name.
struct reload_report {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::vector<std::string> changed;  ///< its file's hash changed: its loop restarts
    std::size_t unchanged = 0;
    std::string error;  ///< set when the reload was refused (nothing changed)
    bool ok() const noexcept { return error.empty(); }
};

struct engine_options {
    bool dry_run = false;  ///< `--dry-run`: every playbook runs dry, whatever its mode
    /// `s1pilot plan`: dry, and nothing written anywhere (no audit, no ledger, no run id).
    bool plan = false;
    std::chrono::milliseconds max_splay =
        config::defaults::max_splay;  ///< the first poll of a playbook waits up to this
    /// Start-up reconciliation resends a pending row whose effect is absent only when the row was
    /// written less than this long ago; an older one is marked failed and left to the next run,
    /// which acts again only if the threat still matches (an analyst may have acted meanwhile).
    std::chrono::milliseconds stale_pending_after = config::defaults::stale_pending_after;
    /// After failing closed, a write is retried this often; readiness returns when one succeeds.
    std::chrono::milliseconds recovery_interval = config::defaults::recovery_interval;
    /// With a shared ledger: the active checks its session this often, and a check unanswered
    /// for lease_check_timeout is a lost session.
    std::chrono::milliseconds lease_check_every = config::defaults::lease_check_every;
    std::chrono::milliseconds lease_check_timeout = config::defaults::lease_check_timeout;
};

/// What start-up reconciliation found.
struct reconcile_report {
    std::size_t rows = 0;       ///< pending rows found
    std::size_t done = 0;       ///< the effect was present (or a resend succeeded)
    std::size_t failed = 0;     ///< marked failed (absent and not resent, or a resend failed)
    std::size_t undecided = 0;  ///< could not be read: left pending for the next attempt
    std::size_t deferred = 0;   ///< another instance's rows too young to decide yet (left pending)
    std::string error;          ///< set when reconciliation could not run (ledger or audit failure)
    bool standby = false;       ///< a shared ledger whose lock another instance holds: nothing was done
    bool ok() const noexcept { return error.empty(); }
};

class engine {
public:
    /// Makes the engine and one client per console the playbooks use. Fails with a message when
    /// a playbook names an unknown console or a transport cannot be made (bad CA file, proxy).
    static std::variant<std::unique_ptr<engine>, std::string> create(boost::asio::any_io_executor executor,
                                                                     config::daemon_config config,
                                                                     std::vector<config::playbook> playbooks,
                                                                     engine_services services,
                                                                     engine_options options = {});
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// With a shared ledger, first tries once to take the cluster's lock: taken, the rows are
    /// reconciled as below (another instance's too young ones are left for later); not taken, the
    /// engine is standby and the report says so (nothing is done).
    /// Reconciles every ledger row left `pending` (a crash, a kill, a lost answer) before anything
    /// else runs: reads the threats, marks done what took effect, resends what did not when its
    /// playbook is still loaded with the action and the same scope, is enforcing, and the row is
    /// younger than options.stale_pending_after (never blindly, never a note twice); fails the
    /// rest (a dry-run playbook's rows stay pending). Does nothing under options.plan or
    /// options.dry_run: those send and write nothing.
    boost::asio::awaitable<reconcile_report> reconcile_pending();

    /// One run of `playbook`, now, restricted to `t.threat_ids` when given. When a run of that
    /// playbook is in progress the trigger is coalesced into the next run and the report says
    /// `coalesced`. An unknown playbook gives a failed report.
    boost::asio::awaitable<run_report> run_now(std::string_view playbook, trigger t);
    /// A whole, manual run. (Not a default argument: GCC 12 destroys a coroutine's default
    /// argument temporaries twice.)
    boost::asio::awaitable<run_report> run_now(std::string_view playbook);

    /// As run_now, but a trigger coalesced into the next run waits for that run and returns its
    /// report (`?wait=true` of the admin listener): the answer says what became of the trigger.
    boost::asio::awaitable<run_report> run_and_wait(std::string_view playbook, trigger t);

    /// Starts a run of `playbook` in the background and says at once what became of the trigger
    /// (a webhook answers 202 with it). The run is the engine's: drain() waits for it. `ended`,
    /// when given, gets its report.
    start_result start_run(std::string_view playbook, trigger t, std::function<void(run_report)> ended = {});

    /// Runs the named playbooks (all of them when `names` is empty) one after the other.
    boost::asio::awaitable<std::vector<run_report>> run_all(std::vector<std::string> names, std::string source);

    /// Starts polling every playbook with `trigger.every` (first run after a random splay), and
    /// the confirmation follow-up. With a shared ledger, also the lease loop; playbooks are then
    /// polled only while this instance is active.
    void start_schedule();

    /// One turn of the lease loop (what start_schedule's loop does every check or retry): try
    /// the lock, check the session, or reopen it; take over or fence as the outcome says. A take-
    /// over's reconciliation runs in the background (owned by the engine). No-op without a lock.
    boost::asio::awaitable<void> lease_turn();

    /// Reads accepted mitigations and isolations back until the agents confirm them or `wait`
    /// passes (`s1pilot once --confirm-wait`; 0: no read, only the count). Never sends. The
    /// ledger's confirmation counts at the end (sent: still awaiting).
    boost::asio::awaitable<state::confirmation_counts> follow_confirmations(std::chrono::milliseconds wait);

    /// Publishes a new configuration (already loaded and valid). Loops of added or changed
    /// playbooks start (after a splay), those of removed ones stop, the others keep their timing;
    /// runs in flight finish on the snapshot they started with. Consoles whose settings changed
    /// get new clients; unchanged ones keep theirs (and their rate-limit state). Refused, with
    /// nothing changed, when a playbook names a console that is not configured or a client
    /// cannot be made.
    reload_report reload(config::daemon_config config, std::vector<config::playbook> playbooks);

    /// Appends a record to the audit log on the worker thread (no-op without one). False after
    /// failing closed when the append failed. For the lifecycle's own records (config.*).
    boost::asio::awaitable<bool> record(boost::json::object fields);

    /// The configuration in force.
    std::shared_ptr<const snapshot> current() const;

    /// Graceful shutdown, first step: no new run and no new call starts; schedule timers and
    /// every sleep (backoff, rate-limit waits, Retry-After) are cancelled at once, and a call
    /// that was waiting is not sent. Calls already on the wire finish; runs then end, recording
    /// what they did.
    void stop();

    /// Waits until every run and schedule loop has ended, or `timeout` passes. True when drained.
    boost::asio::awaitable<bool> drain(std::chrono::milliseconds timeout);

    /// The executor the engine runs on.
    boost::asio::any_io_executor executor() const;

    /// Per playbook the last and next run, per console the limiters and the last error.
    engine_status status() const;
    /// The registry the engine's metrics are in (services.metrics, or its own).
    core::metrics_registry& metrics() const noexcept;
    /// Brings the gauges that need the ledger (rows by status) up to date, at most once per
    /// `min_interval` (a scrape every few seconds costs nothing more).
    boost::asio::awaitable<void> refresh_metrics(std::chrono::milliseconds min_interval);

    /// Writes succeed and, with a shared ledger, this instance is active.
    bool ready() const noexcept;
    /// Why the engine is not ready (empty when it is): the failed write, or `standby: ...`, or
    /// `taking over: ...`.
    std::string reason() const;
    /// Active, standby or taking over (always active without a shared ledger).
    lease_role role() const noexcept;
    /// Holds the cluster's lock (always true without a shared ledger): `s1pilot_leader`.
    bool leading() const noexcept;
    std::size_t active_runs() const noexcept;
    /// The playbooks of the current snapshot (valid until the next reload).
    const std::vector<config::playbook>& playbooks() const noexcept;

    struct impl;

private:
    explicit engine(std::unique_ptr<impl> state);
    /// Shared with the engine's own coroutines (recovery, loops, the confirmation follow-up):
    /// one that resumes after the engine is gone finds its state, sees the stop, and ends.
    std::shared_ptr<impl> impl_;
};

}  // namespace s1pilot::engine
