#include "s1pilot/policy/retry.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace s1pilot::policy;
using namespace std::chrono_literals;

TEST(Backoff, TwoThousandForcedFailuresStayWithinFullJitterBounds) {
    retry_settings settings{.max_attempts = 5, .base = 500ms, .cap = 30s};
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    bool saw_small = false, saw_near_cap = false;
    for (int i = 0; i < 2000; ++i) {
        int failures = 1 + i % 40;
        auto delay = backoff_delay(settings, failures, unit(rng));
        double ceiling = std::min(30000.0, 500.0 * std::pow(2.0, failures - 1));
        EXPECT_GE(delay.count(), 0) << failures;
        EXPECT_LE(static_cast<double>(delay.count()), ceiling) << failures;
        saw_small |= delay < 100ms;
        saw_near_cap |= delay > 25s;
    }
    EXPECT_TRUE(saw_small);  // jitter spans the whole range, not just the top
    EXPECT_TRUE(saw_near_cap);
}

TEST(Backoff, ExtremeInputsDoNotOverflow) {
    retry_settings settings{.max_attempts = 5, .base = 500ms, .cap = 30s};
    EXPECT_EQ(backoff_delay(settings, 1, 0.5), 250ms);
    EXPECT_EQ(backoff_delay(settings, 3, 0.5), 1000ms);
    EXPECT_EQ(backoff_delay(settings, 1'000'000, 0.999999), 29999ms);
    EXPECT_EQ(backoff_delay(settings, 0, 1.0), 500ms);
}

class Decide : public ::testing::Test {
protected:
    retry_settings settings{.max_attempts = 3, .base = 100ms, .cap = 5s};
    steady_time now{};
    retry_budget budget{now};
    decision run(outcome what, int attempt, bool idempotent, std::optional<std::chrono::milliseconds> after = {}) {
        return decide(settings, what, attempt, idempotent, after, 0.5, budget, now);
    }
};

TEST_F(Decide, FollowsTheFailureTableOfTheDesign) {
    EXPECT_EQ(run(outcome::success, 1, false).step, next_step::done);
    EXPECT_EQ(run(outcome::not_sent, 1, false).step, next_step::retry);
    EXPECT_EQ(run(outcome::certificate, 1, true).step, next_step::fail);
    EXPECT_EQ(run(outcome::throttled, 1, false).step, next_step::retry);
    EXPECT_EQ(run(outcome::server_error, 1, true).step, next_step::retry);
    EXPECT_EQ(run(outcome::server_error, 1, false).step, next_step::reconcile);
    EXPECT_EQ(run(outcome::lost_after_send, 1, true).step, next_step::retry);
    EXPECT_EQ(run(outcome::lost_after_send, 1, false).step, next_step::reconcile);
    EXPECT_EQ(run(outcome::client_error, 1, true).step, next_step::fail);
    EXPECT_EQ(run(outcome::local_error, 1, true).step, next_step::fail);
}

TEST_F(Decide, StopsAtMaxAttempts) {
    EXPECT_EQ(run(outcome::not_sent, 2, true).step, next_step::retry);
    auto d = run(outcome::not_sent, 3, true);
    EXPECT_EQ(d.step, next_step::fail);
    EXPECT_EQ(d.reason, "attempts exhausted");
}

TEST_F(Decide, HonoursRetryAfterCappedAtTheRetryCap) {
    EXPECT_EQ(run(outcome::throttled, 1, false, 2s).delay, 2s);
    EXPECT_EQ(run(outcome::throttled, 1, false, 3600s).delay, 5s);
    EXPECT_EQ(run(outcome::throttled, 1, false).delay, 50ms);  // no header: backoff (0.5 * 100ms)
}

TEST(RetryBudget, LimitsRetriesDuringAnOutageAndRefills) {
    steady_time now{};
    retry_budget budget(now, 0.2, 2, 10);
    int granted = 0;
    for (int i = 0; i < 100; ++i) {
        budget.on_first_attempt();
        granted += budget.try_withdraw(now) ? 1 : 0;
    }
    EXPECT_LE(granted, 10 + 20 + 1);  // the starting balance plus 0.2 per first attempt
    EXPECT_GE(granted, 10);
    EXPECT_FALSE(budget.try_withdraw(now));
    now += 1s;
    EXPECT_TRUE(budget.try_withdraw(now));  // the minimum per second comes back
}

TEST(RetryAfter, ParsesSecondsAndHttpDates) {
    auto now = *s1pilot::core::parse_timestamp("2026-11-21T09:14:03Z");
    EXPECT_EQ(parse_retry_after("2", now), 2s);
    EXPECT_EQ(parse_retry_after(" 120 ", now), 120s);
    EXPECT_EQ(parse_retry_after("Sat, 21 Nov 2026 09:14:05 GMT", now), 2s);
    EXPECT_EQ(parse_retry_after("Sat, 21 Nov 2026 09:00:00 GMT", now), 0s);  // in the past
    EXPECT_EQ(parse_retry_after("99999999999999", now), std::chrono::milliseconds{999'999'999'000});
}

TEST(RetryAfter, AnHttpDateIsNeverWaitedForLessThanItSays) {
    // A date has whole seconds; the clock has microseconds. Rounding the wait down would send the
    // retry up to a millisecond before the console said it may come.
    auto now = *s1pilot::core::parse_timestamp("2026-11-21T09:14:02.999500Z");
    EXPECT_EQ(parse_retry_after("Sat, 21 Nov 2026 09:14:05 GMT", now), 2001ms);
    now = *s1pilot::core::parse_timestamp("2026-11-21T09:14:03.000001Z");
    EXPECT_EQ(parse_retry_after("Sat, 21 Nov 2026 09:14:05 GMT", now), 2000ms);
}

TEST(RetryAfter, GarbageAndNegativeFallBackToBackoff) {
    auto now = *s1pilot::core::parse_timestamp("2026-11-21T09:14:03Z");
    for (auto bad : {"", "-1", "1.5", "soon", "2s", "Sat, 21 Nov 2026 09:14:05 UTC", "Sat, 32 Nov 2026 09:14:05 GMT",
                     "Saturday, 21-Nov-26 09:14:05 GMT"})
        EXPECT_FALSE(parse_retry_after(bad, now)) << bad;
}
