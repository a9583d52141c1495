#include "s1pilot/policy/rate_limiter.hpp"

#include <algorithm>

namespace s1pilot::policy {

rate_limiter::rate_limiter(rate_settings configured, steady_time now, adaptation_settings adaptation)
    : configured_(configured), adaptation_(adaptation), next_(now), last_change_(now) {
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
// rate, up to the configured rate. Applied lazily, in whole intervals, so the result does not
// depend on how often we are asked.
void rate_limiter::recover(steady_time now) {
    if (rate_ >= ceiling() || now < paused_until_) return;
    if (now <= last_change_) return;
    auto steps = (now - last_change_) / adaptation_.recovery_interval;
    if (steps <= 0) return;
    rate_ = std::min(ceiling(), rate_ + static_cast<double>(steps) * adaptation_.recovery_step * configured_.rate);
    last_change_ += steps * adaptation_.recovery_interval;
}

nanoseconds rate_limiter::reserve(steady_time now) {
    recover(now);
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
        rate_ = std::max(configured_.rate * adaptation_.minimum_fraction, rate_ * adaptation_.decrease_factor);
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
