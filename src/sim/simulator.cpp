#include "simulator.hpp"

#include "s1pilot/filter/wire.hpp"

#include <boost/json.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "actions.hpp"
#include "json_writer.hpp"
#include "listing.hpp"

namespace s1sim {
namespace {

std::string join_problems(const std::vector<s1pilot::core::diagnostic>& problems) {
    std::string out;
    for (const auto& p : problems) {
        if (p.level != s1pilot::core::severity::error) continue;
        if (!out.empty()) out += "; ";
        out += p.message;
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

http_response method_not_allowed(std::string_view allowed) {
    auto r = error_response(405, fmt::format("use {}", allowed));
    r.headers.emplace_back("Allow", std::string(allowed));
    return r;
}

}  // namespace

std::string error_body(int code, std::string_view title, std::string_view detail) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("errors").begin_array().begin_object().member_number("code", code);
    if (detail.empty())
        w.member_null("detail");
    else
        w.member("detail", detail);
    w.member("title", title).end_object().end_array().end_object();
    return out;
}

http_response error_response(unsigned status, std::string_view detail) {
    http_response r;
    r.status = status;
    switch (status) {
        case 400: r.body = error_body(4000010, "Validation Error", detail); break;
        case 401: r.body = error_body(4010010, "Authentication Failed"); break;
        case 403: r.body = error_body(4030010, "Insufficient permissions", detail); break;
        case 404: r.body = error_body(4040010, "Not Found", detail); break;
        case 405: r.body = error_body(4050010, "Method Not Allowed", detail); break;
        case 413: r.body = error_body(4130010, "Request Entity Too Large", detail); break;
        case 429: r.body = error_body(4290010, "Too Many Requests", detail); break;
        case 502:
            // Load balancers answer 502 in HTML: a client must not assume every error body is JSON.
            r.content_type = "text/html";
            r.body =
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
                "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
            break;
        case 503: r.body = error_body(5030010, "Service Unavailable", detail); break;
        default: r.body = error_body(5000010, "Internal server error", detail); break;
    }
    return r;
}

simulator::simulator(simulator_options options)
    : options_(std::move(options)),
      journal_(options_.journal_file),
      limiter_(options_.rate_limits),
      faults_(options_.faults),
      answers_(options_.answers),
      agents_({options_.agent_delay, options_.agents_offline, options_.seed}),
      fault_rng_(options_.faults.seed),
      id_rng_(options_.seed ^ 0x5151u) {
    if (!options_.clock) options_.clock = std::make_shared<s1pilot::core::system_clock>();
    if (!options_.now) options_.now = options_.clock->now();
    build_store();
}

micros simulator::now() const {
    return to_micros(options_.clock->now());
}

std::size_t simulator::threat_count() const {
    std::lock_guard lock(mutex_);
    return store_->threats.size();
}

std::size_t simulator::memory_bytes() const {
    std::lock_guard lock(mutex_);
    return store_->memory_bytes();
}

void simulator::handshake_failed() {
    std::lock_guard lock(mutex_);
    ++handshakes_failed_;
}

std::string simulator::next_rqid() {
    auto a = id_rng_.next(), b = id_rng_.next();
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, a >> 16 & 0xffff, a & 0xfff,
                       (b >> 48 & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

bool simulator::authorised(const http_request& request, bool& read_only) const {
    std::string_view header = request.authorization;
    auto space = header.find(' ');
    if (space == std::string_view::npos || !iequals(header.substr(0, space), "ApiToken")) return false;
    auto token = header.substr(space + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    read_only = false;
    if (!options_.token.empty() && token == options_.token) return true;
    read_only = !options_.read_only_token.empty() && token == options_.read_only_token;
    return read_only;
}

http_response simulator::handle(const http_request& request) {
    std::lock_guard lock(mutex_);
    // What agents finished since the last request shows on this one, whatever it reads or filters.
    if (agents_.settle(*store_, now())) ++store_generation_;
    if (request.method != "GET" && request.method != "HEAD") ++store_generation_;  // before it acts
    http_response response;
    std::string fault;
    const bool is_admin = request.path.starts_with("/_sim/") || request.path == "/_sim";
    bool read_only = false;
    if (is_admin)
        response = !authorised(request, read_only)        ? error_response(401)
                   : read_only && request.method != "GET" ? error_response(403, "this token is read-only")
                                                          : admin(request);
    else
        response = api(request, fault);
    response.rqid = next_rqid();
    // Admin traffic is the test harness talking, not the client under test: it is not journaled.
    if (!is_admin)
        journal_.record({0, now(), response.rqid, request.method, request.path, request.query, request.body,
                         response.action == disposition::reset ? 0U : response.status, fault, request.received_ns,
                         request.tls_version, response.delay});
    return response;
}

http_response simulator::reject(const http_request& request, unsigned status, std::string_view detail) {
    std::lock_guard lock(mutex_);
    http_response response = error_response(status, detail);
    response.rqid = next_rqid();
    journal_.record({0,
                     now(),
                     response.rqid,
                     request.method,
                     request.path,
                     request.query,
                     {},
                     status,
                     {},
                     request.received_ns,
                     request.tls_version});
    return response;
}

http_response simulator::api(const http_request& request, std::string& fault_name) {
    bool read_only = false;
    if (!authorised(request, read_only)) return error_response(401);
    const bool write = request.method != "GET" && request.method != "HEAD";
    if (auto wait = limiter_.admit(write, options_.clock->steady_now())) {
        auto r = error_response(429, "rate limit exceeded");
        r.headers.emplace_back("Retry-After", limiter_.config().retry_after_http_date
                                                  ? http_date(options_.clock->now() + *wait + std::chrono::seconds(1))
                                                  : retry_after_seconds(*wait));
        return r;
    }
    fault_plan plan = faults_.concerns(write) ? draw_faults(faults_, fault_rng_) : fault_plan{};
    fault_name = plan.name();
    if (plan.reset) {
        http_response r;
        r.action = disposition::reset;
        return r;
    }
    http_response response;
    bool applied = false;  // an action was performed on the store
    if (plan.status == 429) {
        response = error_response(429, "injected fault");
        std::chrono::milliseconds hold{0};
        if (auto value = injected_retry_after(faults_, options_.clock->now(), hold))
            response.headers.emplace_back("Retry-After", std::move(*value));
        plan.delay += hold;
    } else if (plan.status != 0) {
        response = error_response(plan.status, "injected fault");
    } else {
        std::string_view path = request.path;
        if (!path.starts_with(api_prefix)) return error_response(404, fmt::format("no route {}", path));
        std::string_view rest = path.substr(api_prefix.size());
        if (rest == "/threats") {
            response = request.method == "GET" ? list(request) : method_not_allowed("GET");
        } else if (rest.starts_with("/threats/") && rest.ends_with("/notes") && rest.size() > 15) {
            response = request.method == "GET" ? notes(rest.substr(9, rest.size() - 15)) : method_not_allowed("GET");
        } else if ((rest.starts_with("/threats/") && is_threat_action(rest.substr(9))) ||
                   rest == "/agents/actions/connect" || rest == "/agents/actions/disconnect") {
            applied = request.method == "POST" && !read_only;
            response = request.method != "POST" ? method_not_allowed("POST")
                       : read_only              ? error_response(403, "this token is read-only")
                                                : action(request, rest);
        } else {
            response = error_response(404, fmt::format("no route {}", path));
        }
        // "Applied, then the connection dropped" is the ambiguous write: it concerns actions only.
        // Reads under this fault are answered, so a client's reconciling read can succeed.
        if (plan.drop_after_apply && applied) response.action = disposition::drop_after_apply;
    }
    response.delay = plan.delay;
    response.slow_body_pause = plan.slow_body_pause;
    response.slow_body_chunk = plan.slow_body_chunk;
    response.pad_body_to = plan.pad_body_to;
    if (plan.header_padding > 0)
        response.headers.emplace_back("X-S1sim-Padding", std::string(plan.header_padding, 'p'));
    return response;
}

http_response simulator::list(const http_request& request) {
    std::vector<s1pilot::core::diagnostic> problems;
    auto parsed = s1pilot::filter::parse_query(request.query, problems);
    if (!parsed) return error_response(400, join_problems(problems));
    if (parsed->filter.has_relative_times()) parsed->filter = parsed->filter.resolved(options_.clock->now());
    auto result = list_threats(*store_, *parsed, &match_count_, store_generation_);
    if (!result.ok) return error_response(400, result.error_detail);
    http_response r;
    r.body = std::move(result.body);
    return r;
}

http_response simulator::notes(std::string_view threat_id) {
    std::uint64_t id = 0;
    const std::uint32_t* index = parse_id(threat_id, id) ? store_->find(id) : nullptr;
    if (index == nullptr) return error_response(404, fmt::format("no threat {}", threat_id));
    http_response r;
    json_writer w(r.body);
    const auto* notes = store_->notes(*index);
    w.begin_object().key("data").begin_array();
    if (notes != nullptr)
        for (const auto& n : *notes) {
            auto at = s1pilot::core::format_timestamp(from_micros(n.created_at));
            w.begin_object().member("id", id_text(n.id)).member("text", n.text).member("createdAt", at);
            w.member("updatedAt", at).member("creator", "s1sim API token").member_null("creatorId").end_object();
        }
    w.end_array().key("pagination").begin_object().member_null("nextCursor");
    w.member_number("totalItems", notes != nullptr ? static_cast<std::int64_t>(notes->size()) : 0);
    w.end_object().end_object();
    return r;
}

http_response simulator::action(const http_request& request, std::string_view rest) {
    boost::system::error_code ec;
    auto body = boost::json::parse(request.body, ec);
    if (ec || !body.is_object()) return error_response(400, "the body must be a JSON object with 'filter' and 'data'");
    const auto& object = body.get_object();
    const auto* filter_value = object.if_contains("filter");
    if (filter_value == nullptr || !filter_value->is_object())
        return error_response(400, "filter is required (a JSON object)");
    static const boost::json::object no_data;
    const auto* data_value = object.if_contains("data");
    if (data_value != nullptr && !data_value->is_object()) return error_response(400, "data must be a JSON object");
    const auto& data = data_value != nullptr ? data_value->get_object() : no_data;
    std::vector<s1pilot::core::diagnostic> problems;
    auto filter = s1pilot::filter::from_json(filter_value->get_object(), problems);
    if (!filter) return error_response(400, join_problems(problems));
    if (filter->has_relative_times()) *filter = filter->resolved(options_.clock->now());
    if (options_.strict_filters && filter->empty())
        return error_response(400,
                              "filter is empty: it would select every threat in scope (refused: --strict-filters)");
    action_context context{now(), answers_, agents_, faults_, fault_rng_};
    action_result result;
    if (rest.starts_with("/agents/actions/"))
        result = run_agent_action(*store_, rest.ends_with("/connect"), *filter, context);
    else
        result = run_threat_action(*store_, rest.substr(9), *filter, data, context);
    if (result.status != 200) return error_response(result.status, result.error_detail);
    http_response r;
    r.body = std::move(result.body);
    return r;
}

}  // namespace s1sim
