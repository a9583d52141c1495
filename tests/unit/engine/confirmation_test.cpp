// Confirmation decisions, with made-up reads: which entry confirms a mitigation, what a failed or
// partial one means, isolation by the agent's network status, an offline agent, the deadline, and
// the follow-up's backoff.

#include "s1pilot/engine/confirmation.hpp"

#include <gtest/gtest.h>

namespace s1pilot::engine {
namespace {

using namespace std::chrono_literals;
using state::confirmation_state;

const core::timestamp t0 = *core::parse_timestamp("2026-03-01T12:00:00Z");

effect kill() {
    effect e;
    e.what = effect::kind::mitigation;
    e.mitigation = s1::mitigation_action::kill;
    return e;
}

s1::threat_record with_entries(std::vector<s1::mitigation_entry> entries) {
    s1::threat_record t;
    t.id = 101;
    t.mitigations = std::move(entries);
    return t;
}

s1::mitigation_entry entry(s1::mitigation_action a, s1::mitigation_result r) {
    return {a, r, std::nullopt};
}

TEST(confirmation, only_mitigations_and_isolation_are_followed) {
    EXPECT_TRUE(needs_confirmation(kill()));
    effect isolate;
    isolate.what = effect::kind::isolate;
    EXPECT_TRUE(needs_confirmation(isolate));
    effect note;
    note.what = effect::kind::note;
    EXPECT_FALSE(needs_confirmation(note));
    effect incident;
    incident.what = effect::kind::incident;
    EXPECT_FALSE(needs_confirmation(incident));
}

TEST(confirmation, a_pending_entry_waits_a_success_confirms_a_failure_or_partial_is_confirmed_failed) {
    using s1::mitigation_action;
    using s1::mitigation_result;
    const auto pending = with_entries({entry(mitigation_action::kill, mitigation_result::pending)});
    auto c = judge_confirmation(kill(), &pending, nullptr, t0, t0 + 15min);
    EXPECT_EQ(c.state, confirmation_state::sent);
    EXPECT_EQ(c.last_status, "pending");
    const auto success = with_entries({entry(mitigation_action::kill, mitigation_result::success)});
    EXPECT_EQ(judge_confirmation(kill(), &success, nullptr, t0, t0 + 15min).state, confirmation_state::confirmed);
    const auto failed = with_entries({entry(mitigation_action::kill, mitigation_result::failed)});
    c = judge_confirmation(kill(), &failed, nullptr, t0, t0 + 15min);
    EXPECT_EQ(c.state, confirmation_state::confirmed_failed);
    EXPECT_EQ(c.last_status, "failed");
    const auto partial = with_entries({entry(mitigation_action::kill, mitigation_result::partial)});
    EXPECT_EQ(judge_confirmation(kill(), &partial, nullptr, t0, t0 + 15min).state,
              confirmation_state::confirmed_failed);
}

TEST(confirmation, only_an_entry_beyond_the_baseline_counts_and_another_actions_entry_never_does) {
    using s1::mitigation_action;
    using s1::mitigation_result;
    // An older kill, since undone, succeeded; ours is the second and still pending.
    const auto t = with_entries({entry(mitigation_action::kill, mitigation_result::success),
                                 entry(mitigation_action::quarantine, mitigation_result::success),
                                 entry(mitigation_action::kill, mitigation_result::pending)});
    const mitigation_baseline before{1, std::nullopt};
    EXPECT_EQ(judge_confirmation(kill(), &t, &before, t0, t0 + 15min).state, confirmation_state::sent);
    const auto no_kill = with_entries({entry(mitigation_action::quarantine, mitigation_result::success)});
    const auto c = judge_confirmation(kill(), &no_kill, nullptr, t0, t0 + 15min);
    EXPECT_EQ(c.state, confirmation_state::sent);
    EXPECT_EQ(c.last_status, "no entry yet");
}

TEST(confirmation, isolation_is_confirmed_when_the_agent_is_disconnected) {
    effect isolate;
    isolate.what = effect::kind::isolate;
    s1::threat_record t;
    t.network = s1::network_status::disconnecting;
    auto c = judge_confirmation(isolate, &t, nullptr, t0, t0 + 15min);
    EXPECT_EQ(c.state, confirmation_state::sent);
    EXPECT_EQ(c.last_status, "disconnecting");
    t.network = s1::network_status::disconnected;
    EXPECT_EQ(judge_confirmation(isolate, &t, nullptr, t0, t0 + 15min).state, confirmation_state::confirmed);
}

TEST(confirmation, still_waiting_at_the_deadline_is_unconfirmed_with_what_was_seen_last) {
    auto t = with_entries({entry(s1::mitigation_action::kill, s1::mitigation_result::pending)});
    t.agent_active = false;
    const auto c = judge_confirmation(kill(), &t, nullptr, t0 + 15min, t0 + 15min);
    EXPECT_EQ(c.state, confirmation_state::unconfirmed);
    EXPECT_EQ(c.last_status, "pending");
    EXPECT_TRUE(c.agent_offline);
    const auto gone = judge_confirmation(kill(), nullptr, nullptr, t0 + 16min, t0 + 15min);
    EXPECT_EQ(gone.state, confirmation_state::unconfirmed);
    EXPECT_EQ(gone.last_status, "not returned by the console");
}

TEST(confirmation, the_follow_up_backs_off_from_two_seconds_to_a_minute_and_reads_once_more_at_the_deadline) {
    const auto by = t0 + 15min;
    EXPECT_EQ(next_confirmation_check(0, t0, by), t0 + 2s);
    EXPECT_EQ(next_confirmation_check(1, t0, by), t0 + 4s);
    EXPECT_EQ(next_confirmation_check(4, t0, by), t0 + 32s);
    EXPECT_EQ(next_confirmation_check(5, t0, by), t0 + 60s);
    EXPECT_EQ(next_confirmation_check(30, t0, by), t0 + 60s);
    EXPECT_EQ(next_confirmation_check(3, by - 5s, by), by);
}

}  // namespace
}  // namespace s1pilot::engine
