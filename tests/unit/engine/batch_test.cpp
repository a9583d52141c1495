// The batch state machine, transition by transition, with made-up answers and reads: no
// sockets, no clock.

#include "s1pilot/engine/batch.hpp"

#include <gtest/gtest.h>

namespace s1pilot::engine {
namespace {

using ids = std::vector<std::string>;

batch_facts three(int attempts = 1, int max_attempts = 3) {
    batch_facts b;
    b.threats = {"1", "2", "3"};
    b.targets = 3;
    b.attempts = attempts;
    b.max_attempts = max_attempts;
    return b;
}

s1::action_response affected(std::int64_t n) {
    s1::action_response r;
    r.affected = n;
    return r;
}

post_answer ok(const s1::action_response& r) {
    return {s1::call_status::success, &r, {}};
}

// --- after a POST -----------------------------------------------------------------------------

TEST(batch_decide_answer, affected_equal_to_the_targets_without_details_is_done) {
    const auto r = affected(3);
    const auto step = decide(three(), ok(r));
    EXPECT_EQ(step.done, (ids{"1", "2", "3"}));
    EXPECT_TRUE(step.settled());
}

TEST(batch_decide_answer, affected_zero_without_details_is_never_done_it_is_read_back) {
    const auto r = affected(0);
    const auto step = decide(three(), ok(r));
    EXPECT_TRUE(step.done.empty());
    EXPECT_EQ(step.reconcile, (ids{"1", "2", "3"}));
    EXPECT_EQ(step.why, "the console affected 0 of 3 targets");
}

TEST(batch_decide_answer, affected_lower_than_the_targets_reconciles_the_whole_batch_never_resends_blindly) {
    const auto r = affected(2);
    const auto step = decide(three(), ok(r));
    EXPECT_TRUE(step.done.empty());
    EXPECT_TRUE(step.resend.empty());
    EXPECT_EQ(step.reconcile, (ids{"1", "2", "3"}));
}

TEST(batch_decide_answer, isolate_compares_affected_with_the_agents_posted_not_the_threats) {
    auto b = three();
    b.targets = 2;  // three threats on two agents
    const auto r = affected(2);
    EXPECT_EQ(decide(b, ok(r)).done, (ids{"1", "2", "3"}));
    const auto fewer = affected(1);
    EXPECT_EQ(decide(b, ok(fewer)).reconcile, (ids{"1", "2", "3"}));
}

TEST(batch_decide_answer, details_decide_per_threat_skipped_failed_and_done) {
    s1::action_response r = affected(1);
    r.details = {{"1", "", {{"remediate", "not_supported"}}}, {"2", "missing_permissions", {}}, {"3", "updated", {}}};
    const auto step = decide(three(), ok(r));
    EXPECT_EQ(step.done, (ids{"3"}));
    EXPECT_EQ(step.skipped.at("remediate: not_supported"), (ids{"1"}));
    EXPECT_EQ(step.failed.at("missing_permissions"), (ids{"2"}));
    EXPECT_TRUE(step.settled());
}

TEST(batch_decide_answer, threats_details_leave_out_are_judged_by_affected) {
    s1::action_response r = affected(1);
    r.details = {{"1", "updated", {}}};
    const auto step = decide(three(), ok(r));
    EXPECT_EQ(step.done, (ids{"1"}));
    EXPECT_EQ(step.reconcile, (ids{"2", "3"}));
}

TEST(batch_decide_answer, a_2xx_with_errors_is_an_unknown_outcome) {
    s1::action_response r = affected(3);
    r.errors = {{4000010, "Validation Error", "bad"}};
    const auto step = decide(three(), ok(r));
    EXPECT_EQ(step.reconcile, (ids{"1", "2", "3"}));
    EXPECT_EQ(step.why, "the answer reported errors: Validation Error (4000010): bad");
}

TEST(batch_decide_answer, a_definite_failure_fails_every_threat_with_the_calls_error) {
    const auto step = decide(three(), post_answer{s1::call_status::failed, nullptr, "HTTP 400"});
    EXPECT_EQ(step.failed.at("HTTP 400"), (ids{"1", "2", "3"}));
    EXPECT_TRUE(step.settled());
}

TEST(batch_decide_answer, an_unknown_outcome_reconciles_every_threat) {
    const auto step = decide(three(), post_answer{s1::call_status::reconcile_needed, nullptr, "reset"});
    EXPECT_EQ(step.reconcile, (ids{"1", "2", "3"}));
    EXPECT_EQ(step.why, "reset");
}

TEST(batch_decide_answer, target_filter_cannot_be_read_per_threat_so_an_unknown_outcome_gives_up) {
    batch_facts b;
    b.threats = {"run:r-000001"};
    b.targets = 1;
    b.per_threat = false;
    const auto step = decide(b, post_answer{s1::call_status::reconcile_needed, nullptr, "timeout"});
    EXPECT_TRUE(step.reconcile.empty());
    EXPECT_EQ(step.give_up, (ids{"run:r-000001"}));
    const auto none = affected(0);
    EXPECT_EQ(decide(b, ok(none)).give_up, (ids{"run:r-000001"}));
    const auto some = affected(12);
    EXPECT_EQ(decide(b, ok(some)).done, (ids{"run:r-000001"}));
}

// --- after a read -----------------------------------------------------------------------------

threats_read read_of(ids done, ids absent, ids unknown) {
    return {true, {}, reconcile_split{std::move(done), std::move(absent), std::move(unknown)}};
}

TEST(batch_decide_read, present_is_done_absent_is_resent_not_found_stays_pending) {
    const auto step = decide(three(1, 3), read_of({"1"}, {"2"}, {"3"}));
    EXPECT_EQ(step.done, (ids{"1"}));
    EXPECT_EQ(step.resend, (ids{"2"}));
    EXPECT_EQ(step.pending, (ids{"3"}));
    EXPECT_TRUE(step.give_up.empty());
}

TEST(batch_decide_read, absent_after_the_last_allowed_send_is_given_up) {
    const auto step = decide(three(3, 3), read_of({}, {"1", "2"}, {}));
    EXPECT_TRUE(step.resend.empty());
    EXPECT_EQ(step.give_up, (ids{"1", "2"}));
    EXPECT_TRUE(step.settled());
}

TEST(batch_decide_read, the_cap_counts_sends_before_a_restart_too) {
    // Two sends before the restart (kept in the ledger) and one since: the cap of 3 is reached.
    const auto step = decide(three(3, 3), read_of({}, {"3"}, {}));
    EXPECT_EQ(step.give_up, (ids{"3"}));
}

TEST(batch_decide_read, a_batch_that_cannot_resend_gives_up_what_is_absent) {
    auto b = three(1, 5);
    b.can_resend = false;  // the playbook or the action is gone
    const auto step = decide(b, read_of({"1"}, {"2", "3"}, {}));
    EXPECT_EQ(step.done, (ids{"1"}));
    EXPECT_EQ(step.give_up, (ids{"2", "3"}));
}

TEST(batch_decide_read, a_failed_read_leaves_everything_pending_and_sends_nothing) {
    const auto step = decide(three(), threats_read{false, "HTTP 503", {}});
    EXPECT_EQ(step.pending, (ids{"1", "2", "3"}));
    EXPECT_EQ(step.why, "reading the threats failed: HTTP 503");
    EXPECT_TRUE(step.settled());
}

}  // namespace
}  // namespace s1pilot::engine
