#include "s1pilot/ops/admin_http.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace s1pilot::ops {
namespace {

namespace json = boost::json;

std::string_view reason_phrase(int status) {
    switch (status) {
        case 400: return "bad request";
        case 401: return "unauthorized";
        case 403: return "forbidden";
        case 404: return "not found";
        case 405: return "method not allowed";
        case 413: return "payload too large";
        case 503: return "service unavailable";
        default: return "error";
    }
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 20 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

/// Client bytes echoed in a refusal: at most `max` of them, printable ASCII kept and anything else
/// shown as `?`. Verbatim, a byte such as 0xb4 (or a UTF-8 sequence cut at `max`) made the body
/// invalid JSON, which a strict client cannot read.
std::string shown(std::string_view input, std::size_t max) {
    std::string out(input.substr(0, max));
    for (char& c : out)
        if (const auto byte = static_cast<unsigned char>(c); byte < 0x20 || byte > 0x7e) c = '?';
    return out;
}

/// The refusal of a route with the wrong method.
admin_response not_allowed(std::string_view allow) {
    auto r = json_error(405, "use " + std::string(allow) + " on this route");
    r.headers.emplace_back("Allow", std::string(allow));
    return r;
}

/// `?wait=true|false` and nothing else. The flag, or the problem.
std::variant<bool, std::string> read_query(std::string_view query) {
    bool wait = false;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (param.empty()) continue;
        const auto eq = param.find('=');
        const auto key = param.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view("true") : param.substr(eq + 1);
        if (key != "wait") return "unknown query parameter '" + shown(key, 64) + "' (only wait=true is known)";
        if (value != "true" && value != "false") return "wait must be true or false, not '" + shown(value, 64) + "'";
        wait = value == "true";
    }
    return wait;
}

}  // namespace

admin_response json_error(int status, std::string_view message) {
    admin_response r;
    r.status = status;
    r.body = json::serialize(json::object{{"error", message}, {"status", status}, {"title", reason_phrase(status)}});
    r.body += '\n';
    if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"s1pilot\"");
    return r;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "Bearer ";
    if (token.empty() || authorization.size() < scheme.size()) return false;
    // The scheme is case-insensitive (RFC 9110); the token is compared through its digest, so
    // that neither its length nor the place of a difference shows in the time taken.
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    const auto presented = authorization.substr(scheme.size());
    std::array<unsigned char, SHA256_DIGEST_LENGTH> a{}, b{};
    SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a.data());
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b.data());
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::variant<std::vector<std::string>, std::string> parse_threat_ids(std::string_view body) {
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 8;  // the expected body is two levels deep
    const json::value v = json::parse(body, ec, {}, options);
    if (ec) return "the body is not JSON: " + ec.message();
    if (!v.is_object()) return std::string(R"(expected a JSON object like {"threatIds":["1234567890123456789"]})");
    const auto& o = v.get_object();
    for (const auto& field : o)
        if (field.key() != "threatIds")
            return "unknown field '" + std::string(field.key()) + "' (only threatIds is known)";
    const auto* ids = o.if_contains("threatIds");
    if (ids == nullptr || !ids->is_array()) return std::string("threatIds: expected an array of threat ids");
    const auto& list = ids->get_array();
    if (list.empty()) return std::string("threatIds: expected at least one threat id");
    if (list.size() > max_event_ids)
        return "threatIds: " + std::to_string(list.size()) + " ids; at most " + std::to_string(max_event_ids) +
               " per event";
    std::vector<std::string> out;
    out.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& id = list[i];
        std::string text;
        if (id.is_string())
            text = std::string(id.get_string());
        else if (id.is_uint64())
            text = std::to_string(id.get_uint64());
        else if (id.is_int64() && id.get_int64() >= 0)
            text = std::to_string(id.get_int64());
        if (!all_digits(text))
            return "threatIds[" + std::to_string(i) + "]: expected a decimal threat id, not " + json::serialize(id);
        out.push_back(std::move(text));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::variant<admin_route, admin_response> route_request(const admin_request& request, std::string_view token) {
    const std::string_view target = request.target;
    const auto question = target.find('?');
    const auto path = target.substr(0, question);
    const auto query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    const bool get = request.method == "GET";

    admin_route route;
    if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/status") {
        if (!get) return not_allowed("GET");
        route.kind = path == "/healthz"   ? route_kind::healthz
                     : path == "/readyz"  ? route_kind::readyz
                     : path == "/metrics" ? route_kind::metrics
                                          : route_kind::status;
        return route;
    }
    constexpr std::string_view playbooks = "/v1/playbooks/";
    constexpr std::string_view run = "/run";
    if (path == "/v1/events") {
        route.kind = route_kind::events;
    } else if (path.starts_with(playbooks) && path.ends_with(run) && path.size() > playbooks.size() + run.size()) {
        route.kind = route_kind::run_playbook;
        route.playbook = std::string(path.substr(playbooks.size(), path.size() - playbooks.size() - run.size()));
        if (route.playbook.find('/') != std::string::npos) return json_error(404, "no such route");
    } else {
        return json_error(404, "no such route: " + shown(path, 200));
    }
    if (request.method != "POST") return not_allowed("POST");
    // Authentication before anything about the body: an unauthenticated client learns nothing.
    if (token.empty()) return json_error(401, "POST routes are disabled: no admin.token is configured");
    if (!bearer_matches(request.authorization, token))
        return json_error(401, request.authorization.empty() ? "missing Authorization: Bearer <admin token>"
                                                             : "the bearer token is not the admin token");
    auto flags = read_query(query);
    if (auto* problem = std::get_if<std::string>(&flags)) return json_error(400, *problem);
    route.wait = std::get<bool>(flags);
    const bool empty_body =
        std::all_of(request.body.begin(), request.body.end(), [](unsigned char c) { return std::isspace(c) != 0; });
    if (route.kind == route_kind::run_playbook && empty_body) return route;  // a whole run
    auto ids = parse_threat_ids(request.body);
    if (auto* problem = std::get_if<std::string>(&ids)) return json_error(400, *problem);
    route.threat_ids = std::move(std::get<std::vector<std::string>>(ids));
    return route;
}

}  // namespace s1pilot::ops
