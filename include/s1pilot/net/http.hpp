#pragma once
// One HTTP exchange as the rest of s1pilot sees it: a request, and either a response or a
// classified failure. Asio-free, so that pure code (request builders, parsers, retry logic)
// and their tests do not pay for Asio.

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1pilot::net {

enum class http_method : std::uint8_t { get, post };

std::string_view to_string(http_method m) noexcept;

struct request {
    http_method method = http_method::get;
    std::string target;  ///< origin-form: path and query, e.g. `/web/api/v2.1/threats?limit=10`
    std::string body;    ///< sent with `Content-Type: application/json` when not empty
    /// Extra header fields. Their values never appear in an error message (the API token
    /// travels here).
    std::vector<std::pair<std::string, std::string>> headers;
    /// When set, the whole call ends by then even if the client's own call timeout is longer.
    std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct response {
    unsigned status = 0;
    std::string request_id;   ///< `X-RQID`, empty when absent
    std::string retry_after;  ///< the raw `Retry-After` header, empty when absent
    std::string body;
    bool reused_connection = false;  ///< sent on a kept-alive connection
    std::string tls_version;         ///< as OpenSSL names it, e.g. `TLSv1.3`
};

/// Why no response came back, in the terms retry decisions need (DESIGN.md §5).
enum class failure_kind : std::uint8_t {
    not_sent,         ///< DNS, refused, proxy refusal, connect or handshake timeout: nothing reached the origin
    certificate,      ///< the peer's certificate or host name did not verify: never retry
    lost_after_send,  ///< reset or timeout once the request was (being) written: effect unknown
    local_error,      ///< our side: bad URL, unreadable CA file, response too large or malformed
};

std::string_view to_string(failure_kind k) noexcept;

struct failure {
    failure_kind kind = failure_kind::local_error;
    std::string message;  ///< says what failed and where (host:port, phase); never header values
    /// The request was (at least partly) written: set for every lost_after_send and for a
    /// local_error about the response (too large), whose request the origin may have applied.
    bool request_sent = false;
};

template <class T>
using result = boost::system::result<T, failure>;

/// Lets `result<T>::value()` throw when it holds a failure.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& location);

}  // namespace s1pilot::net
