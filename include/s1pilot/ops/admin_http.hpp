#pragma once
// The admin listener's requests as pure code (DESIGN.md §7): which route a request names, the
// bearer token check (constant time), the webhook body, and the JSON refusals. No sockets: the
// listener (admin_listener.hpp) reads and writes; this decides.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace s1pilot::ops {

/// A request as read off the wire (the listener enforces the size limits before this).
struct admin_request {
    std::string method;  ///< GET, POST, ...
    std::string target;  ///< path and query
    std::string authorization;
    std::string content_type;
    std::string body;
};

struct admin_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< e.g. Allow, WWW-Authenticate
};

/// `{"error": message, "status": status}`, with the headers a client of that status expects.
admin_response json_error(int status, std::string_view message);

enum class route_kind { healthz, readyz, metrics, status, events, run_playbook };

struct admin_route {
    route_kind kind = route_kind::healthz;
    std::string playbook;  ///< run_playbook
    bool wait = false;     ///< `?wait=true`: answer with the run reports
    /// events: the ids (never empty); run_playbook: given ids restrict the run, absent: whole.
    std::optional<std::vector<std::string>> threat_ids;
};

/// At most this many ids in one event (one action call's filter is built from them).
inline constexpr std::size_t max_event_ids = 1000;

/// The route `request` names, or the refusal to send: 404 (no such route), 405 (wrong method,
/// with Allow), 401 (a POST without the right bearer token, or POST routes without a configured
/// token), 400 (a body that is not the expected JSON, a bad query). `token` empty: no admin token
/// is configured, and every POST is refused.
std::variant<admin_route, admin_response> route_request(const admin_request& request, std::string_view token);

/// `Authorization: Bearer <token>` against `token`, in time independent of where they differ.
bool bearer_matches(std::string_view authorization, std::string_view token);

/// `{"threatIds": ["…", …]}`: 1..max_event_ids ids, each a decimal id (a JSON string or a
/// non-negative integer). The ids, or the problem for a 400.
std::variant<std::vector<std::string>, std::string> parse_threat_ids(std::string_view body);

}  // namespace s1pilot::ops
