// Confirmations in the ledger: an accepted action is done and followed in one transaction, due
// checks come back soonest first, what a check found is kept, counts per playbook (the contract,
// on every backend), and an SQLite ledger of schema 1 is migrated to hold them.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "ledger_contract.hpp"

using namespace s1pilot;
using namespace std::chrono_literals;

namespace {

const core::timestamp start = test::ledger_test_start;

state::action_row row(std::string threat, std::string playbook = "contain") {
    return {std::move(playbook), "mitigate:kill", std::move(threat), "r-000007", "b3", R"({"console":"prod"})"};
}

class LedgerConfirmations : public test::ledger_contract {};

}  // namespace

S1PILOT_LEDGER_CONTRACT(LedgerConfirmations);

TEST_P(LedgerConfirmations, AnAcceptedActionIsDoneAndFollowedInOneStep) {
    ASSERT_TRUE(ledger_->mark_pending({row("t1"), row("t2")}));
    ASSERT_TRUE(ledger_->mark_sent({row("t1"), row("t2")}, start + 2s, start + 15min));
    const auto entry = ledger_->find("contain", "mitigate:kill", "t1").value();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->status, state::action_status::done);
    // Done for exactly-once: nothing is left to send.
    const auto left = ledger_->remaining("contain", {"mitigate:kill"}, {"t1", "t2"}, std::nullopt).value();
    EXPECT_TRUE(left[0].to_do.empty());
    EXPECT_TRUE(left[0].pending.empty());
    EXPECT_EQ(ledger_->count_confirmations("contain").value(), (state::confirmation_counts{2, 0, 0, 0}));
    EXPECT_EQ(ledger_->next_confirmation_check().value(), start + 2s);
}

TEST_P(LedgerConfirmations, DueChecksComeSoonestFirstAndWhatTheyFoundIsKept) {
    ASSERT_TRUE(ledger_->mark_sent({row("late")}, start + 30s, start + 15min));
    ASSERT_TRUE(ledger_->mark_sent({row("soon")}, start + 2s, start + 15min));
    EXPECT_TRUE(ledger_->confirmations_due(start + 1s, 10).value().empty());
    auto due = ledger_->confirmations_due(start + 1min, 10).value();
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[0].row.threat_id, "soon");
    EXPECT_EQ(due[0].sent_at, start);
    EXPECT_EQ(due[0].confirm_by, start + 15min);
    EXPECT_EQ(due[0].row.detail, R"({"console":"prod"})");
    EXPECT_EQ(due[0].state, state::confirmation_state::sent);

    due[0].state = state::confirmation_state::confirmed;
    due[0].last_status = "success";
    due[0].checks = 1;
    due[1].last_status = "pending";
    due[1].agent_offline = true;
    due[1].checks = 1;
    due[1].next_check = start + 5min;
    ASSERT_TRUE(ledger_->update_confirmations(due));
    const auto again = ledger_->confirmations_due(start + 10min, 10).value();
    ASSERT_EQ(again.size(), 1u) << "a confirmed one is no longer checked";
    EXPECT_EQ(again[0].row.threat_id, "late");
    EXPECT_EQ(again[0].last_status, "pending");
    EXPECT_TRUE(again[0].agent_offline);
    EXPECT_EQ(again[0].checks, 1);
    EXPECT_EQ(ledger_->count_confirmations("").value(), (state::confirmation_counts{1, 1, 0, 0}));
    EXPECT_EQ(ledger_->count_confirmations("other").value(), (state::confirmation_counts{}));
}

TEST_P(LedgerConfirmations, CountsEveryStateAndTheLimitBoundsAPass) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ledger_->mark_sent({row("t" + std::to_string(i))}, start, start + 1min));
    auto due = ledger_->confirmations_due(start, 3).value();
    EXPECT_EQ(due.size(), 3u);
    due[0].state = state::confirmation_state::confirmed_failed;
    due[1].state = state::confirmation_state::unconfirmed;
    due[2].state = state::confirmation_state::confirmed;
    ASSERT_TRUE(ledger_->update_confirmations(due));
    EXPECT_EQ(ledger_->count_confirmations("contain").value(), (state::confirmation_counts{2, 1, 1, 1}));
}

TEST_P(LedgerConfirmations, ARedoneActionStartsANewFollowUp) {
    ASSERT_TRUE(ledger_->mark_sent({row("t1")}, start + 2s, start + 1min));
    auto due = ledger_->confirmations_due(start + 1h, 10).value();
    due[0].state = state::confirmation_state::unconfirmed;
    ASSERT_TRUE(ledger_->update_confirmations(due));
    ASSERT_TRUE(ledger_->mark_sent({row("t1")}, start + 2h, start + 3h));
    EXPECT_EQ(ledger_->count_confirmations("contain").value(), (state::confirmation_counts{1, 0, 0, 0}));
}

TEST(LedgerConfirmationsSchema, ALedgerOfSchemaOneIsMigratedToFollowConfirmations) {
    s1pilot::test::temp_dir dir;
    const auto path = dir.path() / "old.db";
    {
        // Schema 1 as the previous release wrote it, with one done row.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        const char* sql = R"sql(
            CREATE TABLE actions (playbook TEXT NOT NULL, action_key TEXT NOT NULL, threat_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')), run_id TEXT NOT NULL,
                batch_id TEXT NOT NULL, attempt INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT '',
                reason TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL,
                PRIMARY KEY (playbook, action_key, threat_id)) WITHOUT ROWID;
            CREATE INDEX actions_pending ON actions (playbook, action_key, threat_id) WHERE status = 'pending';
            CREATE TABLE runs (run_id TEXT PRIMARY KEY, playbook TEXT NOT NULL, started_at INTEGER NOT NULL,
                ended_at INTEGER, outcome TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
            CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO counters (name, value) VALUES ('run_id', 3);
            INSERT INTO actions VALUES ('contain', 'mitigate:kill', 't1', 'done', 'r-000003', 'b-1', 1, '', '', 0);
            PRAGMA user_version = 1; PRAGMA application_id = 1395740752;
        )sql";
        ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        sqlite3_close(db);
    }
    core::manual_clock clock{start};
    auto ledger = state::sqlite_ledger::open(path, clock);
    ASSERT_TRUE(ledger) << ledger.error().message;
    EXPECT_EQ((*ledger)->find("contain", "mitigate:kill", "t1").value()->status, state::action_status::done);
    EXPECT_EQ((*ledger)->next_run_id().value(), "r-000004");
    ASSERT_TRUE((*ledger)->mark_sent({row("t2")}, start, start + 1min));
    EXPECT_EQ((*ledger)->count_confirmations("").value().sent, 1u);
}
