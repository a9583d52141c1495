// The admin listener's decisions (ops::route_request, ops::parse_threat_ids) on arbitrary
// requests. The input is split at its first three newlines into method, target and
// Authorization; the rest is the body. Each request is routed twice: with an admin token and
// with none configured. Invariants: a refusal is a JSON object naming its status, one of
// 400/401/404/405/413, with the header its status calls for; no POST route is ever accepted
// without the right bearer token; event ids are 1..1000 distinct decimal ids.

#include "s1pilot/ops/admin_http.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

#include "fuzz_check.hpp"

namespace {

using namespace s1pilot;

constexpr std::string_view token = "fuzz-admin-token-0123456789";

std::string_view next_line(std::string_view& rest) {
    const auto end = rest.find('\n');
    const auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return line;
}

bool has_header(const ops::admin_response& r, std::string_view name) {
    return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) { return h.first == name; });
}

void check_ids(const std::vector<std::string>& ids) {
    S1PILOT_FUZZ_CHECK(!ids.empty() && ids.size() <= ops::max_event_ids, "an id count outside 1..1000");
    S1PILOT_FUZZ_CHECK(
        std::is_sorted(ids.begin(), ids.end()) && std::adjacent_find(ids.begin(), ids.end()) == ids.end(),
        "ids not distinct");
    for (const auto& id : ids) S1PILOT_FUZZ_CHECK(fuzz::all_digits(id), "an id that is not digits");
}

void check(const ops::admin_request& request, std::string_view configured) {
    const auto decision = ops::route_request(request, configured);
    if (const auto* refusal = std::get_if<ops::admin_response>(&decision)) {
        const int s = refusal->status;
        S1PILOT_FUZZ_CHECK(s == 400 || s == 401 || s == 404 || s == 405 || s == 413, "an unexpected status");
        boost::system::error_code ec;
        const auto body = boost::json::parse(refusal->body, ec);
        S1PILOT_FUZZ_CHECK(!ec && body.is_object(), "a refusal whose body is not a JSON object");
        const auto* status = body.get_object().if_contains("status");
        S1PILOT_FUZZ_CHECK(status != nullptr && status->is_int64() && status->get_int64() == s,
                           "a refusal body that does not name its status");
        const auto* error = body.get_object().if_contains("error");
        S1PILOT_FUZZ_CHECK(error != nullptr && error->is_string(), "a refusal without an error message");
        if (s == 401) S1PILOT_FUZZ_CHECK(has_header(*refusal, "WWW-Authenticate"), "a 401 without WWW-Authenticate");
        if (s == 405) S1PILOT_FUZZ_CHECK(has_header(*refusal, "Allow"), "a 405 without Allow");
        return;
    }
    const auto& route = std::get<ops::admin_route>(decision);
    const bool post = route.kind == ops::route_kind::events || route.kind == ops::route_kind::run_playbook;
    if (!post) {
        S1PILOT_FUZZ_CHECK(request.method == "GET", "a GET route taken with another method");
        return;
    }
    S1PILOT_FUZZ_CHECK(request.method == "POST", "a POST route taken with another method");
    S1PILOT_FUZZ_CHECK(!configured.empty(), "a POST route taken with no admin token configured");
    S1PILOT_FUZZ_CHECK(ops::bearer_matches(request.authorization, configured), "a POST route taken without the token");
    if (route.kind == ops::route_kind::events)
        S1PILOT_FUZZ_CHECK(route.threat_ids.has_value(), "an event without ids");
    else
        S1PILOT_FUZZ_CHECK(!route.playbook.empty() && route.playbook.find('/') == std::string::npos,
                           "a playbook name that is empty or a path");
    if (route.threat_ids) check_ids(*route.threat_ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view rest = fuzz::text_of(data, size);
    ops::admin_request request;
    request.method = next_line(rest);
    request.target = next_line(rest);
    request.authorization = next_line(rest);
    request.content_type = "application/json";
    request.body = rest;
    check(request, token);
    check(request, "");

    // The body alone, as the webhook reads it.
    const auto ids = ops::parse_threat_ids(request.body);
    if (const auto* list = std::get_if<std::vector<std::string>>(&ids))
        check_ids(*list);
    else
        S1PILOT_FUZZ_CHECK(!std::get<std::string>(ids).empty(), "a refused body without a reason");
    return 0;
}
