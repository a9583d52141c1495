// `s1pilot once [--dry-run] [PLAYBOOK...]`: every playbook (or the named ones) once, whatever its
// trigger, after reconciling what an earlier process left pending; a summary line per playbook.
// `s1pilot plan [PLAYBOOK...]`: the same as a dry run that writes nothing, printed as a table.

#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "daemon_setup.hpp"
#include "engine_factory.hpp"
#include "progress.hpp"

namespace s1pilot::app {
namespace {

namespace asio = boost::asio;

struct once_options {
    std::vector<std::string> playbooks;
    bool dry_run = false;
    std::string confirm_wait;  ///< a duration; empty: do not wait for the agents
};

struct outcome {
    engine::reconcile_report reconciled;
    std::vector<engine::run_report> reports;
    state::confirmation_counts confirmations;
};

/// What `once` says of the mitigations and isolations the console accepted (DESIGN §4): the
/// ledger's counts, so an analyst sees at once what the agents have not carried out.
void print_confirmations(const state::confirmation_counts& c) {
    if (c.confirmed + c.sent + c.unconfirmed + c.confirmed_failed == 0) return;
    std::printf(
        "confirmations: %zu confirmed, %zu awaiting the agents, %zu unconfirmed, %zu confirmed failed "
        "(docs/confirmation.md)\n",
        c.confirmed, c.sent, c.unconfirmed, c.confirmed_failed);
}

}  // namespace

std::unique_ptr<engine::engine> make_engine(daemon_state& state, const core::clock& clock,
                                            asio::any_io_executor executor, engine::engine_options options, int& exit,
                                            engine::progress_sink progress) {
    engine::engine_services services;
    services.ledger = state.ledger.get();
    services.audit = state.audit ? &*state.audit : nullptr;
    services.clock = &clock;
    services.progress = std::move(progress);
    // A shared ledger (PostgreSQL): leadership among the instances of the cluster.
    services.lock = dynamic_cast<state::lock_session*>(state.ledger.get());
    auto made = engine::engine::create(std::move(executor), state.config, state.playbooks, services, options);
    if (auto* error = std::get_if<std::string>(&made)) {
        std::fprintf(stderr, "s1pilot: %s\n", error->c_str());
        exit = exit_failure;
        return nullptr;
    }
    return std::move(std::get<std::unique_ptr<engine::engine>>(made));
}

namespace {

int run_once(const common_options& common, const once_options& options, bool plan) {
    // Flags first: a usage error says so before anything is loaded or opened.
    std::chrono::milliseconds confirm_wait{0};
    if (!options.confirm_wait.empty()) {
        auto parsed = core::parse_duration(options.confirm_wait);
        if (!parsed) {
            std::fprintf(stderr, "s1pilot: --confirm-wait: expected a duration such as 30s or 5m, got '%s'\n",
                         options.confirm_wait.c_str());
            return exit_usage;
        }
        confirm_wait = *parsed;
    }
    core::system_clock clock;
    auto set = set_up({common.config_path, options.playbooks, plan}, clock);
    if (auto* code = std::get_if<int>(&set)) return *code;
    auto& state = std::get<daemon_state>(set);
    if (!plan && !audit_start(state, "once", options.dry_run)) return exit_failure;

    engine::engine_options engine_options;
    engine_options.dry_run = options.dry_run;
    engine_options.plan = plan;
    asio::io_context ioc{1};
    int exit = exit_ok;
    std::unique_ptr<terminal_progress> progress;
    if (progress_wanted(state.config.log)) progress = std::make_unique<terminal_progress>(stderr);
    auto eng = make_engine(state, clock, ioc.get_executor(), engine_options, exit, sink_for(progress.get()));
    if (!eng) return exit;

    std::optional<outcome> result;
    std::exception_ptr failure;
    const bool follow = !plan && !options.dry_run;
    auto work = [&eng, names = options.playbooks, follow, confirm_wait]() mutable -> asio::awaitable<outcome> {
        outcome out;
        out.reconciled = co_await eng->reconcile_pending();
        if (!out.reconciled.ok() || out.reconciled.standby) co_return out;
        out.reports = co_await eng->run_all(std::move(names), "once");
        if (follow) out.confirmations = co_await eng->follow_confirmations(confirm_wait);
        co_return out;
    };
    asio::co_spawn(ioc, work(), [&](std::exception_ptr e, outcome out) {
        failure = e;
        if (!e) result = std::move(out);
    });
    ioc.run();
    if (progress) progress->clear();
    if (failure) std::rethrow_exception(failure);

    if (state.audit) {
        boost::json::object fields{{"command", "once"}, {"ready", eng->ready()}};
        if (!eng->ready()) fields["reason"] = eng->reason();
        // The engine's worker is idle now (its io_context has returned): the writer is ours again.
        if (auto stopped = state.audit->append(engine::daemon_event("daemon.stop", std::move(fields))); !stopped)
            std::fprintf(stderr, "s1pilot: %s\n", stopped.error().message.c_str());
    }
    if (!result->reconciled.ok()) {
        std::fprintf(stderr, "s1pilot: reconciling pending actions failed: %s\n", result->reconciled.error.c_str());
        return exit_failure;
    }
    if (result->reconciled.standby) {
        // A shared ledger: the instance that holds the cluster's lock acts, never two at once.
        std::fprintf(stderr, "s1pilot: %s: nothing was run\n", eng->reason().c_str());
        return exit_failure;
    }
    if (plan) {
        std::fputs(engine::plan_table(result->reports).c_str(), stdout);
        for (const auto& r : result->reports)
            if (r.outcome == engine::run_outcome::failed) return exit_failure;
        return exit_ok;
    }
    for (const auto& r : result->reports) std::printf("%s\n", engine::summary_line(r).c_str());
    print_confirmations(result->confirmations);
    std::fflush(stdout);
    return engine::once_exit_code(result->reports);
}

}  // namespace

void add_once_command(CLI::App& app, const common_options& common, int& exit) {
    auto options = std::make_shared<once_options>();
    auto* once = app.add_subcommand(
        "once",
        "Run every playbook (or the PLAYBOOKs named) once, whatever its trigger, then exit. Actions left pending by "
        "an earlier process are reconciled first. Exit 0 ok, 1 failure, 3 invalid configuration, 4 finished with "
        "failed actions or a held playbook.");
    once->add_option("playbooks", options->playbooks, "Names of the playbooks to run (default: all)");
    once->add_flag("--dry-run", options->dry_run,
                   "Resolve and plan for real, record the exact requests in the audit log, send nothing");
    once->add_option("--confirm-wait", options->confirm_wait,
                     "Wait up to this long (30s, 5m) for the agents to confirm the mitigations and isolations the "
                     "console accepted; without it, s1pilot reports what is still awaiting them and exits");
    once->callback([&common, &exit, options] { exit = run_once(common, *options, false); });

    auto plan_options = std::make_shared<once_options>();
    auto* plan = app.add_subcommand(
        "plan",
        "Show what each playbook (or the PLAYBOOKs named) would do now: matched threats, those left after the "
        "ledger, whether it would be held, and the calls it would make. Reads the console and the ledger "
        "(read-only); writes nothing and sends no action.");
    plan->add_option("playbooks", plan_options->playbooks, "Names of the playbooks to plan (default: all)");
    plan->callback([&common, &exit, plan_options] { exit = run_once(common, *plan_options, true); });
}

}  // namespace s1pilot::app
