#include "s1pilot/policy/retry.hpp"

#include <algorithm>
#include <cmath>

namespace s1pilot::policy {

std::string_view to_string(outcome o) noexcept {
    switch (o) {
        case outcome::success: return "success";
        case outcome::not_sent: return "not_sent";
        case outcome::certificate: return "certificate";
        case outcome::throttled: return "throttled";
        case outcome::server_error: return "server_error";
        case outcome::lost_after_send: return "lost_after_send";
        case outcome::client_error: return "client_error";
        case outcome::local_error: return "local_error";
    }
    return "unknown";
}

retry_budget::retry_budget(steady_time now, double ratio, double minimum_per_second, double max_balance)
    : ratio_(ratio),
      minimum_per_second_(minimum_per_second),
      max_balance_(max_balance),
      balance_(max_balance),
      last_(now) {}

void retry_budget::refill(steady_time now) {
    if (now <= last_) return;
    double seconds = std::chrono::duration<double>(now - last_).count();
    balance_ = std::min(max_balance_, balance_ + seconds * minimum_per_second_);
    last_ = now;
}

void retry_budget::on_first_attempt() {
    balance_ = std::min(max_balance_, balance_ + ratio_);
}

bool retry_budget::try_withdraw(steady_time now) {
    refill(now);
    if (balance_ < 1.0) return false;
    balance_ -= 1.0;
    return true;
}

double retry_budget::balance(steady_time now) {
    refill(now);
    return balance_;
}

std::chrono::milliseconds backoff_delay(const retry_settings& settings, int failures, double unit_random) {
    using std::chrono::milliseconds;
    failures = std::max(failures, 1);
    // base * 2^(failures-1), computed without overflow: past the cap, doubling changes nothing.
    double ceiling = static_cast<double>(settings.base.count());
    for (int i = 1; i < failures && ceiling < static_cast<double>(settings.cap.count()); ++i) ceiling *= 2;
    ceiling = std::min(ceiling, static_cast<double>(settings.cap.count()));
    unit_random = std::clamp(unit_random, 0.0, 1.0);
    return milliseconds{static_cast<milliseconds::rep>(std::floor(ceiling * unit_random))};
}

decision decide(const retry_settings& settings, outcome what, int attempt, bool idempotent,
                std::optional<std::chrono::milliseconds> retry_after, double unit_random, retry_budget& budget,
                steady_time now) {
    auto give_up_or_retry = [&](std::chrono::milliseconds delay, std::string_view why) -> decision {
        if (attempt >= settings.max_attempts) return {next_step::fail, {}, "attempts exhausted"};
        if (!budget.try_withdraw(now)) return {next_step::fail, {}, "retry budget exhausted"};
        return {next_step::retry, delay, why};
    };
    switch (what) {
        case outcome::success: return {next_step::done, {}, "success"};
        case outcome::certificate: return {next_step::fail, {}, "certificate verification failed; never retried"};
        case outcome::client_error: return {next_step::fail, {}, "rejected by the console; not retried"};
        case outcome::local_error: return {next_step::fail, {}, "local failure; not retried"};
        case outcome::not_sent:
            return give_up_or_retry(backoff_delay(settings, attempt, unit_random), "nothing was sent; retrying");
        case outcome::throttled: {
            auto delay =
                retry_after ? std::min(*retry_after, settings.cap) : backoff_delay(settings, attempt, unit_random);
            return give_up_or_retry(delay, "throttled (429)");
        }
        case outcome::server_error:
        case outcome::lost_after_send:
            if (!idempotent) return {next_step::reconcile, {}, "effect unknown; reconcile before resending"};
            return give_up_or_retry(backoff_delay(settings, attempt, unit_random), "read failed; retrying");
    }
    return {next_step::fail, {}, "unknown outcome"};
}

}  // namespace s1pilot::policy
