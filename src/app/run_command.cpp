// `s1pilot run [--dry-run]`: the daemon. Reconciles what an earlier process left pending, then
// polls every playbook with `trigger.every`. SIGTERM/SIGINT: no new run or call starts, calls in
// flight finish within the drain timeout, the audit log records daemon.stop, exit 0. A second
// signal exits at once (rows left pending are reconciled at the next start).

#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "daemon_setup.hpp"
#include "engine_factory.hpp"
#include "systemd_notify.hpp"

namespace s1pilot::app {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct run_options {
    bool dry_run = false;
    int drain_seconds = 30;
};

void stop_record(daemon_state& state, bool drained, const engine::engine& eng) {
    if (!state.audit) return;
    boost::json::object fields{{"command", "run"}, {"drained", drained}, {"ready", eng.ready()}};
    if (!eng.ready()) fields["reason"] = eng.reason();
    (void)state.audit->append(engine::daemon_event("daemon.stop", std::move(fields)));
}

/// WATCHDOG=1 from the event loop itself, so a stuck loop stops the pings and systemd restarts
/// the service. Ends when the timer is cancelled (shutdown).
asio::awaitable<void> watchdog_pings(asio::steady_timer& timer, std::chrono::microseconds period) {
    for (;;) {
        notify_watchdog();
        timer.expires_after(period);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
    }
}

/// Until reload is built, a SIGHUP (`systemctl kill -s HUP`, a terminal hang-up) must not end
/// the daemon: say so and keep running.
void ignore_hang_ups(asio::signal_set& hang_ups) {
    hang_ups.async_wait([&hang_ups](const boost::system::error_code& ec, int) {
        if (ec) return;
        engine::log_warn("SIGHUP: reloading is not supported yet; restart s1pilot to apply changes", {});
        ignore_hang_ups(hang_ups);
    });
}

/// The daemon's life: reconcile, schedule, wait for a signal, drain.
asio::awaitable<int> serve(engine::engine& eng, daemon_state& state, asio::signal_set& signals,
                           asio::signal_set& hang_ups, std::chrono::seconds drain_timeout) {
    asio::steady_timer watchdog(co_await asio::this_coro::executor);
    if (auto period = watchdog_period())
        asio::co_spawn(watchdog.get_executor(), watchdog_pings(watchdog, *period), asio::detached);
    ignore_hang_ups(hang_ups);
    // Every path out of here stops the pings and the SIGHUP handler, so that ioc.run() returns.
    struct stop_helpers {
        asio::steady_timer& timer;
        asio::signal_set& hang_ups;
        ~stop_helpers() {
            timer.cancel();
            hang_ups.cancel();
        }
    } stop{watchdog, hang_ups};

    const auto reconciled = co_await eng.reconcile_pending();
    if (!reconciled.ok()) {
        engine::log_error("start-up reconciliation failed; not starting", {{"error", reconciled.error}});
        stop_record(state, true, eng);
        signals.cancel();
        co_return exit_failure;
    }
    eng.start_schedule();
    engine::log_info("s1pilot running", {{"playbooks", std::to_string(eng.playbooks().size())}});
    notify_ready("running " + std::to_string(eng.playbooks().size()) + " playbook(s)");

    auto [ec, signal] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return exit_failure;
    engine::log_info("signal received: draining",
                     {{"signal", std::to_string(signal)}, {"drain_timeout", core::format_duration(drain_timeout)}});
    notify_stopping("draining calls in flight");
    eng.stop();
    // A second signal means "now": nothing more is recorded; pending rows are reconciled at the
    // next start.
    signals.async_wait([](const boost::system::error_code& again, int) {
        if (again) return;
        spdlog::default_logger_raw()->error("second signal: exiting at once");
        spdlog::default_logger_raw()->flush();
        std::_Exit(exit_failure);
    });
    const bool drained = co_await eng.drain(drain_timeout);
    stop_record(state, drained, eng);
    signals.cancel();
    if (!drained) {
        // Calls still in flight are abandoned: their ledger rows stay pending for reconciliation.
        engine::log_warn("drain timeout passed with calls in flight; exiting",
                         {{"active_runs", std::to_string(eng.active_runs())}});
        spdlog::default_logger_raw()->flush();
        std::_Exit(exit_ok);
    }
    engine::log_info("stopped");
    co_return exit_ok;
}

int run_daemon(const common_options& common, const run_options& options) {
    core::system_clock clock;
    auto set = set_up({common.config_path, {}, false}, clock);
    if (auto* code = std::get_if<int>(&set)) return *code;
    auto& state = std::get<daemon_state>(set);
    if (!audit_start(state, "run", options.dry_run)) return exit_failure;

    asio::io_context ioc{1};
    engine::engine_options engine_options;
    engine_options.dry_run = options.dry_run;
    int exit = exit_ok;
    auto eng = make_engine(state, clock, ioc.get_executor(), engine_options, exit);
    if (!eng) return exit;

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    asio::signal_set hang_ups(ioc, SIGHUP);
    std::exception_ptr failure;
    asio::co_spawn(ioc, serve(*eng, state, signals, hang_ups, std::chrono::seconds(options.drain_seconds)),
                   [&](std::exception_ptr e, int code) {
                       failure = e;
                       exit = code;
                   });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    return exit;
}

}  // namespace

void add_run_command(CLI::App& app, const common_options& common, int& exit) {
    auto options = std::make_shared<run_options>();
    auto* command = app.add_subcommand(
        "run",
        "Run the daemon: reconcile actions left pending, then run every playbook with trigger.every on its "
        "schedule. SIGTERM/SIGINT drain calls in flight and exit 0; a second signal exits at once.");
    command->add_flag("--dry-run", options->dry_run, "Every playbook runs dry: requests are audited, none is sent");
    command->add_option("--drain-timeout", options->drain_seconds, "Seconds to let calls in flight finish on shutdown")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    command->callback([&common, &exit, options] { exit = run_daemon(common, *options); });
}

}  // namespace s1pilot::app
