#pragma once
// The engine: carries out playbook runs (DESIGN.md §4) against the consoles, exactly once per
// (playbook, action, threat), recording every decision in the audit log; reconciles what a crash
// left pending; polls playbooks on their schedule. The admin listener (a later step) calls
// run_now(); `s1pilot once|plan|run` drive it from the command line.
//
// Thread model: one io_context thread. Create the engine and await its coroutines on that
// executor. The ledger, audit writer and clock are borrowed and must outlive the engine.
//
// Fail closed: when a ledger or audit write that must precede a POST fails, nothing is sent, the
// run ends failed and the engine turns not-ready (ready() false, reason() says why) and refuses
// every later run.

#include "s1pilot/audit/writer.hpp"
#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/config/playbook.hpp"
#include "s1pilot/core/clock.hpp"
#include "s1pilot/engine/report.hpp"
#include "s1pilot/engine/schedule.hpp"
#include "s1pilot/net/transport.hpp"
#include "s1pilot/s1/client.hpp"
#include "s1pilot/state/ledger.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
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

/// The engine's collaborators. Borrowed: they must outlive the engine.
struct engine_services {
    state::ledger* ledger = nullptr;  ///< required; read-only for plan
    audit::writer* audit = nullptr;   ///< null: nothing is audited (plan)
    const core::clock* clock = nullptr;
    transport_factory transports;  ///< empty: an https_client per console
    s1::sleeper sleep;             ///< empty: a steady_timer (tests: advance a manual clock)
    s1::random_source random;      ///< empty: seeded; also drives the schedule's splay
};

struct engine_options {
    bool dry_run = false;  ///< `--dry-run`: every playbook runs dry, whatever its mode
    /// `s1pilot plan`: dry, and nothing written anywhere (no audit, no ledger, no run id).
    bool plan = false;
    std::chrono::milliseconds max_splay{10'000};  ///< the first poll of a playbook waits up to this
    /// Start-up reconciliation resends a pending row whose effect is absent only when the row was
    /// written less than this long ago; an older one is marked failed and left to the next run,
    /// which acts again only if the threat still matches (an analyst may have acted meanwhile).
    std::chrono::milliseconds stale_pending_after{15 * 60 * 1000};
};

/// What start-up reconciliation found.
struct reconcile_report {
    std::size_t rows = 0;       ///< pending rows found
    std::size_t done = 0;       ///< the effect was present (or a resend succeeded)
    std::size_t failed = 0;     ///< marked failed (absent and not resent, or a resend failed)
    std::size_t undecided = 0;  ///< could not be read: left pending for the next attempt
    std::string error;          ///< set when reconciliation could not run (ledger or audit failure)
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

    /// Runs the named playbooks (all of them when `names` is empty) one after the other.
    boost::asio::awaitable<std::vector<run_report>> run_all(std::vector<std::string> names, std::string source);

    /// Starts polling every playbook with `trigger.every` (first run after a random splay).
    void start_schedule();

    /// Graceful shutdown, first step: no new run and no new call starts; schedule timers are
    /// cancelled. Calls in flight finish; runs then end, recording what they did.
    void stop();

    /// Waits until every run and schedule loop has ended, or `timeout` passes. True when drained.
    boost::asio::awaitable<bool> drain(std::chrono::milliseconds timeout);

    bool ready() const noexcept;
    /// Why the engine is not ready (empty when it is).
    const std::string& reason() const noexcept;
    std::size_t active_runs() const noexcept;
    const std::vector<config::playbook>& playbooks() const noexcept;

    struct impl;

private:
    explicit engine(std::unique_ptr<impl> state);
    std::unique_ptr<impl> impl_;
};

}  // namespace s1pilot::engine
