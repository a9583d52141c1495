// Request targets and bodies. The filter module owns the wire form of filters; this file adds
// pagination, the action paths and the `data` objects.

#include "s1pilot/s1/requests.hpp"

#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/wire.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <variant>

namespace s1pilot::s1 {
namespace {

namespace json = boost::json;

std::string with_filter(std::string_view path, const filter::threat_filter& f) {
    std::string target(api_base);
    target += path;
    target += '?';
    // The match's `limit` caps what the playbook acts on, which the engine applies; in a GET it
    // would clash with the page size (the API refuses `limit` given twice).
    filter::threat_filter without_limit = f;
    for (const filter::term& t : f.terms()) {
        if (t.key->kind == filter::match_kind::limit) without_limit.erase(t.key->name);
    }
    const std::string query = filter::to_query(without_limit);
    if (!query.empty()) {
        target += query;
        target += '&';
    }
    return target;
}

std::string encoded(std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
}

action_result build(std::string_view path, const filter::threat_filter& f, json::object data) {
    if (auto ec = check_action_filter(f)) return ec;
    json::object body;
    body["filter"] = filter::to_json(f);
    body["data"] = std::move(data);
    return action_request{std::string(api_base) + std::string(path), json::serialize(body)};
}

}  // namespace

std::string list_threats_target(const filter::threat_filter& f, const page_request& page) {
    std::string target = with_filter("/threats", f);
    target += "sortBy=" + encoded(page.sort_by);
    target += page.descending ? "&sortOrder=desc" : "&sortOrder=asc";
    target += "&limit=" + std::to_string(page.limit);
    if (!page.cursor.empty()) target += "&cursor=" + encoded(page.cursor);
    return target;
}

std::string count_threats_target(const filter::threat_filter& f) {
    return with_filter("/threats", f) + "countOnly=true&limit=1";
}

std::string notes_target(object_id threat, std::string_view cursor) {
    std::string target = std::string(api_base) + "/threats/" + to_string_id(threat) + "/notes?limit=1000";
    if (!cursor.empty()) target += "&cursor=" + encoded(cursor);
    return target;
}

boost::system::error_code check_action_filter(const filter::threat_filter& f) {
    bool selects = false;
    for (const filter::term& t : f.terms()) {
        if (const auto* list = std::get_if<filter::string_list>(&t.val); list && list->empty()) {
            return core::errc::empty_filter;  // `"ids":[]` may well mean "no restriction"
        }
        if (t.key->kind != filter::match_kind::limit && t.key->kind != filter::match_kind::no_effect) selects = true;
    }
    return selects ? boost::system::error_code{} : core::errc::empty_filter;
}

action_result mitigate_request(mitigation_action action, const filter::threat_filter& f) {
    return build("/threats/mitigate/" + std::string(endpoint_name(action)), f, {});
}

action_result incident_request(const filter::threat_filter& f, incident_status status,
                               std::optional<analyst_verdict> verdict) {
    json::object data;
    data["incidentStatus"] = to_string(status);
    if (verdict) data["analystVerdict"] = to_string(*verdict);
    return build("/threats/incident", f, std::move(data));
}

action_result verdict_request(const filter::threat_filter& f, analyst_verdict verdict) {
    return build("/threats/analyst-verdict", f, {{"analystVerdict", to_string(verdict)}});
}

action_result note_request(const filter::threat_filter& f, std::string_view text) {
    return build("/threats/notes", f, {{"text", text}});
}

action_result external_ticket_request(const filter::threat_filter& f, std::string_view ticket_id) {
    return build("/threats/external-ticket-id", f, {{"externalTicketId", ticket_id}});
}

action_result agent_network_request(const filter::threat_filter& agents, bool disconnect) {
    return build(disconnect ? "/agents/actions/disconnect" : "/agents/actions/connect", agents, {});
}

net::request to_post(action_request action) {
    net::request r;
    r.method = net::http_method::post;
    r.target = std::move(action.target);
    r.body = std::move(action.body);
    return r;
}

}  // namespace s1pilot::s1
