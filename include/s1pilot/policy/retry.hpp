#pragma once
// Whether and when to try a call again (DESIGN.md §5), as pure functions: the caller classifies
// what happened, asks `decide`, and does what it says. Randomness and time come in as values.

#include "s1pilot/core/time.hpp"
#include "s1pilot/policy/rate_limiter.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace s1pilot::policy {

struct retry_settings {
    int max_attempts = 5;                   ///< tries per call, the first included
    std::chrono::milliseconds base{500};    ///< first backoff ceiling
    std::chrono::milliseconds cap{30'000};  ///< no backoff ceiling above this; caps Retry-After too
};

/// What happened to one attempt.
enum class outcome : std::uint8_t {
    success,          ///< a 2xx answer
    not_sent,         ///< DNS failure, refused, connect or TLS handshake timeout: nothing reached the console
    certificate,      ///< the peer's certificate or host name did not verify
    throttled,        ///< 429
    server_error,     ///< 5xx: the request was read; its effect is unknown
    lost_after_send,  ///< reset or timeout after the request was written: its effect is unknown
    client_error,     ///< any other 4xx: the request is wrong and will stay wrong
    local_error,      ///< our side failed (bad URL, response too large, unparseable answer)
};

std::string_view to_string(outcome o) noexcept;

enum class next_step : std::uint8_t {
    done,       ///< success: nothing more to do
    retry,      ///< send again after `delay`
    reconcile,  ///< a write whose effect is unknown: read the state before deciding to resend
    fail,       ///< give up; `reason` says why
};

struct decision {
    next_step step;
    std::chrono::milliseconds delay{0};
    std::string_view reason;  ///< for logs and the audit record; static text
};

/// A retry budget per console (the "token bucket of retries"): each first attempt earns
/// `ratio` of a retry, and `minimum_per_second` retries are always allowed, so an outage does
/// not multiply traffic by max_attempts.
class retry_budget {
public:
    explicit retry_budget(steady_time now, double ratio = 0.2, double minimum_per_second = 2, double max_balance = 20);
    void on_first_attempt();
    /// Takes one retry from the budget if there is one.
    bool try_withdraw(steady_time now);
    double balance(steady_time now);

private:
    void refill(steady_time now);
    double ratio_;
    double minimum_per_second_;
    double max_balance_;
    double balance_;
    steady_time last_;
};

/// Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(failures-1))].
/// `failures` counts failed attempts so far (1 after the first); `unit_random` is in [0, 1).
std::chrono::milliseconds backoff_delay(const retry_settings& settings, int failures, double unit_random);

/// The decision after attempt number `attempt` (1-based) ended with `what`. `idempotent` is
/// true for reads (GET), which are simply retried where a write must be reconciled first.
/// `retry_after` is the parsed Retry-After of a 429, if any. The budget is consulted (and
/// drawn from) only when the answer would be to retry.
decision decide(const retry_settings& settings, outcome what, int attempt, bool idempotent,
                std::optional<std::chrono::milliseconds> retry_after, double unit_random, retry_budget& budget,
                steady_time now);

/// Parses a Retry-After header: delta-seconds (`2`) or an HTTP-date (`Sun, 06 Nov 1994
/// 08:49:37 GMT`) relative to `now`. Negative or garbage values give nullopt (the caller
/// backs off instead); a date in the past gives zero.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view header, core::timestamp now);

}  // namespace s1pilot::policy
