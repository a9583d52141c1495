// One poll loop per playbook, each owning its schedule: started, stopped or re-timed alone by a
// reload. Waits go through the engine's sleep (the injected sleeper in tests, so schedules run
// instantly), which stop() cuts short.

#include "s1pilot/engine/logging.hpp"

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;

namespace {

/// The loop itself: first run after `delay`, then every `every`, start to start (a run longer
/// than `every` is followed at once). Ends when its loop is stopped or the engine stops.
asio::awaitable<void> poll(std::shared_ptr<engine::impl> keep, std::shared_ptr<detail::playbook_loop> loop,
                           std::chrono::milliseconds delay) {
    engine::impl& state = *keep;
    loop->next_run = state.services.clock->now() + std::chrono::duration_cast<std::chrono::microseconds>(delay);
    if (!co_await state.sleep(delay, loop.get())) co_return;
    while (!loop->stopped && !state.stopping) {
        const auto due = state.services.clock->steady_now() + loop->every;
        trigger t;
        t.source = "schedule";
        if (state.self == nullptr) break;  // the engine is gone
        co_await state.self->run_now(loop->playbook, t);
        if (loop->stopped || state.stopping) break;
        const auto left = due - state.services.clock->steady_now();
        if (left <= std::chrono::steady_clock::duration::zero()) continue;
        loop->next_run = state.services.clock->now() + std::chrono::duration_cast<std::chrono::microseconds>(left);
        if (!co_await state.sleep(left, loop.get())) break;
    }
}

}  // namespace

void engine::impl::start_loop(const config::playbook& p) {
    if (!p.trigger.every || stopping) return;
    auto loop = std::make_shared<detail::playbook_loop>();
    loop->playbook = p.name;
    loop->every = *p.trigger.every;
    loops[p.name] = loop;
    const auto delay = first_delay(loop->every, options.max_splay, services.random());
    ++live_loops;
    // Owned by the engine: `live_loops` counts it until it ends, and drain() waits for that.
    auto keep = shared_from_this();
    asio::co_spawn(executor, poll(keep, loop, delay), [keep, name = p.name](std::exception_ptr e) {
        --keep->live_loops;
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            keep->fail_closed("schedule of playbook '" + name + "' ended by an internal error: " + ex.what());
        }
    });
    log_info("playbook scheduled", {{"playbook", p.name},
                                    {"every", core::format_duration(loop->every)},
                                    {"first_in", core::format_duration(delay)}});
}

void engine::impl::stop_loop(const std::string& name) {
    const auto found = loops.find(name);
    if (found == loops.end()) return;
    // A run in progress finishes (on its snapshot); the loop then ends instead of waiting again.
    found->second->stopped = true;
    if (found->second->sleeping != nullptr) found->second->sleeping->cancel();
    loops.erase(found);
    log_info("playbook unscheduled", {{"playbook", name}});
}

}  // namespace s1pilot::engine
