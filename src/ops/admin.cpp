#include "s1pilot/ops/admin.hpp"

#include "s1pilot/engine/logging.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace s1pilot::ops {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

/// Ledger gauges are read at most this often, however often Prometheus scrapes.
constexpr std::chrono::milliseconds ledger_gauge_interval{5000};

admin_response json_answer(int status, const json::value& v) {
    admin_response r;
    r.status = status;
    r.body = json::serialize(v);
    r.body += '\n';
    return r;
}

json::object report_json(const engine::run_report& r) {
    json::array actions;
    for (const auto& a : r.actions)
        actions.push_back(json::object{{"action", a.action},
                                       {"done", a.threats_done},
                                       {"calls", a.calls},
                                       {"failures", a.failures},
                                       {"skipped", a.skipped},
                                       {"awaiting_confirmation", a.awaiting_confirmation}});
    json::object o{{"playbook", r.playbook},
                   {"run_id", r.run_id},
                   {"outcome", to_string(r.outcome)},
                   {"dry_run", r.dry_run},
                   {"matched", r.matched},
                   {"acted", r.acted},
                   {"failures", r.failures()},
                   {"actions", std::move(actions)},
                   {"summary", engine::summary_line(r)}};
    if (!r.error.empty()) o["error"] = r.error;
    return o;
}

json::array reports_array(const std::vector<engine::run_report>& reports) {
    json::array runs;
    for (const auto& r : reports) runs.push_back(report_json(r));
    return runs;
}

/// The process's own metrics: readiness, reloads, webhooks, build, leadership.
struct process_metrics {
    explicit process_metrics(core::metrics_registry& r)
        : ready(r.gauge("s1pilot_ready", "1 when the daemon is ready (/readyz answers 200).")),
          leader(r.gauge("s1pilot_leader",
                         "1 on the instance that holds its cluster's lock (schedules playbooks and sends calls).")),
          build(r.gauge("s1pilot_build_info", "The running build.", {"version", "commit"})),
          started(r.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.")),
          reloads(
              r.counter("s1pilot_reloads_total", "Configuration reloads by result (loaded, rejected).", {"result"})),
          webhooks(r.counter("s1pilot_webhook_events_total",
                             "Webhook events by result (accepted: runs started or coalesced; refused).", {"result"})) {
        build.set({S1PILOT_VERSION, S1PILOT_COMMIT}, 1);
        started.set({}, std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
        reloads.inc({"loaded"}, 0);
        reloads.inc({"rejected"}, 0);
        webhooks.inc({"accepted"}, 0);
        webhooks.inc({"refused"}, 0);
    }
    core::metric_family &ready, &leader, &build, &started, &reloads, &webhooks;
};

class admin_routes {
public:
    explicit admin_routes(admin_context c) : context_(std::move(c)), metrics_(context_.engine.metrics()) {}

    asio::awaitable<admin_response> handle(admin_request request) {
        auto routed = route_request(request, context_.token);
        if (auto* refusal = std::get_if<admin_response>(&routed)) {
            if (request.target.starts_with("/v1/events")) metrics_.webhooks.inc({"refused"});
            log_refusal(request, *refusal);
            co_return std::move(*refusal);
        }
        auto& route = std::get<admin_route>(routed);
        switch (route.kind) {
            case route_kind::healthz: co_return json_answer(200, json::object{{"status", "ok"}});
            case route_kind::readyz: co_return readyz();
            case route_kind::metrics: co_return co_await metrics();
            case route_kind::status: co_return status();
            case route_kind::events: co_return co_await events(std::move(route));
            case route_kind::run_playbook: co_return co_await run_playbook(std::move(route));
        }
        co_return json_error(404, "no such route");
    }

private:
    admin_response readyz() const {
        const auto r = context_.ready();
        json::array reasons;
        for (const auto& why : r.reasons) reasons.emplace_back(why);
        return json_answer(r.ready ? 200 : 503, json::object{{"ready", r.ready}, {"reasons", std::move(reasons)}});
    }

    asio::awaitable<admin_response> metrics() {
        metrics_.ready.set({}, context_.ready().ready ? 1 : 0);
        metrics_.leader.set({}, context_.engine.leading() ? 1 : 0);
        metrics_.reloads.set({"loaded"}, static_cast<double>(context_.reloads()));
        metrics_.reloads.set({"rejected"}, static_cast<double>(context_.rejections()));
        co_await context_.engine.refresh_metrics(ledger_gauge_interval);
        admin_response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = context_.engine.metrics().render();
        co_return r;
    }

    admin_response status() const {
        auto s = engine::to_json(context_.engine.status());
        const auto r = context_.ready();
        // The service's readiness (start-up, stopping) says more than the engine's alone.
        s.as_object()["ready"] = r.ready;
        std::string reasons;
        for (const auto& why : r.reasons) reasons += (reasons.empty() ? "" : "; ") + why;
        s.as_object()["reason"] = reasons;
        return json_answer(200, s);
    }

    /// 503 while not ready: a trigger would be refused by the engine anyway, and a load
    /// balancer should send it to an instance that is.
    std::optional<admin_response> not_ready() const {
        const auto r = context_.ready();
        if (r.ready) return std::nullopt;
        std::string reasons;
        for (const auto& why : r.reasons) reasons += (reasons.empty() ? "" : "; ") + why;
        return json_error(503, "not ready: " + reasons);
    }

    asio::awaitable<admin_response> events(admin_route route) {
        if (auto refused = not_ready()) {
            metrics_.webhooks.inc({"refused"});
            co_return std::move(*refused);
        }
        std::vector<std::string> names;
        for (const auto& p : context_.engine.playbooks())
            if (p.trigger.webhook) names.push_back(p.name);
        if (names.empty()) {
            metrics_.webhooks.inc({"refused"});
            co_return json_error(404, "no loaded playbook has trigger.webhook: true");
        }
        const auto event = "ev-" + std::to_string(++events_);
        metrics_.webhooks.inc({"accepted"});
        engine::log_info("webhook event", {{"event", event},
                                           {"threats", std::to_string(route.threat_ids->size())},
                                           {"playbooks", std::to_string(names.size())}});
        co_return co_await trigger_all(names, route, event);
    }

    asio::awaitable<admin_response> run_playbook(admin_route route) {
        const auto* p = context_.engine.current()->find(route.playbook);
        if (p == nullptr) co_return json_error(404, "no playbook named '" + route.playbook + "' is loaded");
        if (!p->trigger.webhook)
            co_return json_error(
                403, "playbook '" + route.playbook + "' cannot be triggered: it does not have trigger.webhook: true");
        if (auto refused = not_ready()) co_return std::move(*refused);
        const auto event = "ev-" + std::to_string(++events_);
        // A named local, not a temporary inside co_await: GCC 12 mishandles those.
        const std::vector<std::string> names{route.playbook};
        co_return co_await trigger_all(names, route, event);
    }

    asio::awaitable<admin_response> trigger_all(const std::vector<std::string>& names, const admin_route& route,
                                                const std::string& event) {
        engine::trigger t;
        t.threat_ids = route.threat_ids;
        t.source = route.kind == route_kind::events ? "webhook" : "manual";
        if (route.wait) {
            std::vector<engine::run_report> reports;
            for (const auto& name : names) reports.push_back(co_await context_.engine.run_and_wait(name, t));
            co_return json_answer(200, json::object{{"event", event}, {"runs", reports_array(reports)}});
        }
        json::array started;
        for (const auto& name : names) {
            const auto result = context_.engine.start_run(name, t);
            const std::string_view state = result == engine::start_result::started     ? "started"
                                           : result == engine::start_result::coalesced ? "coalesced"
                                           : result == engine::start_result::refused   ? "refused"
                                                                                       : "unknown";
            started.push_back(json::object{{"playbook", name}, {"state", state}});
        }
        co_return json_answer(202, json::object{{"event", event}, {"playbooks", std::move(started)}});
    }

    void log_refusal(const admin_request& request, const admin_response& refusal) const {
        // The target is cut short: it is the client's text. The token never appears.
        engine::log_warn("admin request refused",
                         {{"method", request.method.substr(0, 16)},
                          {"path", request.target.substr(0, request.target.find('?')).substr(0, 128)},
                          {"status", std::to_string(refusal.status)}});
    }

    admin_context context_;
    process_metrics metrics_;
    std::uint64_t events_ = 0;
};

}  // namespace

std::string reports_json(const std::vector<engine::run_report>& reports) {
    return json::serialize(json::object{{"runs", reports_array(reports)}});
}

admin_handler make_admin_handler(admin_context context) {
    auto routes = std::make_shared<admin_routes>(std::move(context));
    return [routes](admin_request request) -> asio::awaitable<admin_response> {
        co_return co_await routes->handle(std::move(request));
    };
}

}  // namespace s1pilot::ops
