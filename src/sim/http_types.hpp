#pragma once
// Requests and responses as plain structs: the simulator's logic (routes, actions, faults, rate
// limits) never sees Asio or Beast, so it compiles fast and is tested without sockets.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1sim {

struct http_request {
    std::string method;  ///< GET, POST, PUT...
    std::string path;    ///< without the query, not percent-decoded
    std::string query;   ///< after `?`, raw
    std::string body;
    std::string authorization;  ///< the Authorization header, as received
    /// CLOCK_MONOTONIC nanoseconds when the server had read the request's headers (0: not read
    /// from a socket). Journaled for benchmarks that time a client on the same clock.
    std::int64_t received_ns = 0;
    /// The TLS version the connection negotiated (`TLSv1.3`); empty when not read from a socket.
    std::string tls_version{};
};

/// What the server should do with a request, beyond answering it.
enum class disposition : std::uint8_t {
    answer,  ///< write the response (after `delay`, trickled when `slow_body_pause` > 0, padded to `pad_body_to`)
    reset,   ///< fault: close the connection with a TCP reset; the request was not acted on
    drop_after_apply,  ///< fault: the request was acted on; close without answering (the ambiguous case)
};

struct http_response {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type and X-RQID
    std::string rqid;
    disposition action = disposition::answer;
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds slow_body_pause{0};  ///< pause between body pieces (slow body fault)
    std::size_t slow_body_chunk = 1;               ///< bytes per piece
    /// Huge body fault: the body is padded with spaces to this many bytes and sent chunked.
    std::size_t pad_body_to = 0;
};

/// The API's error body: `{"errors":[{"code":…,"detail":…,"title":…}]}`; an empty detail is null.
std::string error_body(int code, std::string_view title, std::string_view detail = {});

/// A response with the API's error body for `status` (400, 401, 403, 404, 405, 413, 429, 500,
/// 502, 503) and the console's code and title for it.
http_response error_response(unsigned status, std::string_view detail = {});

}  // namespace s1sim
