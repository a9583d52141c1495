#pragma once
// The console's rate limits as token buckets: one for reads (GET), one for writes (POST). A
// request over the limit is answered 429 with Retry-After. Time is passed in (steady clock), so
// the buckets are tested without sleeping.

#include "s1pilot/core/time.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace s1sim {

class token_bucket {
public:
    using time_point = std::chrono::steady_clock::time_point;

    token_bucket() = default;
    /// `rate` tokens per second, at most `burst` stored; starts full. rate 0 = unlimited.
    token_bucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

    /// Takes a token if one is there; else returns how long until one will be.
    std::optional<std::chrono::microseconds> take(time_point now);
    bool unlimited() const noexcept { return rate_ <= 0; }
    double rate() const noexcept { return rate_; }
    double burst() const noexcept { return burst_; }

private:
    double rate_ = 0, burst_ = 0, tokens_ = 0;
    std::optional<time_point> last_;
};

struct rate_limit_config {
    double read_rate = 0, read_burst = 0;  ///< 0 = unlimited
    double write_rate = 0, write_burst = 0;
    bool retry_after_http_date = false;  ///< Retry-After as an HTTP-date instead of seconds
};

/// Parses `read=10/s,write=100/s`, each optionally `:burst=N` (default: one second's worth, at
/// least 1); `retry_after=date` answers Retry-After as an HTTP-date. The error names the bad item.
std::optional<rate_limit_config> parse_rate_limits(std::string_view spec, std::string& error);

/// The two buckets of one console.
class rate_limiter {
public:
    explicit rate_limiter(const rate_limit_config& c = {});
    /// For a request of that class (write = POST/PUT/DELETE): nullopt to let it through, or the
    /// wait after which a token will be there.
    std::optional<std::chrono::microseconds> admit(bool write, token_bucket::time_point now);
    const rate_limit_config& config() const noexcept { return config_; }

private:
    rate_limit_config config_;
    token_bucket read_, write_;
};

/// Retry-After in whole seconds, rounded up (at least 1).
std::string retry_after_seconds(std::chrono::microseconds wait);
/// An HTTP-date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) of `t`, rounded down to the second.
std::string http_date(s1pilot::core::timestamp t);

}  // namespace s1sim
