#include "s1pilot/engine/metrics.hpp"

#include "s1pilot/engine/plan.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace s1pilot::engine {
namespace {

namespace json = boost::json;

std::string_view text_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return {};
    return v->get_string();
}

std::size_t size_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? v->get_array().size() : 0;
}

/// Buckets for time to contain, in seconds: from a second to a day.
std::vector<double> containment_buckets() {
    return {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600};
}

}  // namespace

engine_metrics::engine_metrics(core::metrics_registry& r)
    : registry(r),
      runs(r.counter("s1pilot_runs_total", "Playbook runs by result (ok, failed, held, coalesced).",
                     {"playbook", "result"})),
      actions(r.counter("s1pilot_actions_total",
                        "Threats acted on, by playbook, action and outcome (success, failure, unknown, skipped, "
                        "dry_run); a target: filter run counts one.",
                        {"playbook", "action", "outcome"})),
      confirmations(r.counter("s1pilot_action_confirmations_total",
                              "Accepted mitigations and isolations by what the agents did (confirmed, "
                              "confirmed_failed, unconfirmed), per threat.",
                              {"playbook", "action", "result"})),
      ambiguous(r.counter("s1pilot_ambiguous_outcomes_total",
                          "Action calls whose effect was unknown (no answer after sending, or fewer affected): "
                          "reconciled by reading before anything is resent.",
                          {"playbook", "action"})),
      api_requests(r.counter("s1pilot_api_requests_total",
                             "Attempts of calls to a console by endpoint and HTTP status (error: no answer).",
                             {"console", "endpoint", "status"})),
      api_duration(r.histogram("s1pilot_api_request_duration_seconds",
                               "Time from sending an attempt to its answer, by class (read: GET, write: POST).",
                               {"console", "class"}, core::latency_buckets())),
      limiter_waits(r.counter("s1pilot_limiter_waits_total", "Calls that waited for the console's rate limit.",
                              {"console", "class"})),
      limiter_wait_seconds(r.counter("s1pilot_limiter_wait_seconds_total",
                                     "Time calls spent waiting for the console's rate limit.", {"console", "class"})),
      limiter_rate(r.gauge("s1pilot_limiter_rate",
                           "Requests per second the limiter allows now (lower than configured after a 429, until "
                           "it recovers).",
                           {"console", "class"})),
      retries(r.counter("s1pilot_retries_total", "Attempts followed by another attempt of the same call.",
                        {"console", "class"})),
      throttled(r.counter("s1pilot_throttled_total", "429 answers from the console.", {"console", "class"})),
      ledger_rows(r.gauge("s1pilot_ledger_rows", "Rows of the ledger by state (pending, done, failed).", {"state"})),
      audit_records(r.counter("s1pilot_audit_records_total", "Records appended to the audit log.")),
      time_to_contain(r.histogram("s1pilot_time_to_contain_seconds",
                                  "From a threat's createdAt to its containment: the agent's confirmation of the "
                                  "playbook's first mitigation or isolation, or the 200 of its first action when it "
                                  "has neither.",
                                  {"playbook"}, containment_buckets())),
      last_success(r.gauge("s1pilot_playbook_last_success_timestamp_seconds",
                           "Unix time at which the playbook's last run that ended ok ended.", {"playbook"})),
      interval(r.gauge("s1pilot_playbook_interval_seconds",
                       "The playbook's poll interval (absent for playbooks without trigger.every).", {"playbook"})),
      held(r.gauge("s1pilot_playbook_held", "1 while the playbook's last run was held (more threats than max_threats).",
                   {"playbook"})) {}

void engine_metrics::observe_record(const json::object& record) {
    audit_records.inc({});
    const auto event = text_of(record, "event");
    const auto playbook = text_of(record, "playbook");
    const auto action = text_of(record, "action");
    if (event == "action.result") {
        const auto outcome = text_of(record, "outcome");
        const auto threats = std::max<std::size_t>(size_of(record, "threat_ids"), 1);
        actions.inc({playbook, action, outcome}, static_cast<double>(threats));
        if (outcome == "unknown") ambiguous.inc({playbook, action});
    } else if (event == "action.confirmed" || event == "action.unconfirmed") {
        const auto state = text_of(record, "state");
        confirmations.inc({playbook, action, state}, static_cast<double>(size_of(record, "threat_ids")));
    } else if (event == "run.end") {
        const auto result = text_of(record, "result");
        runs.inc({playbook, result});
        held.set({playbook}, result == "held" ? 1 : 0);
        if (result == "ok") {
            const auto now = std::chrono::system_clock::now().time_since_epoch();
            last_success.set({playbook}, std::chrono::duration<double>(now).count());
        }
    }
}

void engine_metrics::publish_playbooks(const std::vector<config::playbook>& playbooks) {
    interval.clear();
    std::set<std::string> names;
    for (const auto& p : playbooks) {
        names.insert(p.name);
        if (p.trigger.every) interval.set({p.name}, std::chrono::duration<double>(*p.trigger.every).count());
        held.inc({p.name}, 0);  // present from the start, so that an alert sees 0 before any run
    }
    // A playbook a reload removed is neither held nor late any more.
    for (const auto& gone : published_) {
        if (names.count(gone) != 0) continue;
        held.erase({gone});
        last_success.erase({gone});
    }
    published_ = std::move(names);
}

std::string endpoint_label(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        const auto segment = path.substr(start, end - start);
        const bool numeric = !segment.empty() && std::all_of(segment.begin(), segment.end(),
                                                             [](unsigned char c) { return std::isdigit(c) != 0; });
        out += numeric ? std::string_view("{id}") : segment;
        if (slash == std::string_view::npos) break;
        out += '/';
        start = slash + 1;
    }
    return out;
}

std::string containment_key(const config::playbook& p) {
    for (const auto& a : p.actions)
        if (std::holds_alternative<config::mitigate_action>(a) || std::holds_alternative<config::isolate_action>(a))
            return ledger_key(a);
    return p.actions.empty() ? std::string() : ledger_key(p.actions.front());
}

}  // namespace s1pilot::engine
