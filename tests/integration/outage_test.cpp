// A console that fails or throttles for a long while, black-box (RELIABILITY rows 4 and 5), with
// `s1pilot run` and `once` against s1sim; the rest of the Faults suite is in faults_test.cpp.
//
// Row 4, the retry budget: s1sim answers 503 to everything for 15 s in the middle of the work,
// then heals. The retries s1pilot made during the outage, counted in s1sim's journal, stay within
// what the retry budget allows for that time; after the heal the work completes within 10 s,
// each action applied once. Row 5, 429 adaptation: s1sim takes 5 writes a second, s1pilot is
// configured for 20: after a 5 s warm-up, under 5 % of the writes are refused with 429 and at
// least 90 % of 5 a second get through.

#include "s1pilot/config/defaults.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

const std::string kill_path = std::string(api_prefix) + "/threats/mitigate/kill";
const std::string notes_path = std::string(api_prefix) + "/threats/notes";

bool same_request(const journal_entry& a, const journal_entry& b) {
    return a.method == b.method && a.path == b.path && a.query == b.query && a.body == b.body;
}

// Every id has been applied (a POST answered 200) by both actions.
bool all_applied(const std::vector<journal_entry>& posts, const std::vector<std::string>& ids) {
    return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
        return posts_for(posts, kill_path, id, 200) > 0 && posts_for(posts, notes_path, id, 200) > 0;
    });
}

TEST(Faults, RetriesStayWithinTheBudgetDuringAnOutageAndTheWorkCompletesSoonAfter) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const auto fresh = s.fixture_on_fresh_threats("outage.yaml", 20);
    const auto& file = fresh.first;
    const auto& ids = fresh.second;
    ASSERT_EQ(ids.size(), 20u);
    auto console = s.console(5);  // 8 POSTs of 5 threats, one a second at most: still going at the outage
    console.write_limit = "{rate: 5, burst: 1}";
    // Without a budget, every call would try 50 times, 0-200 ms apart: about 10 retries a second.
    const int max_attempts = 50;
    console.retry = "{max_attempts: 50, base: 50ms, cap: 200ms}";
    s.s1pilot.write_config(console, {file});
    auto daemon = s.s1pilot.start({"run", "-c", s.s1pilot.config_path().string()});

    ASSERT_TRUE(wait_until([&] { return !s.sim->posts().empty() || !daemon->running(); }, 60s))
        << "no POST within 60 s\n"
        << daemon->stderr_text();
    const auto outage_from = monotonic_ns();
    s.sim->set_faults("status503=1");
    std::this_thread::sleep_for(15s);       // the outage itself, not a wait for something to happen
    const auto healed_at = monotonic_ns();  // recovery counts from before the heal...
    s.sim->set_faults("");
    const auto outage_to = monotonic_ns();  // ...the outage lasts until after it
    ASSERT_TRUE(daemon->running()) << daemon->stderr_text();
    ASSERT_TRUE(wait_until([&] { return all_applied(s.sim->posts(), ids); }, 60s))
        << "the work did not complete within 60 s of the heal\n"
        << daemon->stderr_text();
    EXPECT_EQ(daemon->stop(SIGTERM), 0) << daemon->stderr_text();

    // The budget: requests refused during the outage are first attempts of calls, or retries. A
    // retry repeats its call's request; the next call never repeats the one before it (each run
    // starts with a GET of its own instant), so calls are the runs of identical requests.
    const auto requests = s.sim->requests();
    std::size_t refused = 0, calls = 0;
    const journal_entry* previous = nullptr;
    for (const auto& r : requests) {
        if (r.fault != "status503") continue;
        ++refused;
        if (previous == nullptr || !same_request(*previous, r)) ++calls;
        previous = &r;
    }
    const std::size_t retries = refused - calls;
    const double outage = seconds(outage_to - outage_from);
    const double allowed = config::defaults::retry_budget_max + config::defaults::retry_budget_per_second * outage +
                           config::defaults::retry_budget_ratio * static_cast<double>(calls);
    std::printf(
        "[row 4] outage %.2f s: %zu requests refused = %zu calls + %zu retries; the budget allows %.1f "
        "(%.0f saved + %.0f/s + %.1f per call); max_attempts alone would allow %zu\n",
        outage, refused, calls, retries, allowed, config::defaults::retry_budget_max,
        config::defaults::retry_budget_per_second, config::defaults::retry_budget_ratio, calls * (max_attempts - 1));
    ASSERT_GE(calls, 2u) << "the outage caught no work: the test is void";
    EXPECT_LE(static_cast<double>(retries), allowed);

    // Recovery: from the heal to the last POST that completed the work.
    const auto posts = s.sim->posts();
    std::int64_t done_at = 0;
    for (const auto& p : posts)
        if (p.status == 200) done_at = std::max(done_at, p.received_ns);
    ASSERT_GT(done_at, healed_at) << "the work was done before the outage ended: the test is void";
    std::printf("[row 4] the work completed %.3f s after s1sim healed (pass: <= 10 s)\n", seconds(done_at - healed_at));
    EXPECT_LE(seconds(done_at - healed_at), 10.0);
    for (const auto& id : ids) {
        SCOPED_TRACE("threat " + id);
        EXPECT_EQ(posts_for(posts, kill_path, id, 200), 1u);
        EXPECT_EQ(posts_for(posts, notes_path, id, 200), 1u);
    }
    const dataset after(s.sim->dump());
    for (const auto& id : ids) EXPECT_EQ(after.notes(id).size(), 1u) << "threat " << id;
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
    s.s1pilot.expect_token_never_written();
}

TEST(Faults, WritesThrottledByTheConsoleSettleAtItsRate) {
    scenario s({.extra_args = {"--rate-limit", "write=5/s"}});
    ASSERT_TRUE(s.sim->started());
    const auto file = s.fixture("paced.yaml");
    auto console = s.console(1);
    console.write_limit = "{rate: 20, burst: 20}";
    console.retry = "{max_attempts: 10, base: 500ms, cap: 10s}";
    s.s1pilot.write_config(console, {file});
    const auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 0) << run.describe();

    const auto posts = s.sim->posts();
    ASSERT_FALSE(posts.empty());
    const auto warm = posts.front().received_ns + 5'000'000'000;
    std::size_t total = 0, throttled = 0, applied = 0, applied_all = 0;
    for (const auto& p : posts) {
        applied_all += p.status == 200;
        if (p.received_ns < warm) continue;
        ++total;
        throttled += p.status == 429;
        applied += p.status == 200;
    }
    ASSERT_GT(total, 50u) << "too few writes after the warm-up to judge";
    const double window = seconds(posts.back().received_ns - warm);
    const double share = static_cast<double>(throttled) / static_cast<double>(total);
    const double rate = static_cast<double>(applied) / window;
    std::printf(
        "[row 5] console 5/s, s1pilot 20/s: %zu writes in %.2f s after a 5 s warm-up, %zu answered 429 "
        "(%.1f %%, pass < 5 %%), %.2f applied a second (pass >= 4.5); %zu writes before it\n",
        total, window, throttled, 100 * share, rate, posts.size() - total);
    EXPECT_LT(share, 0.05);
    EXPECT_GE(rate, 4.5);
    EXPECT_EQ(applied_all, 150u) << "one note per threat";
    s.s1pilot.expect_token_never_written();
}

}  // namespace
}  // namespace s1pilot::integration
