// `s1pilot run [--dry-run]`: the daemon, wired from its parts. The lifecycle (signals, start-up,
// reload, readiness, systemd notifications, drain) is ops::service.

#include "s1pilot/config/defaults.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/logging.hpp"
#include "s1pilot/ops/admin.hpp"
#include "s1pilot/ops/notifier.hpp"
#include "s1pilot/ops/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "daemon_setup.hpp"
#include "engine_factory.hpp"

namespace s1pilot::app {
namespace {

namespace asio = boost::asio;

/// POST routes without a token would refuse every trigger: a webhook playbook needs one.
bool webhooks_have_a_token(const daemon_state& state) {
    if (!state.config.admin.token.empty()) return true;
    for (const auto& p : state.playbooks) {
        if (!p.trigger.webhook) continue;
        std::fprintf(stderr,
                     "s1pilot: playbook '%s' has trigger.webhook: true, but admin.token is not configured: the admin "
                     "listener's POST routes need it (admin: {token: {file: ...}})\n",
                     p.name.c_str());
        return false;
    }
    return true;
}

/// The admin listener, answering /healthz from the first moment. Null (after saying why) when
/// its address cannot be bound.
std::unique_ptr<ops::admin_listener> listen(const daemon_state& state, engine::engine& eng, ops::service& daemon,
                                            asio::any_io_executor executor) {
    const auto& admin = state.config.admin;
    auto handler =
        ops::make_admin_handler({eng, [&daemon] { return daemon.ready(); }, [&daemon] { return daemon.reloads(); },
                                 [&daemon] { return daemon.rejections(); }, std::string(admin.token.reveal())});
    auto started = ops::admin_listener::start(executor, admin.host, admin.port, std::move(handler));
    if (auto* error = std::get_if<std::string>(&started)) {
        engine::log_error("cannot start the admin listener", {{"error", *error}});
        return nullptr;
    }
    auto listener = std::move(std::get<std::unique_ptr<ops::admin_listener>>(started));
    engine::log_info("admin listener ready",
                     {{"listen", admin.host + ":" + std::to_string(listener->port())},
                      {"post_routes", admin.token.empty() ? "disabled (no admin.token)" : "enabled"}});
    return listener;
}

struct run_options {
    bool dry_run = false;
    int drain_seconds =
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config::defaults::drain_timeout).count());
    int startup_seconds =
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config::defaults::startup_timeout).count());
};

int run_daemon(const common_options& common, const run_options& options) {
    // Signals are taken from the first moment: one that arrives while the configuration loads is
    // acted on as soon as the service runs (a stop before READY=1 still drains and exits 0).
    asio::io_context ioc{1};
    ops::process_signals signals(ioc.get_executor());
    core::system_clock clock;
    auto set = set_up({common.config_path, {}, false}, clock);
    if (auto* code = std::get_if<int>(&set)) return *code;
    auto& state = std::get<daemon_state>(set);
    if (!webhooks_have_a_token(state)) return exit_invalid;
    if (!audit_start(state, "run", options.dry_run)) return exit_failure;

    engine::engine_options engine_options;
    engine_options.dry_run = options.dry_run;
    int exit = exit_ok;
    auto eng = make_engine(state, clock, ioc.get_executor(), engine_options, exit);
    if (!eng) return exit;

    auto notify = ops::systemd_notifier();
    ops::service_options service_options;
    service_options.drain_timeout = std::chrono::seconds(options.drain_seconds);
    service_options.startup_timeout = std::chrono::seconds(options.startup_seconds);
    const std::string config_path = common.config_path;
    ops::service daemon(
        *eng, *notify, [config_path] { return config::load_config(config_path); }, &signals, service_options);
    auto admin = listen(state, *eng, daemon, ioc.get_executor());
    if (!admin) return exit_failure;
    std::exception_ptr failure;
    asio::co_spawn(ioc, daemon.run(), [&](std::exception_ptr e, int code) {
        admin->stop();
        failure = e;
        exit = code;
        if (e || !daemon.drained()) ioc.stop();
    });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    if (!daemon.drained()) {
        // Calls abandoned at the drain timeout still hold the engine: leave without unwinding
        // them. Their ledger rows stay pending and the next start reconciles them.
        engine::flush_logs();
        std::_Exit(exit);
    }
    return exit;
}

}  // namespace

void add_run_command(CLI::App& app, const common_options& common, int& exit) {
    auto options = std::make_shared<run_options>();
    auto* command = app.add_subcommand(
        "run",
        "Run the daemon: reconcile actions left pending (bounded by --startup-timeout), then run every playbook "
        "with trigger.every on its schedule. SIGHUP or a change in the playbook files reloads (a configuration with "
        "any problem is refused and the old one keeps running). SIGTERM/SIGINT drain calls in flight and exit 0; a "
        "second signal exits at once.");
    command->add_flag("--dry-run", options->dry_run, "Every playbook runs dry: requests are audited, none is sent");
    command->add_option("--drain-timeout", options->drain_seconds, "Seconds to let calls in flight finish on shutdown")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    command
        ->add_option("--startup-timeout", options->startup_seconds,
                     "Seconds start-up reconciliation may take before undecided rows are left to the first runs")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    command->callback([&common, &exit, options] { exit = run_daemon(common, *options); });
}

}  // namespace s1pilot::app
