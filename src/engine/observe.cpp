// What the engine shows of itself: the console clients' observers (metrics, the 429 warning,
// the last error), time to contain, the status, and the gauges that need the ledger.

#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/logging.hpp"

#include <fmt/format.h>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;

namespace {

std::string_view class_of(bool write) {
    return write ? "write" : "read";
}

limiter_status limiter_of(policy::rate_limiter& l, policy::steady_time now) {
    const auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(l.paused_for(now));
    return {l.configured().rate, static_cast<int>(l.configured().burst), l.current_rate(now), paused};
}

}  // namespace

s1::call_observers engine::impl::observers_for(const std::string& console, detail::console_session* session) {
    s1::call_observers o;
    engine_metrics* m = metrics.get();
    const core::clock* clock = services.clock;
    // Every 429 is worth a line: it means our pacing and the console's disagree.
    o.throttled = [console, session, m](const s1::throttle_event& e) {
        ++session->throttled;
        const bool write = e.call.starts_with("POST");
        m->throttled.inc({console, class_of(write)});
        log_warn("the console answered 429: pausing this class of calls",
                 {{"console", console},
                  {"call", e.call},
                  {"retry_after", e.retry_after ? core::format_duration(*e.retry_after) : std::string("none")},
                  {"pause", core::format_duration(e.pause)},
                  {"rate_now", fmt::format("{:.2f}/s", e.rate_now)}});
    };
    o.attempted = [console, session, m, clock](const s1::attempt_event& e) {
        const auto status = e.http_status == 0 ? std::string("error") : std::to_string(e.http_status);
        m->api_requests.inc({console, endpoint_label(e.path), status});
        m->api_duration.observe({console, class_of(e.write)}, std::chrono::duration<double>(e.duration).count());
        if (!e.error.empty()) {
            session->last_error = std::string(e.error);
            session->last_error_at = clock->now();
        }
    };
    o.rate_waited = [console, m, progress = services.progress](bool write, std::chrono::nanoseconds waited) {
        if (progress) {
            progress_event e;
            e.what = progress_event::kind::rate_wait;
            e.detail = console;
            e.wait = waited;
            e.write = write;
            progress(e);
        }
        m->limiter_waits.inc({console, class_of(write)});
        m->limiter_wait_seconds.inc({console, class_of(write)}, std::chrono::duration<double>(waited).count());
    };
    o.retried = [console, m](bool write) { m->retries.inc({console, class_of(write)}); };
    return o;
}

void engine::impl::observe_contained(const config::playbook& p, std::string_view action_key,
                                     const std::vector<core::timestamp>& created) {
    if (created.empty() || action_key != containment_key(p)) return;
    const auto now = services.clock->now();
    for (const auto& t : created) {
        const double seconds = std::chrono::duration<double>(now - t).count();
        metrics->time_to_contain.observe({p.name}, std::max(seconds, 0.0));
    }
}

engine_status engine::status() const {
    const auto& state = *impl_;
    engine_status out;
    out.ready = ready();
    out.reason = reason();
    out.role = std::string(to_string(role()));
    if (state.lease.session != nullptr) out.cluster = state.current->config.cluster;
    out.generation = state.current->generation;
    out.active_runs = state.active_runs;
    for (const auto& p : state.current->playbooks) {
        playbook_status s;
        s.name = p.name;
        s.mode = std::string(config::to_string(p.mode));
        s.console = p.console;
        s.every = p.trigger.every;
        s.webhook = p.trigger.webhook;
        const auto gate = state.gates.find(p.name);
        s.running = gate != state.gates.end() && gate->second.running();
        if (const auto loop = state.loops.find(p.name); loop != state.loops.end()) s.next_run = loop->second->next_run;
        if (const auto h = state.history.find(p.name); h != state.history.end()) {
            s.last = h->second.last;
            s.runs = h->second.runs;
            s.held_runs = h->second.held;
            s.failed_runs = h->second.failed;
        }
        out.playbooks.push_back(std::move(s));
    }
    const auto steady = state.services.clock->steady_now();
    for (const auto& [name, session] : state.sessions) {
        console_status c;
        c.name = name;
        c.url = session->config.url;
        c.read = limiter_of(*session->read, steady);
        c.write = limiter_of(*session->write, steady);
        c.throttled = session->throttled;
        c.last_error = session->last_error;
        c.last_error_at = session->last_error_at;
        out.consoles.push_back(std::move(c));
    }
    return out;
}

core::metrics_registry& engine::metrics() const noexcept {
    return *impl_->services.metrics;
}

asio::awaitable<void> engine::refresh_metrics(std::chrono::milliseconds min_interval) {
    auto& state = *impl_;
    const auto steady = state.services.clock->steady_now();
    for (const auto& [name, session] : state.sessions) {
        state.metrics->limiter_rate.set({name, "read"}, session->read->current_rate(steady));
        state.metrics->limiter_rate.set({name, "write"}, session->write->current_rate(steady));
    }
    const auto now = std::chrono::steady_clock::now();
    if (state.metrics_refreshed && now - *state.metrics_refreshed < min_interval) co_return;
    state.metrics_refreshed = now;
    // A lost session is not asked (it would only fail, or wait on a database that is gone).
    if (state.lease.session != nullptr && !state.lease.state.connected) co_return;
    auto* ledger = state.services.ledger;
    auto counts = co_await state.on_worker([ledger] { return ledger->count_rows(); });
    if (!counts) {
        // A gauge is not worth failing closed for: the next write that fails will do that.
        log_warn("could not count the ledger's rows for the metrics", {{"error", counts.error().message}});
        co_return;
    }
    state.metrics->ledger_rows.set({"pending"}, static_cast<double>(counts->pending));
    state.metrics->ledger_rows.set({"done"}, static_cast<double>(counts->done));
    state.metrics->ledger_rows.set({"failed"}, static_cast<double>(counts->failed));
}

}  // namespace s1pilot::engine
