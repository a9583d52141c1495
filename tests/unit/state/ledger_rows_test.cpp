// Row transitions (pending → done | failed, and back), the attempt count, reconciliation's view of
// pending rows, runs, and that a batch is one transaction that carries the database's error when
// it fails: the contract, on every backend.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger_contract.hpp"

using namespace s1pilot;
using namespace std::chrono_literals;
using testing::HasSubstr;

namespace {

const core::timestamp start = test::ledger_test_start;

state::action_row row(std::string threat, std::string action = "mitigate:kill", std::string playbook = "contain") {
    return {std::move(playbook), std::move(action), std::move(threat), "r-000007", "b3", ""};
}

class LedgerRows : public test::ledger_contract {
protected:
    state::ledger_entry entry(const std::string& threat, const std::string& action = "mitigate:kill") {
        auto found = ledger_->find("contain", action, threat).value();
        EXPECT_TRUE(found) << threat;
        return found.value_or(state::ledger_entry{});
    }
};

}  // namespace

S1PILOT_LEDGER_CONTRACT(LedgerRows);

TEST_P(LedgerRows, PendingThenDoneRecordsTimeRunAndAttempt) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    auto pending = entry("t1");
    EXPECT_EQ(pending.status, state::action_status::pending);
    EXPECT_EQ(pending.attempt, 1);
    EXPECT_EQ(pending.updated_at, start);
    EXPECT_EQ(pending.row.run_id, "r-000007");
    EXPECT_EQ(pending.row.batch_id, "b3");

    clock_.advance(2s);
    ASSERT_TRUE(ledger_->mark_done({row("t1")}));
    auto done = entry("t1");
    EXPECT_EQ(done.status, state::action_status::done);
    EXPECT_EQ(done.attempt, 1);
    EXPECT_EQ(done.updated_at, start + 2s);
    EXPECT_TRUE(ledger_->pending().value().empty());
}

TEST_P(LedgerRows, FailedKeepsTheReasonAndIsRetriedWithTheNextAttempt) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    ASSERT_TRUE(ledger_->mark_failed({row("t1")}, "HTTP 400: threat not found"));
    auto failed = entry("t1");
    EXPECT_EQ(failed.status, state::action_status::failed);
    EXPECT_EQ(failed.failure_reason, "HTTP 400: threat not found");

    auto left = ledger_->remaining("contain", {"mitigate:kill"}, {"t1"}, std::nullopt).value();
    EXPECT_EQ(left[0].to_do, std::vector<std::string>{"t1"});

    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    auto retried = entry("t1");
    EXPECT_EQ(retried.attempt, 2);
    EXPECT_EQ(retried.failure_reason, "");
    ASSERT_TRUE(ledger_->mark_done({row("t1")}));
    EXPECT_EQ(entry("t1").attempt, 2);
}

TEST_P(LedgerRows, AttemptRestartsWhenADoneActionIsDueAgain) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    ASSERT_TRUE(ledger_->mark_done({row("t1")}));
    EXPECT_EQ(entry("t1").attempt, 2);
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    EXPECT_EQ(entry("t1").attempt, 1);
}

TEST_P(LedgerRows, DetailIsKeptUnlessReplaced) {
    auto note = row("t1", "note:5f2a");
    note.detail = "Contained by s1pilot playbook contain";
    ASSERT_TRUE(ledger_->mark_pending({note}));
    ASSERT_TRUE(ledger_->mark_done({row("t1", "note:5f2a")}));
    EXPECT_EQ(entry("t1", "note:5f2a").row.detail, "Contained by s1pilot playbook contain");
}

TEST_P(LedgerRows, PendingListsEveryPlaybooksPendingRowsForReconciliation) {
    ASSERT_TRUE(
        ledger_->mark_pending({row("t1"), row("t2"), row("t1", "note:ab"), row("t9", "mitigate:kill", "other")}));
    ASSERT_TRUE(ledger_->mark_done({row("t2")}));
    ASSERT_TRUE(ledger_->mark_failed({row("t1", "note:ab")}, "HTTP 500"));
    auto pending = ledger_->pending().value();
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[0].row.playbook, "contain");
    EXPECT_EQ(pending[0].row.threat_id, "t1");
    EXPECT_EQ(pending[0].row.action_key, "mitigate:kill");
    EXPECT_EQ(pending[1].row.playbook, "other");
    EXPECT_EQ(pending[1].row.threat_id, "t9");
}

TEST_P(LedgerRows, ABatchNamingARowTwiceCountsEachWrite) {
    auto with_detail = row("t1", "note:ab");
    with_detail.detail = "the note";
    ASSERT_TRUE(ledger_->mark_pending({row("t1", "note:ab"), row("t2", "note:ab"), with_detail}));
    EXPECT_EQ(entry("t1", "note:ab").attempt, 2);
    EXPECT_EQ(entry("t1", "note:ab").row.detail, "the note");
    EXPECT_EQ(entry("t2", "note:ab").attempt, 1);
    ASSERT_TRUE(ledger_->mark_done({row("t1", "note:ab"), row("t1", "note:ab")}));
    EXPECT_EQ(entry("t1", "note:ab").status, state::action_status::done);
    EXPECT_EQ(entry("t1", "note:ab").row.detail, "the note");
}

TEST_P(LedgerRows, AnEmptyBatchIsANoOp) {
    EXPECT_TRUE(ledger_->mark_pending({}));
    EXPECT_TRUE(ledger_->pending().value().empty());
}

TEST_P(LedgerRows, RunsAreRecordedAndUpdated) {
    auto id = ledger_->next_run_id().value();
    EXPECT_EQ(id, "r-000001");
    state::run_record run{id, "contain", start, std::nullopt, "running", ""};
    ASSERT_TRUE(ledger_->record_run(run));
    auto stored = ledger_->find_run(id).value();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->outcome, "running");
    EXPECT_FALSE(stored->ended_at);

    run.ended_at = start + 3s;
    run.outcome = "ok";
    run.summary = R"({"done":3})";
    ASSERT_TRUE(ledger_->record_run(run));
    stored = ledger_->find_run(id).value();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->ended_at, start + 3s);
    EXPECT_EQ(stored->started_at, start);
    EXPECT_EQ(stored->summary, R"({"done":3})");
    EXPECT_FALSE(ledger_->find_run("r-999999").value());
}

TEST_P(LedgerRows, AFailingBatchLeavesNoRowAndCarriesTheDatabasesMessage) {
    // A trigger added behind the ledger's back makes the second row of the batch fail.
    poison();
    auto marked = ledger_->mark_pending({row("t1"), row("poison"), row("t3")});
    ASSERT_FALSE(marked);
    EXPECT_EQ(marked.error().code, state::errc::database_error);
    EXPECT_THAT(marked.error().message, HasSubstr(storage_name()));
    EXPECT_THAT(marked.error().message, HasSubstr("marking 3 row(s) pending: poisoned row"));
    EXPECT_FALSE(ledger_->find("contain", "mitigate:kill", "t1").value());
    EXPECT_TRUE(ledger_->pending().value().empty());
    // The connection is usable again after the rollback.
    EXPECT_TRUE(ledger_->mark_pending({row("t1")}));
}

TEST_P(LedgerRows, AFailingApplyWritesNothingOfAnyOfItsWrites) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1")}));
    poison();
    using kind = state::row_write::kind;
    auto applied = ledger_->apply(
        {{kind::done, {row("t1")}, {}, {}, {}}, {kind::pending, {row("t2"), row("poison")}, {}, {}, {}}});
    ASSERT_FALSE(applied);
    EXPECT_EQ(entry("t1").status, state::action_status::pending);
    EXPECT_FALSE(ledger_->find("contain", "mitigate:kill", "t2").value());
    EXPECT_EQ(ledger_->count_rows().value(), (state::row_counts{1, 0, 0}));
}

TEST_P(LedgerRows, RunIdsArePersistedAndMonotonicAcrossReopening) {
    EXPECT_EQ(ledger_->next_run_id().value(), "r-000001");
    EXPECT_EQ(ledger_->next_run_id().value(), "r-000002");
    ledger_.reset();
    auto again = open();
    ASSERT_TRUE(again) << again.error().message;
    // Unique and increasing; SQLite reserves ids in blocks, so a reopening may skip some.
    EXPECT_GT((*again)->next_run_id().value(), "r-000002");
}

TEST(LedgerError, ValueOnAnErrorThrowsWithTheMessage) {
    core::manual_clock clock{start};
    auto ledger = state::sqlite_ledger::open("/nonexistent-dir/state.db", clock);
    ASSERT_FALSE(ledger);
    EXPECT_THROW((void)ledger.value(), std::runtime_error);
}

TEST_P(LedgerRows, ApplyWritesABatchsResultsAndTheNextIntentInOneTransaction) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1"), row("t2"), row("t3")}));
    clock_.advance(1s);
    using kind = state::row_write::kind;
    const std::vector<state::row_write> writes{
        {kind::done, {row("t1")}, {}, {}, {}},
        {kind::failed, {row("t2")}, "HTTP 400", {}, {}},
        {kind::sent, {row("t3")}, {}, start + 5s, start + 15min},
        {kind::pending, {row("t4"), row("t5")}, {}, {}, {}},
    };
    ASSERT_TRUE(ledger_->apply(writes));
    EXPECT_EQ(entry("t1").status, state::action_status::done);
    EXPECT_EQ(entry("t2").status, state::action_status::failed);
    EXPECT_EQ(entry("t2").failure_reason, "HTTP 400");
    EXPECT_EQ(entry("t3").status, state::action_status::done);
    EXPECT_EQ(entry("t4").status, state::action_status::pending);
    EXPECT_EQ(entry("t5").attempt, 1);
    EXPECT_EQ(entry("t5").updated_at, start + 1s);
    EXPECT_EQ(ledger_->count_confirmations("contain").value().sent, 1u);
    EXPECT_EQ(ledger_->count_rows().value(), (state::row_counts{2, 2, 1}));
    EXPECT_TRUE(ledger_->apply({}));
}
