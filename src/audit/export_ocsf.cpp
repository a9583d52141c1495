// An audit record as an OCSF 1.1.0 API Activity event (class 6003, category 6 Application
// Activity). Every call s1pilot makes to a console is an API call, and the lifecycle records
// (runs, reloads, start and stop) are kept in the same class as activity 99 Other, so that one
// SIEM query sees the whole story of a run in order.

#include "s1pilot/audit/export.hpp"

#include <boost/json/array.hpp>

#include <string>

#include "export_fields.hpp"

namespace s1pilot::audit {
namespace {

namespace json = boost::json;
using detail::array_of;
using detail::integer_of;
using detail::text_of;

constexpr std::int64_t api_activity_class = 6003;
constexpr std::int64_t application_activity_category = 6;

struct activity {
    std::int64_t id;
    std::string_view caption;
};

// OCSF's CRUD activities follow the HTTP method of the call the record is about. Reconciling and
// confirming read threats to find out what a call did: Read. Records about no call are Other.
activity activity_of(const json::object& record) {
    if (auto method = text_of(record, "method")) {
        if (*method == "POST") return {1, "Create"};
        if (*method == "GET") return {2, "Read"};
        if (*method == "PUT" || *method == "PATCH") return {3, "Update"};
        if (*method == "DELETE") return {4, "Delete"};
        return {99, "Other"};
    }
    auto event = text_of(record, "event").value_or("");
    if (event == "action.reconciled" || event == "action.confirmed" || event == "action.unconfirmed")
        return {2, "Read"};
    return {99, "Other"};
}

void add_status(json::object& event, const json::object& record) {
    switch (detail::outcome_of(record)) {
        case detail::outcome_kind::none: return;  // not decided yet: OCSF's status is left out
        case detail::outcome_kind::success:
            event["status_id"] = 1;
            event["status"] = "Success";
            break;
        case detail::outcome_kind::failure:
            event["status_id"] = 2;
            event["status"] = "Failure";
            break;
        case detail::outcome_kind::unknown:
            event["status_id"] = 0;
            event["status"] = "Unknown";
            break;
        case detail::outcome_kind::other:
            // Other (99) carries the source's own word in `status`: skipped, dry_run.
            event["status_id"] = 99;
            event["status"] = *text_of(record, "outcome");
            break;
    }
    if (auto error = text_of(record, "error"))
        event["status_detail"] = *error;
    else if (auto reason = text_of(record, "reason"))
        event["status_detail"] = *reason;
}

// `action.result mitigate:kill: success`: what a list of events in a SIEM shows first.
std::string message_of(const json::object& record) {
    std::string message(text_of(record, "event").value_or("record"));
    if (auto action = text_of(record, "action")) message.append(" ").append(*action);
    if (auto outcome = text_of(record, "outcome")) message.append(": ").append(*outcome);
    return message;
}

json::object metadata_of(const json::object& record, const export_context& context) {
    json::object product{{"name", "s1pilot"}, {"vendor_name", "s1pilot"}};
    if (!context.product_version.empty()) product["version"] = context.product_version;
    json::object metadata{{"version", ocsf_schema_version}, {"product", std::move(product)}, {"log_name", "audit"}};
    // The record's hash names it uniquely whatever file it is in now, and exporting the same
    // record twice gives the same uid, so a SIEM can drop the duplicate.
    if (auto hash = text_of(record, "hash")) metadata["uid"] = *hash;
    if (auto seq = integer_of(record, "seq")) metadata["sequence"] = *seq;
    if (auto run = text_of(record, "run")) metadata["correlation_uid"] = *run;
    if (auto time = text_of(record, "time")) metadata["original_time"] = *time;
    return metadata;
}

json::object api_of(const json::object& record) {
    json::object api;
    api["operation"] = text_of(record, "action").value_or(text_of(record, "event").value_or("unknown"));
    if (auto request_id = text_of(record, "s1_request_id")) api["request"] = json::object{{"uid", *request_id}};
    if (auto error = text_of(record, "error")) api["response"] = json::object{{"error_message", *error}};
    return api;
}

void add_http(json::object& event, const json::object& record) {
    auto method = text_of(record, "method");
    auto path = text_of(record, "path");
    if (method || path) {
        json::object request;
        if (method) request["http_method"] = *method;
        if (path) request["url"] = json::object{{"path", *path}};
        event["http_request"] = std::move(request);
    }
    // 0 means no answer came (a transport failure): there is no response to describe.
    if (auto status = integer_of(record, "http_status"); status && *status > 0)
        event["http_response"] = json::object{{"code", *status}};
}

void add_resources(json::array& resources, const json::array* ids, std::string_view type) {
    if (ids == nullptr) return;
    for (const auto& id : *ids)
        if (id.is_string()) resources.push_back(json::object{{"uid", id.as_string()}, {"type", type}});
}

}  // namespace

json::object to_ocsf(const json::object& record, const export_context& context) {
    const auto kind = activity_of(record);
    const int severity = detail::severity_of(record);
    json::object event;
    event["class_uid"] = api_activity_class;
    event["class_name"] = "API Activity";
    event["category_uid"] = application_activity_category;
    event["category_name"] = "Application Activity";
    event["activity_id"] = kind.id;
    // For Other, OCSF wants the source's own name of the activity: the audit event.
    event["activity_name"] = kind.id == 99 ? text_of(record, "event").value_or("Other") : kind.caption;
    event["type_uid"] = api_activity_class * 100 + kind.id;
    event["type_name"] = std::string("API Activity: ") + std::string(kind.caption);
    if (auto time = text_of(record, "time"))
        if (auto milliseconds = detail::epoch_milliseconds(*time)) event["time"] = *milliseconds;
    event["severity_id"] = severity;
    event["severity"] = severity == 3 ? "Medium" : "Informational";
    add_status(event, record);
    event["message"] = message_of(record);
    if (auto duration = integer_of(record, "duration_ms")) event["duration"] = *duration;
    event["metadata"] = metadata_of(record, context);
    event["actor"] = json::object{{"app_name", "s1pilot"}};
    // src_endpoint is required by the class; the log does not record the host, so the endpoint
    // is named by its service.
    event["src_endpoint"] = json::object{{"svc_name", "s1pilot"}};
    event["api"] = api_of(record);
    add_http(event, record);
    json::array resources;
    add_resources(resources, array_of(record, "threat_ids"), "threat");
    add_resources(resources, array_of(record, "agent_ids"), "agent");
    if (!resources.empty()) event["resources"] = std::move(resources);
    // Everything else keeps its own name; event, seq, prev and hash stay too, so the record's
    // place in the chain travels with the event.
    event["unmapped"] =
        detail::remaining_fields(record, {"time", "action", "method", "path", "http_status", "s1_request_id",
                                          "threat_ids", "agent_ids", "outcome", "run", "duration_ms", "error"});
    return event;
}

}  // namespace s1pilot::audit
