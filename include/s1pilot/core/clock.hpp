#pragma once
// Clock injection: everything that asks "what time is it" takes a clock, so tests of
// schedules, backoff and relative filter times run instantly and deterministically.

#include "s1pilot/core/time.hpp"

#include <chrono>

namespace s1pilot::core {

class clock {
public:
    virtual ~clock() = default;
    /// Wall-clock time, for timestamps sent to the API and written to the audit log.
    virtual timestamp now() const = 0;
    /// Monotonic time, for deadlines, rate limits and intervals.
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

/// The real clocks.
class system_clock final : public clock {
public:
    timestamp now() const override;
    std::chrono::steady_clock::time_point steady_now() const override;
};

/// A clock that moves only when told: for tests.
class manual_clock final : public clock {
public:
    explicit manual_clock(timestamp start) : wall_(start) {}
    timestamp now() const override { return wall_; }
    std::chrono::steady_clock::time_point steady_now() const override { return steady_; }
    void advance(std::chrono::microseconds d) {
        wall_ += d;
        steady_ += d;
    }
    void set(timestamp t) { wall_ = t; }

private:
    timestamp wall_;
    std::chrono::steady_clock::time_point steady_{};
};

}  // namespace s1pilot::core
