#pragma once
// The token bucket that paces one (console, read|write) class of calls, and adapts to 429s.
// Pure: the caller passes the steady time in, and sleeps for the duration it gets back.

#include <chrono>
#include <optional>

namespace s1pilot::policy {

using steady_time = std::chrono::steady_clock::time_point;
using std::chrono::nanoseconds;

struct rate_settings {
    double rate = 5;    ///< requests per second; never exceeded
    double burst = 10;  ///< bucket size: requests that may go at once after a quiet spell
};

/// How the limiter slows down on a 429 and speeds up again.
struct adaptation_settings {
    double decrease_factor = 0.7;                       ///< the rate is multiplied by this on each 429
    double minimum_fraction = 0.05;                     ///< the rate never drops below this share of the configured one
    std::chrono::milliseconds recovery_interval{1000};  ///< after this long without a 429 ...
    double recovery_step = 0.05;                        ///< ... the rate grows by this share of the configured rate
    /// Once the console was measured to take less than the configured rate (see on_accepted), the
    /// rate grows quickly only up to that measure; above it, by this share of the measure per
    /// recovery_interval: probing slowly where the last 429 came from.
    double probe_step = 0.02;
    std::chrono::milliseconds default_pause{1000};  ///< pause on a 429 without Retry-After
    std::chrono::milliseconds max_pause{60'000};    ///< Retry-After values above this are capped
    /// Pace this share under the configured rate (0.02: 2 %), so that a console with the same
    /// limit does not see a request land early when the network delays one and not the next.
    double pacing_margin = 0;
};

class rate_limiter {
public:
    rate_limiter(rate_settings configured, steady_time now, adaptation_settings adaptation = {});

    /// Takes one token and says how long to wait before sending (zero: now). Callers that wait
    /// keep their place: slots are reserved in call order, so the configured rate holds for
    /// any number of concurrent callers.
    nanoseconds reserve(steady_time now);

    /// How long a pause from a 429 still holds. A caller that reserved before the 429 and wakes
    /// up inside the pause must reserve again rather than send.
    nanoseconds paused_for(steady_time now) const noexcept;

    /// The console answered a request of this class with anything but 429: it took the request.
    /// Counted while callers keep the limiter busy (a spell in which it could have sent at once
    /// starts the count again), so that a 429 can tell how many requests a second the console
    /// took since the previous one.
    void on_accepted() noexcept { ++accepted_; }

    /// The console answered 429: pause every caller until `retry_after` (capped) or the default
    /// pause, and lower the rate: by `decrease_factor`, and at least to just under what the console
    /// was measured to take since the previous 429 (the requests it accepted over the time they
    /// took, the previous pause included). A burst of 429s from calls that were already in flight
    /// counts once: the rate is lowered at most once per pause.
    void on_throttled(steady_time now, std::optional<std::chrono::milliseconds> retry_after);

    /// The rate in force now (requests per second), after any 429s and recovery.
    double current_rate(steady_time now);

    const rate_settings& configured() const noexcept { return configured_; }
    /// What the console was last measured to take (requests per second), until the rate has
    /// recovered to the configured one; nullopt when there is no measure.
    std::optional<double> measured() const noexcept { return measured_; }

private:
    void recover(steady_time now);
    double ceiling() const noexcept;  // the steady rate: the configured one less the margin
    nanoseconds interval() const;     // time between requests at the current rate
    nanoseconds tolerance() const;    // how far ahead of schedule a burst may run

    // GCRA ("virtual scheduling"): `next_` is the theoretical time of the next request; a
    // request may go once now >= next_ - tolerance. Equivalent to a token bucket of `burst`.
    rate_settings configured_;
    adaptation_settings adaptation_;
    double rate_;
    steady_time next_;
    steady_time last_change_;
    steady_time paused_until_{};
    // The measure: requests accepted since `counted_from_` (the previous 429, or the end of the
    // last spell in which a caller could have sent at once), and its last result.
    steady_time counted_from_;
    long long accepted_ = 0;
    std::optional<double> measured_;
};

}  // namespace s1pilot::policy
