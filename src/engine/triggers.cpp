// How runs start: run_now (awaited: `once`, the schedule, `?wait=true`) and start_run (in the
// background: a webhook's 202). Both go through the playbook's gate, so that triggers arriving
// during a run are coalesced into one next run and a threat is never acted on by two runs at
// once; the ledger then drops what the earlier run did.

#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;

namespace {

run_report not_started(const std::string& name, run_outcome outcome, std::string error) {
    run_report r;
    r.playbook = name;
    r.outcome = outcome;
    r.error = std::move(error);
    return r;
}

}  // namespace

asio::awaitable<run_report> engine::impl::run_gated(std::string name, trigger t) {
    trigger_gate& gate = gates[name];
    ++active_runs;
    run_report report;
    try {
        // The run takes the snapshot current at its start (a reload may land between runs).
        const auto snap = current;
        const config::playbook* p = snap->find(name);
        const auto started = services.clock->now();
        auto& begun = history[name];
        ++begun.started;
        if (p == nullptr)
            report = not_started(name, run_outcome::failed, "playbook '" + name + "' was removed by a reload");
        else
            report = co_await execute_run(snap, *p, t);
        auto& h = history[name];
        ++h.runs;
        if (report.outcome == run_outcome::held) ++h.held;
        if (report.outcome == run_outcome::failed) ++h.failed;
        h.last = last_run{report.run_id,
                          t.source,
                          std::string(to_string(report.outcome)),
                          started,
                          services.clock->now(),
                          report.matched,
                          report.acted,
                          report.calls(),
                          report.failures(),
                          report.error};
        h.report = report;
        for (auto* timer : h.waiting) timer->cancel();
    } catch (...) {
        // A bug, not an expected failure: keep the gate usable, then let the owner see it.
        while (gate.finish()) {
        }
        --active_runs;
        throw;
    }
    // Triggers that arrived meanwhile, merged, make the next run: the engine's own, so that this
    // caller gets its own run's report now.
    if (auto next = gate.finish()) spawn_gated(name, std::move(*next), {});
    --active_runs;
    co_return report;
}

void engine::impl::spawn_gated(const std::string& name, trigger t, std::function<void(run_report)> ended) {
    // Owned by the engine: run_gated counts it in active_runs until it ends; drain() waits.
    auto keep = shared_from_this();
    asio::co_spawn(
        executor, keep->run_gated(name, std::move(t)),
        [keep, name, ended = std::move(ended)](std::exception_ptr e, run_report report) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    keep->fail_closed("a run of playbook '" + name + "' ended by an internal error: " + ex.what());
                }
                return;
            }
            if (ended) ended(std::move(report));
        });
}

asio::awaitable<run_report> engine::run_now(std::string_view playbook, trigger t) {
    const std::string name(playbook);
    if (impl_->current->find(name) == nullptr)
        co_return not_started(name, run_outcome::failed, "no playbook named '" + name + "' is loaded");
    if (!impl_->gates[name].arrive(t)) {
        impl_->metrics->runs.inc({name, "coalesced"});
        log_info("trigger coalesced into the next run", {{"playbook", name}, {"trigger", t.source}});
        co_return not_started(name, run_outcome::coalesced, {});
    }
    co_return co_await impl_->run_gated(name, std::move(t));
}

asio::awaitable<run_report> engine::run_now(std::string_view playbook) {
    return run_now(playbook, trigger{});
}

asio::awaitable<run_report> engine::run_and_wait(std::string_view playbook, trigger t) {
    const std::string name(playbook);
    auto& state = *impl_;
    const bool joins = state.current->find(name) != nullptr && state.gates[name].running();
    // The run in progress is number `started`; a coalesced trigger is carried out by the next.
    const std::size_t target = state.history[name].started + 1;
    auto report = co_await run_now(name, std::move(t));
    if (!joins || report.outcome != run_outcome::coalesced) co_return report;
    auto keep = impl_;
    asio::steady_timer timer(state.executor);
    auto& h = state.history[name];
    h.waiting.insert(&timer);
    // Bounded by the run itself: every run ends (drain waits for it), and stop() ends the wait.
    while (h.runs < target && !state.stopping) {
        timer.expires_at(asio::steady_timer::time_point::max());
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    h.waiting.erase(&timer);
    if (h.runs >= target && h.report) co_return *h.report;
    co_return not_started(name, run_outcome::failed, "shutting down before the run this trigger joined");
}

start_result engine::start_run(std::string_view playbook, trigger t, std::function<void(run_report)> ended) {
    const std::string name(playbook);
    if (impl_->current->find(name) == nullptr) return start_result::unknown;
    if (impl_->stopping || !impl_->ready() || !impl_->acting()) return start_result::refused;
    if (!impl_->gates[name].arrive(t)) {
        impl_->metrics->runs.inc({name, "coalesced"});
        log_info("trigger coalesced into the next run", {{"playbook", name}, {"trigger", t.source}});
        return start_result::coalesced;
    }
    impl_->spawn_gated(name, std::move(t), std::move(ended));
    return start_result::started;
}

asio::awaitable<std::vector<run_report>> engine::run_all(std::vector<std::string> names, std::string source) {
    std::vector<run_report> reports;
    if (names.empty()) {
        for (const auto& p : impl_->current->playbooks) names.push_back(p.name);
    }
    for (const auto& name : names) {
        trigger t;
        t.source = source;
        reports.push_back(co_await run_now(name, t));
    }
    co_return reports;
}

}  // namespace s1pilot::engine
