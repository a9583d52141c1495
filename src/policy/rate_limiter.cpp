#include "s1pilot/policy/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace s1pilot::policy {

rate_limiter::rate_limiter(rate_settings configured, steady_time now, adaptation_settings adaptation)
    : configured_(configured), adaptation_(adaptation), next_(now), last_change_(now), counted_from_(now) {
    configured_.rate = std::max(configured_.rate, 1e-3);
    configured_.burst = std::max(configured_.burst, 1.0);
    adaptation_.pacing_margin = std::clamp(adaptation_.pacing_margin, 0.0, 0.5);
    rate_ = ceiling();
}

double rate_limiter::ceiling() const noexcept {
    return configured_.rate * (1.0 - adaptation_.pacing_margin);
}

nanoseconds rate_limiter::interval() const {
    return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(1.0 / rate_));
}

nanoseconds rate_limiter::tolerance() const {
    // The burst is counted at the configured rate, so a lowered rate does not shrink it.
    return std::chrono::duration_cast<nanoseconds>(
        std::chrono::duration<double>((configured_.burst - 1.0) / configured_.rate));
}

// Additive increase: every recovery_interval without a 429 adds recovery_step of the configured
// rate, up to the configured rate, or, when the console was measured to take less, up to just
// under that measure and from there probe_step of the measure. Applied lazily, in whole
// intervals, so the result does not depend on how often we are asked.
void rate_limiter::recover(steady_time now) {
    if (rate_ >= ceiling() || now < paused_until_) return;
    if (now <= last_change_) return;
    auto steps = (now - last_change_) / adaptation_.recovery_interval;
    if (steps <= 0) return;
    last_change_ += steps * adaptation_.recovery_interval;
    auto left = static_cast<double>(steps);
    const double fast_limit =
        measured_ ? std::min(ceiling(), *measured_ * (1.0 - adaptation_.pacing_margin)) : ceiling();
    const double fast_step = adaptation_.recovery_step * configured_.rate;
    if (rate_ < fast_limit) {
        const double needed = fast_step > 0 ? std::ceil((fast_limit - rate_) / fast_step) : left;
        rate_ = std::min(fast_limit, rate_ + std::min(left, needed) * fast_step);
        left -= std::min(left, needed);
    }
    if (measured_ && left > 0) rate_ = std::min(ceiling(), rate_ + left * adaptation_.probe_step * *measured_);
    if (rate_ >= ceiling()) measured_.reset();  // back where it started: the measure has served
}

nanoseconds rate_limiter::reserve(steady_time now) {
    recover(now);
    // Nothing owed: this caller could go at once, so the callers were not keeping the limiter
    // busy. What the console accepted so far says nothing of its limit; count from here.
    if (next_ <= now && now >= paused_until_) {
        counted_from_ = now;
        accepted_ = 0;
    }
    auto send_at = std::max({now, paused_until_, next_ - tolerance()});
    next_ = std::max(next_, send_at) + interval();
    return send_at - now;
}

nanoseconds rate_limiter::paused_for(steady_time now) const noexcept {
    return now < paused_until_ ? paused_until_ - now : nanoseconds{0};
}

void rate_limiter::on_throttled(steady_time now, std::optional<std::chrono::milliseconds> retry_after) {
    auto pause = retry_after ? std::min(*retry_after, adaptation_.max_pause) : adaptation_.default_pause;
    pause = std::max(pause, std::chrono::milliseconds{0});
    bool already_paused = now < paused_until_;
    paused_until_ = std::max(paused_until_, now + pause);
    if (!already_paused) {
        double lowered = rate_ * adaptation_.decrease_factor;
        if (accepted_ > 0 && now > counted_from_) {
            // Busy since counted_from_: the console took this many a second, its bucket emptied.
            measured_ = static_cast<double>(accepted_) / std::chrono::duration<double>(now - counted_from_).count();
            lowered = std::min(lowered, *measured_ * (1.0 - adaptation_.pacing_margin));
        }
        rate_ = std::max(configured_.rate * adaptation_.minimum_fraction, lowered);
        counted_from_ = now;
        accepted_ = 0;
    }
    // After the pause the console's bucket is nearly empty: resume with one request, then the
    // (lowered) rate, not a burst.
    next_ = std::max(next_, paused_until_ + tolerance());
    last_change_ = paused_until_;
}

double rate_limiter::current_rate(steady_time now) {
    recover(now);
    return rate_;
}

}  // namespace s1pilot::policy
