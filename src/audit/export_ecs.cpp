// An audit record as an Elastic Common Schema 8.11 document. Calls to a console and runs are
// `api` events, reloads `configuration`, the daemon's start and stop `process`; the record's own
// fields that ECS has no place for go under `s1pilot`, under their own names.

#include "s1pilot/audit/export.hpp"

#include <boost/json/array.hpp>

#include "export_fields.hpp"

namespace s1pilot::audit {
namespace {

namespace json = boost::json;
using detail::integer_of;
using detail::text_of;

struct categorisation {
    std::string_view category;
    std::string_view type;
};

// ECS's allowed values (event.category, and an event.type it expects with that category).
categorisation categorise(const json::object& record) {
    const std::string_view event = text_of(record, "event").value_or("");
    if (event.starts_with("action.")) {
        if (event == "action.intent") return {"api", "start"};
        // A result that sent something changed the threat (or tried to); a skipped or dry-run
        // result, a reconciliation and a confirmation only tell what is.
        if (event == "action.result" && detail::outcome_of(record) != detail::outcome_kind::other)
            return {"api", "change"};
        return {"api", "info"};
    }
    if (event.starts_with("run.")) {
        if (event == "run.start") return {"api", "start"};
        if (event == "run.end") return {"api", "end"};
        if (event == "run.held") return {"api", "denied"};
        return {"api", "info"};
    }
    if (event.starts_with("config.")) return {"configuration", "change"};
    if (event == "daemon.start") return {"process", "start"};
    if (event == "daemon.stop") return {"process", "end"};
    return {"process", "info"};
}

json::object event_of(const json::object& record) {
    const auto kind = categorise(record);
    json::object event;
    event["kind"] = "event";
    event["category"] = json::array{kind.category};
    event["type"] = json::array{kind.type};
    event["action"] = text_of(record, "action").value_or(text_of(record, "event").value_or("unknown"));
    switch (detail::outcome_of(record)) {
        case detail::outcome_kind::success: event["outcome"] = "success"; break;
        case detail::outcome_kind::failure: event["outcome"] = "failure"; break;
        case detail::outcome_kind::unknown: event["outcome"] = "unknown"; break;
        // ECS has only these three: skipped and dry_run are in s1pilot.outcome, as is every outcome.
        case detail::outcome_kind::none:
        case detail::outcome_kind::other: break;
    }
    if (auto seq = integer_of(record, "seq")) event["sequence"] = *seq;
    if (auto hash = text_of(record, "hash")) event["id"] = *hash;
    if (auto duration = integer_of(record, "duration_ms")) event["duration"] = *duration * 1'000'000;  // ns
    event["severity"] = detail::severity_of(record);
    if (auto reason = text_of(record, "reason")) event["reason"] = *reason;
    event["module"] = "s1pilot";
    event["dataset"] = "s1pilot.audit";
    return event;
}

}  // namespace

json::object to_ecs(const json::object& record, const export_context& context) {
    json::object document;
    if (auto time = text_of(record, "time")) document["@timestamp"] = *time;
    document["event"] = event_of(record);
    if (auto error = text_of(record, "error")) document["error"] = json::object{{"message", *error}};
    auto method = text_of(record, "method");
    auto status = integer_of(record, "http_status");
    if (method || (status && *status > 0)) {
        json::object http;
        if (method) http["request"] = json::object{{"method", *method}};
        // 0 means no answer came (a transport failure): there is no status code.
        if (status && *status > 0) http["response"] = json::object{{"status_code", *status}};
        document["http"] = std::move(http);
    }
    if (auto path = text_of(record, "path")) document["url"] = json::object{{"path", *path}};
    json::object service{{"name", "s1pilot"}};
    if (!context.product_version.empty()) service["version"] = context.product_version;
    document["service"] = std::move(service);
    document["ecs"] = json::object{{"version", ecs_schema_version}};
    document["s1pilot"] =
        detail::remaining_fields(record, {"time", "method", "path", "http_status", "duration_ms", "error", "reason"});
    return document;
}

}  // namespace s1pilot::audit
