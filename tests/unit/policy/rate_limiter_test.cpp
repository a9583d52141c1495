#include "s1pilot/policy/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

using namespace s1pilot::policy;
using namespace std::chrono_literals;

namespace {

// Sends `count` requests as fast as the limiter allows; returns the send times.
std::vector<steady_time> drain(rate_limiter& limiter, steady_time& now, int count) {
    std::vector<steady_time> sent;
    for (int i = 0; i < count; ++i) {
        now += limiter.reserve(now);
        sent.push_back(now);
    }
    return sent;
}

}  // namespace

TEST(RateLimiter, AllowsTheBurstThenTheRate) {
    steady_time now{};
    rate_limiter limiter({.rate = 5, .burst = 10}, now);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.reserve(now), 0ns) << i;
    EXPECT_EQ(limiter.reserve(now), 200ms);
    EXPECT_EQ(limiter.reserve(now), 400ms);
}

TEST(RateLimiter, NeverExceedsTheConfiguredRateOverAnyWindow) {
    steady_time now{};
    rate_limiter limiter({.rate = 50, .burst = 50}, now);
    auto sent = drain(limiter, now, 5000);
    // Any window of length w holds at most burst + rate * w requests.
    for (std::size_t i = 0; i + 100 < sent.size(); i += 37) {
        auto window = sent[i + 100] - sent[i];
        double allowed = 50 + 50 * std::chrono::duration<double>(window).count();
        EXPECT_LE(101, allowed + 1e-6) << "window starting at request " << i;
    }
    double seconds = std::chrono::duration<double>(sent.back() - sent.front()).count();
    EXPECT_NEAR(seconds, (5000 - 50) / 50.0, 0.01);
}

TEST(RateLimiter, ConcurrentCallersKeepTheirPlaceInLine) {
    steady_time now{};
    rate_limiter limiter({.rate = 2, .burst = 1}, now);
    EXPECT_EQ(limiter.reserve(now), 0ms);
    EXPECT_EQ(limiter.reserve(now), 500ms);
    EXPECT_EQ(limiter.reserve(now), 1000ms);
    EXPECT_EQ(limiter.reserve(now + 1000ms), 500ms);  // after the two who waited
}

TEST(RateLimiter, AQuietSpellEarnsAtMostTheBurst) {
    steady_time now{};
    rate_limiter limiter({.rate = 1, .burst = 3}, now);
    now += 1h;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.reserve(now), 0ns);
    EXPECT_EQ(limiter.reserve(now), 1s);
}

TEST(RateLimiter, RetryAfterPausesEveryoneThenResumesWithOneRequest) {
    steady_time now{};
    rate_limiter limiter({.rate = 10, .burst = 10}, now);
    drain(limiter, now, 10);
    limiter.on_throttled(now, 2s);
    EXPECT_EQ(limiter.paused_for(now), 2s);
    EXPECT_EQ(limiter.reserve(now), 2s);  // the first request goes exactly at the pause's end
    auto second = limiter.reserve(now);
    EXPECT_GT(second, 2s);  // and the rest do not burst out after it
    EXPECT_LT(limiter.current_rate(now), 10);
}

TEST(RateLimiter, HugeRetryAfterIsCapped) {
    steady_time now{};
    rate_limiter limiter({.rate = 10, .burst = 10}, now, {.max_pause = 60s});
    limiter.on_throttled(now, std::chrono::milliseconds{999'999'999'000});
    EXPECT_EQ(limiter.paused_for(now), 60s);
}

TEST(RateLimiter, ABurstOf429sLowersTheRateOnce) {
    steady_time now{};
    rate_limiter limiter({.rate = 20, .burst = 20}, now, {.decrease_factor = 0.5});
    for (int i = 0; i < 8; ++i) limiter.on_throttled(now, 1s);
    EXPECT_DOUBLE_EQ(limiter.current_rate(now), 10);
}

TEST(RateLimiter, RecoversGraduallyToTheConfiguredRateAndNoFurther) {
    steady_time now{};
    rate_limiter limiter({.rate = 20, .burst = 20}, now,
                         {.decrease_factor = 0.5, .recovery_interval = 1s, .recovery_step = 0.1});
    limiter.on_throttled(now, 1s);
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 1500ms), 10);  // paused, then half an interval
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 2s), 12);
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 4s), 16);
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 100s), 20);
}

TEST(RateLimiter, NeverDropsBelowTheMinimumFraction) {
    steady_time now{};
    rate_limiter limiter({.rate = 10, .burst = 1}, now, {.decrease_factor = 0.1, .minimum_fraction = 0.2});
    for (int i = 0; i < 10; ++i) {
        limiter.on_throttled(now, 0s);
        now += 1ms;
    }
    EXPECT_DOUBLE_EQ(limiter.current_rate(now), 2);
}

TEST(RateLimiter, PacesTheMarginUnderTheConfiguredRateAndNeverBeyondTheBurst) {
    steady_time now{};
    rate_limiter limiter({.rate = 50, .burst = 50}, now, {.pacing_margin = 0.02});
    const auto sent = drain(limiter, now, 1050);
    // At most the burst goes at once (49 here: the burst is counted at the configured rate, the
    // spacing at the paced one), then 49 a second: the steady spacing is 1/49 s, not 1/50 s.
    for (std::size_t i = 50; i + 1 < sent.size(); ++i) EXPECT_EQ(sent[i + 1] - sent[i], sent[51] - sent[50]);
    const double spacing = std::chrono::duration<double>(sent[51] - sent[50]).count();
    EXPECT_NEAR(spacing, 1.0 / 49.0, 1e-6);
    const double seconds = std::chrono::duration<double>(sent.back() - sent.front()).count();
    EXPECT_NEAR(seconds, (1050 - 49) / 49.0, 0.01);
    EXPECT_EQ(std::count(sent.begin(), sent.end(), sent.front()), 49);
}

TEST(RateLimiter, AfterA429ItResumesAtTheRetryAfterAndRecoversWithinSeconds) {
    // The defaults s1pilot runs with: resume at 85 %, +15 % of the rate a second, 2 % margin.
    steady_time now{};
    rate_limiter limiter({.rate = 50, .burst = 50}, now,
                         {.decrease_factor = 0.85, .recovery_step = 0.15, .pacing_margin = 0.02});
    limiter.on_throttled(now, 2s);
    EXPECT_EQ(limiter.paused_for(now), 2s);
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 2s), 49 * 0.85);  // 85 % of the paced rate
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 3s), 49);         // one second after the pause: back to the pace
    std::string curve;
    for (std::chrono::milliseconds t = 2s; t <= 5s; t += 500ms) {
        const double rate = limiter.current_rate(now + t);
        curve += std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) + "ms " +
                 std::to_string(rate) + "/s; ";
    }
    std::printf("rate after a 429 with Retry-After: 2 at 50/s: %s\n", curve.c_str());
}

namespace {

// The console's side: a token bucket that answers 429 with Retry-After in whole seconds, rounded
// up, as s1sim's --rate-limit does.
struct console_bucket {
    double rate, burst, tokens;
    steady_time last{};
    std::optional<std::chrono::seconds> take(steady_time now) {
        tokens = std::min(burst, tokens + std::chrono::duration<double>(now - last).count() * rate);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return std::nullopt;
        }
        return std::chrono::seconds{static_cast<long>(std::max(1.0, std::ceil((1 - tokens) / rate)))};
    }
};

}  // namespace

TEST(RateLimiter, SettlesJustUnderAConsoleThatTakesFewerThanConfigured) {
    // RELIABILITY row 5, without sockets: configured for 20/s with the shipped adaptation, against
    // a console that takes 5/s (burst 5). One caller sends 150 writes one after the other, each
    // answered 5 ms after it left; a 429 is retried after its Retry-After.
    steady_time now{};
    rate_limiter limiter({.rate = 20, .burst = 20}, now,
                         {.decrease_factor = 0.85, .recovery_step = 0.15, .probe_step = 0.02, .pacing_margin = 0.02});
    console_bucket console{5, 5, 5, now};
    std::vector<std::pair<steady_time, bool>> sent;  // when, and whether it was throttled
    for (int applied = 0; applied < 150;) {
        now += limiter.reserve(now);
        const auto refused = console.take(now);
        sent.emplace_back(now, refused.has_value());
        now += 5ms;
        if (refused) {
            limiter.on_throttled(now, *refused);
            now += *refused;
        } else {
            limiter.on_accepted();
            ++applied;
        }
    }
    const auto warm = sent.front().first + 5s;
    int total = 0, throttled = 0, applied = 0;
    for (const auto& [at, refused] : sent) {
        if (at < warm) continue;
        ++total;
        throttled += refused;
        applied += !refused;
    }
    const double rate = applied / std::chrono::duration<double>(sent.back().first - warm).count();
    std::printf("console 5/s, configured 20/s: after 5 s, %d of %d throttled, %.2f applied a second\n", throttled,
                total, rate);
    EXPECT_LT(throttled, total / 20);  // under 5 %
    EXPECT_GE(rate, 4.5);              // at least 90 % of what the console takes
    ASSERT_TRUE(limiter.measured());
    EXPECT_NEAR(*limiter.measured(), 5, 1);
}

TEST(RateLimiter, AboveTheMeasuredRateItRecoversSlowlyThenForgetsTheMeasureAtTheConfiguredRate) {
    steady_time now{};
    rate_limiter limiter({.rate = 20, .burst = 1}, now,
                         {.decrease_factor = 0.5, .recovery_interval = 1s, .recovery_step = 0.15, .probe_step = 0.02});
    limiter.on_throttled(now, 1s);  // nothing accepted yet, so no measure: 20 becomes 10
    EXPECT_FALSE(limiter.measured());
    for (int i = 0; i < 5; ++i) {  // busy: sent at 1.0, 1.1, ... 1.4 s, all accepted
        now += limiter.reserve(now);
        limiter.on_accepted();
    }
    now += 100ms;
    limiter.on_throttled(now, 1s);  // 5 taken in the 1.5 s since the last 429
    ASSERT_TRUE(limiter.measured());
    EXPECT_NEAR(*limiter.measured(), 10.0 / 3, 1e-9);
    EXPECT_NEAR(limiter.current_rate(now + 1s), 10.0 / 3, 1e-9);                   // the measure, not half of 10
    EXPECT_NEAR(limiter.current_rate(now + 3s), 10.0 / 3 * (1 + 2 * 0.02), 1e-9);  // then 2 % of it a second
    EXPECT_DOUBLE_EQ(limiter.current_rate(now + 1000s), 20);                       // and all the way back
    EXPECT_FALSE(limiter.measured());
}

TEST(RateLimiter, WhatTheConsoleTookWhileTheCallersLeftItIdleIsNoMeasure) {
    steady_time now{};
    rate_limiter limiter({.rate = 20, .burst = 1}, now, {.decrease_factor = 0.85});
    limiter.reserve(now);
    limiter.on_accepted();
    now += 1h;  // idle: a caller could send at once, the count starts again
    for (int i = 0; i < 4; ++i) {
        now += limiter.reserve(now);
        limiter.on_accepted();
    }
    now += 50ms;
    limiter.on_throttled(now, 1s);
    ASSERT_TRUE(limiter.measured());
    EXPECT_NEAR(*limiter.measured(), 4 / 0.2, 0.01);  // 4 in 0.15 s of pacing plus 50 ms, not 5 in an hour
    EXPECT_NEAR(limiter.current_rate(now + 1s), 20 * 0.85, 0.01);
}
