#pragma once
// The outcome of one API call after its retries, with every attempt, for the audit log
// (DESIGN.md §4 step 4, §5). And the pure pieces of the retry loop: classifying an attempt
// and keeping the API token out of every message. Asio-free.

#include "s1pilot/net/http.hpp"
#include "s1pilot/policy/retry.hpp"
#include "s1pilot/s1/responses.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::s1 {

enum class call_status : std::uint8_t {
    success,           ///< the value is set
    failed,            ///< definitely not done (refused, 4xx, retries exhausted before anything was applied)
    reconcile_needed,  ///< a write whose effect is unknown: read the state before deciding to resend
};

std::string_view to_string(call_status s) noexcept;

/// One attempt of a call, as the audit log records it.
struct attempt_record {
    int number = 1;  ///< 1-based
    policy::outcome outcome = policy::outcome::success;
    unsigned http_status = 0;               ///< 0 when no response came
    std::string request_id;                 ///< X-RQID of the response
    std::chrono::milliseconds waited{0};    ///< rate-limit and backoff wait before it was sent
    std::chrono::milliseconds duration{0};  ///< from send to answer or failure
    std::string error;                      ///< empty on success; never contains the token
};

struct call_error {
    /// core::errc::empty_filter / invalid_filter (refused, nothing sent), api_error (the
    /// console said no), bad_response (an answer that is not the API's); empty for transport
    /// failures, which `outcome` describes.
    boost::system::error_code code;
    policy::outcome outcome = policy::outcome::local_error;
    std::string message;  ///< what failed, for logs and the audit; never contains the token
    std::vector<api_error> api_errors;
};

template <class T>
struct call_result {
    call_status status = call_status::failed;
    std::optional<T> value;  ///< set when status is success
    call_error error;        ///< set otherwise
    net::http_method method = net::http_method::get;
    std::string target;  ///< path and query
    std::vector<attempt_record> attempts;

    bool ok() const noexcept { return status == call_status::success; }
    /// Of the last attempt; 0 when none answered.
    unsigned http_status() const noexcept { return attempts.empty() ? 0 : attempts.back().http_status; }
    std::string request_id() const { return attempts.empty() ? std::string() : attempts.back().request_id; }
};

/// How one attempt ended, in the terms of policy::decide.
struct classified {
    policy::outcome outcome = policy::outcome::success;
    std::optional<std::chrono::milliseconds> retry_after;  ///< from a 429
    std::string message;                                   ///< empty on success
    std::vector<api_error> api_errors;
};

/// Maps a transport result to an outcome: 2xx success, 429 throttled (with Retry-After parsed
/// against `now`), 5xx server_error, other statuses client_error; transport failures by kind.
/// The message names the method, path (without query) and the API's errors.
classified classify(const net::result<net::response>& r, net::http_method method, std::string_view target,
                    core::timestamp now);

/// Replaces every occurrence of `secret` in `text` by `[redacted]`. The console may echo what
/// it was sent; s1pilot's messages must never carry the token (RELIABILITY.md 13).
std::string redact(std::string text, std::string_view secret);

}  // namespace s1pilot::s1
