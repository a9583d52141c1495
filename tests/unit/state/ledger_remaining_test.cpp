// What is left to do: per action, in the caller's order, with cooldown measured on the injected
// clock, pending rows kept apart for reconciliation, and exact answers at 20,000 ids: the
// contract, on every backend.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger_contract.hpp"

using namespace s1pilot;
using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::IsEmpty;

namespace {

const core::timestamp start = test::ledger_test_start;

state::action_row row(std::string threat, std::string action = "mitigate:kill", std::string playbook = "contain") {
    return {std::move(playbook), std::move(action), std::move(threat), "r-000001", "b1", ""};
}

class LedgerRemaining : public test::ledger_contract {
protected:
    std::vector<state::remaining_action> remaining(const std::vector<std::string>& actions,
                                                   const std::vector<std::string>& ids,
                                                   std::optional<std::chrono::milliseconds> cooldown = std::nullopt) {
        auto left = ledger_->remaining("contain", actions, ids, cooldown);
        EXPECT_TRUE(left) << left.error().message;
        return left ? *left : std::vector<state::remaining_action>{};
    }
};

}  // namespace

S1PILOT_LEDGER_CONTRACT(LedgerRemaining);

TEST_P(LedgerRemaining, EverythingIsToDoInTheGivenOrderWithoutDuplicates) {
    auto left = remaining({"mitigate:kill", "note:ab"}, {"t3", "t1", "t3", "t2"});
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].action_key, "mitigate:kill");
    EXPECT_THAT(left[0].to_do, ElementsAre("t3", "t1", "t2"));
    EXPECT_EQ(left[1].action_key, "note:ab");
    EXPECT_THAT(left[1].to_do, ElementsAre("t3", "t1", "t2"));
    EXPECT_THAT(left[1].pending, IsEmpty());
}

TEST_P(LedgerRemaining, DoneFailedAndPendingAreSortedPerActionAndPlaybook) {
    ASSERT_TRUE(ledger_->mark_done({row("t1"), row("t2", "note:ab"), row("t3", "mitigate:kill", "other")}));
    ASSERT_TRUE(ledger_->mark_failed({row("t2")}, "HTTP 500"));
    ASSERT_TRUE(ledger_->mark_pending({row("t3")}));
    auto left = remaining({"mitigate:kill", "note:ab"}, {"t1", "t2", "t3"});
    EXPECT_THAT(left[0].to_do, ElementsAre("t2"));
    EXPECT_THAT(left[0].pending, ElementsAre("t3"));
    EXPECT_THAT(left[1].to_do, ElementsAre("t1", "t3"));
    EXPECT_THAT(left[1].pending, IsEmpty());
}

TEST_P(LedgerRemaining, CooldownCountsOnTheInjectedClock) {
    ASSERT_TRUE(ledger_->mark_done({row("t1")}));
    clock_.advance(std::chrono::duration_cast<std::chrono::microseconds>(7 * 24h) - 1us);
    EXPECT_THAT(remaining({"mitigate:kill"}, {"t1"}, 7 * 24h)[0].to_do, IsEmpty());
    clock_.advance(1us);
    EXPECT_THAT(remaining({"mitigate:kill"}, {"t1"}, 7 * 24h)[0].to_do, ElementsAre("t1"));
    // Without a cooldown a done action stays done for ever.
    clock_.advance(24h * 3650);
    EXPECT_THAT(remaining({"mitigate:kill"}, {"t1"})[0].to_do, IsEmpty());
}

TEST_P(LedgerRemaining, PendingIsNeverDueWhateverTheCooldown) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    clock_.advance(24h * 30);
    auto left = remaining({"mitigate:kill"}, {"t1"}, 1h);
    EXPECT_THAT(left[0].to_do, IsEmpty());
    EXPECT_THAT(left[0].pending, ElementsAre("t1"));
}

TEST_P(LedgerRemaining, NoIdsOrNoActionsGiveEmptyAnswers) {
    EXPECT_THAT(remaining({}, {"t1"}), IsEmpty());
    auto left = remaining({"mitigate:kill"}, {});
    ASSERT_EQ(left.size(), 1u);
    EXPECT_THAT(left[0].to_do, IsEmpty());
}

TEST_P(LedgerRemaining, TwentyThousandIdsAreAnsweredExactly) {
    auto& ledger = ledger_;
    auto& clock = clock_;
    // Not a multiple of the lookup chunk, so the last partial chunk is exercised.
    constexpr int count = 20'011;
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) ids.push_back(fmt::format("{}", 1'800'000'000'000'000'000LL + i * 7));

    std::vector<state::action_row> done_kill, pending_note, done_note_old;
    for (int i = 0; i < count; ++i) {
        if (i % 3 == 0) done_kill.push_back(row(ids[i]));
        if (i % 5 == 0) pending_note.push_back(row(ids[i], "note:ab"));
        if (i % 7 == 0 && i % 5 != 0) done_note_old.push_back(row(ids[i], "note:ab"));
    }
    ASSERT_TRUE(ledger->mark_done(done_note_old));
    clock.advance(48h);
    ASSERT_TRUE(ledger->mark_done(done_kill));
    ASSERT_TRUE(ledger->mark_pending(pending_note));
    // Another playbook's rows for the same ids must not count.
    std::vector<state::action_row> other;
    for (int i = 0; i < count; ++i) other.push_back(row(ids[i], "mitigate:kill", "other"));
    ASSERT_TRUE(ledger->mark_done(other));

    auto left = ledger->remaining("contain", {"mitigate:kill", "note:ab"}, ids, 24h).value();
    ASSERT_EQ(left.size(), 2u);
    std::vector<std::string> kill_to_do, note_to_do, note_pending;
    for (int i = 0; i < count; ++i) {
        if (i % 3 != 0) kill_to_do.push_back(ids[i]);
        if (i % 5 == 0)
            note_pending.push_back(ids[i]);
        else
            note_to_do.push_back(ids[i]);  // never done, or done 48 h ago with a 24 h cooldown
    }
    EXPECT_EQ(left[0].to_do, kill_to_do);
    EXPECT_THAT(left[0].pending, IsEmpty());
    EXPECT_EQ(left[1].to_do, note_to_do);
    EXPECT_EQ(left[1].pending, note_pending);
}
