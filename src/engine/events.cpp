// Audit records, field by field in the order DESIGN.md §6 shows them.

#include "s1pilot/engine/events.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

namespace s1pilot::engine {
namespace {

namespace json = boost::json;

json::array to_array(const std::vector<std::string>& ids) {
    json::array out;
    out.reserve(ids.size());
    for (const auto& id : ids) out.emplace_back(id);
    return out;
}

json::object head(std::string_view event, const run_identity& id) {
    json::object o;
    o["event"] = event;
    o["run"] = id.run;
    o["playbook"] = id.playbook;
    o["playbook_sha256"] = id.playbook_sha256;
    o["console"] = id.console;
    return o;
}

void add_call(json::object& o, const call_identity& call) {
    o["action"] = call.action;
    o["method"] = call.method;
    o["path"] = call.path;
    o["batch"] = call.batch;
    o["threat_ids"] = to_array(call.threat_ids);
    if (!call.agent_ids.empty()) o["agent_ids"] = to_array(call.agent_ids);
}

}  // namespace

std::string_view to_string(outcome o) noexcept {
    switch (o) {
        case outcome::success: return "success";
        case outcome::failure: return "failure";
        case outcome::unknown: return "unknown";
        case outcome::skipped: return "skipped";
        case outcome::dry_run: return "dry_run";
    }
    return "unknown";
}

json::object run_start_event(const run_identity& id, std::string_view trigger, std::string_view mode) {
    json::object o = head("run.start", id);
    o["trigger"] = trigger;
    o["mode"] = mode;
    o["dry_run"] = id.dry_run;
    return o;
}

json::object run_held_event(const run_identity& id, std::size_t matched, std::size_t after_ledger, int max_threats) {
    json::object o = head("run.held", id);
    o["outcome"] = to_string(outcome::skipped);
    o["matched"] = matched;
    o["after_ledger"] = after_ledger;
    o["max_threats"] = max_threats;
    o["reason"] = "more threats than max_threats and on_exceed: hold: acting on none";
    o["dry_run"] = id.dry_run;
    return o;
}

json::object run_end_event(const run_identity& id, const run_report& report) {
    json::object o = head("run.end", id);
    const bool failed = report.outcome == run_outcome::failed || report.failures() > 0;
    o["outcome"] = to_string(report.dry_run ? outcome::dry_run : failed ? outcome::failure : outcome::success);
    o["result"] = to_string(report.outcome);
    o["matched"] = report.matched;
    o["after_ledger"] = report.after_ledger;
    o["acted"] = report.acted;
    o["calls"] = report.calls();
    o["failures"] = report.failures();
    json::array actions;
    for (const auto& a : report.actions) {
        json::object entry;
        entry["action"] = a.action;
        entry["done"] = a.threats_done;
        entry["calls"] = report.dry_run ? a.dry_calls.size() : a.calls;
        entry["failures"] = a.failures;
        entry["skipped"] = a.skipped;
        entry["reconciled"] = a.reconciled;
        actions.emplace_back(std::move(entry));
    }
    o["actions"] = std::move(actions);
    if (!report.error.empty()) o["error"] = report.error;
    o["dry_run"] = report.dry_run;
    return o;
}

json::object intent_event(const run_identity& id, const call_identity& call) {
    json::object o = head("action.intent", id);
    add_call(o, call);
    o["attempt"] = call.attempt;
    o["dry_run"] = false;
    return o;
}

json::object result_event(const run_identity& id, const call_identity& call, const call_answer& answer) {
    json::object o = head("action.result", id);
    add_call(o, call);
    o["outcome"] = to_string(answer.result);
    o["http_status"] = answer.http_status;
    if (answer.affected)
        o["affected"] = *answer.affected;
    else
        o["affected"] = nullptr;
    o["s1_request_id"] = answer.request_id;
    o["attempt"] = call.attempt;
    o["duration_ms"] = answer.duration_ms;
    o["dry_run"] = false;
    if (!answer.error.empty()) o["error"] = answer.error;
    if (!answer.reason.empty()) o["reason"] = answer.reason;
    return o;
}

json::object dry_run_event(const run_identity& id, const call_identity& call, std::string_view body) {
    json::object o = head("action.result", id);
    add_call(o, call);
    o["outcome"] = to_string(outcome::dry_run);
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    if (ec)
        o["body"] = body;
    else
        o["body"] = std::move(parsed);
    o["dry_run"] = true;
    return o;
}

json::object skipped_event(const run_identity& id, std::string_view action, const std::vector<std::string>& threat_ids,
                           std::string_view reason) {
    json::object o = head("action.result", id);
    o["action"] = action;
    o["threat_ids"] = to_array(threat_ids);
    o["outcome"] = to_string(outcome::skipped);
    o["reason"] = reason;
    o["dry_run"] = id.dry_run;
    return o;
}

json::object reconciled_event(const run_identity& id, std::string_view action, const reconcile_counts& counts) {
    json::object o = head("action.reconciled", id);
    o["action"] = action;
    o["threat_ids"] = to_array(counts.done);
    o["absent"] = to_array(counts.absent);
    o["undecided"] = to_array(counts.unknown);
    const bool all_done = counts.absent.empty() && counts.unknown.empty();
    o["outcome"] = to_string(all_done                  ? outcome::success
                             : !counts.unknown.empty() ? outcome::unknown
                                                       : outcome::failure);
    if (!counts.note.empty()) o["next"] = counts.note;
    o["dry_run"] = false;
    return o;
}

json::object confirmation_record(const run_identity& id, const confirmation_event& e) {
    const bool unconfirmed = e.state == "unconfirmed";
    json::object o = head(unconfirmed ? "action.unconfirmed" : "action.confirmed", id);
    o["action"] = e.action;
    o["threat_ids"] = to_array(e.threat_ids);
    o["outcome"] = to_string(unconfirmed              ? outcome::unknown
                             : e.state == "confirmed" ? outcome::success
                                                      : outcome::failure);
    o["state"] = e.state;
    o["last_status"] = e.last_status;
    o["agent_offline"] = e.agent_offline;
    o["checks"] = e.checks;
    o["waited_ms"] = e.waited_ms;
    o["dry_run"] = false;
    return o;
}

json::object daemon_event(std::string_view event, json::object fields) {
    json::object o;
    o["event"] = event;
    for (auto& f : fields) o[f.key()] = std::move(f.value());
    return o;
}

}  // namespace s1pilot::engine
