// Opening the ledger: schema creation, reopening, a killed writer, a newer schema refused (the
// contract, on every backend); and SQLite's own: WAL, locking, read-only opening, and refusing
// files that are not (or not yet) an s1pilot ledger, each with a message an operator can act on.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger_contract.hpp"

using namespace s1pilot;
using namespace std::chrono_literals;
using testing::HasSubstr;

namespace {

core::manual_clock test_clock() {
    return core::manual_clock{*core::parse_timestamp("2026-03-01T12:00:00Z")};
}

// Runs SQL on the file behind the ledger's back, as another program (or an attacker) would.
void raw_exec(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << text;
}

std::string raw_pragma(const std::filesystem::path& path, const std::string& pragma) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &statement, nullptr);
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW) value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
}

state::action_row row(std::string threat) {
    return {"contain", "mitigate:kill", std::move(threat), "r-000001", "b1", ""};
}

}  // namespace

class LedgerOpening : public test::ledger_contract {};
S1PILOT_LEDGER_CONTRACT(LedgerOpening);

TEST_P(LedgerOpening, CreatesTheLatestSchemaThatPassesTheIntegrityCheck) {
    EXPECT_EQ(schema_version(), latest_schema_version());
    EXPECT_GE(latest_schema_version(), 3);
    auto checked = ledger_->integrity_check();
    EXPECT_TRUE(checked) << checked.error().message;
    EXPECT_EQ(ledger_->count_rows().value(), (state::row_counts{}));
}

TEST_P(LedgerOpening, ReopeningKeepsRowsAndRunIds) {
    EXPECT_EQ(ledger_->next_run_id().value(), "r-000001");
    EXPECT_EQ(ledger_->next_run_id().value(), "r-000002");
    ASSERT_TRUE(ledger_->mark_done({row("t1")}));
    ASSERT_TRUE(ledger_->mark_pending({row("t2")}));
    ledger_.reset();
    auto reopened = open();
    ASSERT_TRUE(reopened) << reopened.error().message;
    ledger_ = std::move(*reopened);
    EXPECT_EQ(schema_version(), latest_schema_version());
    // Unique and increasing; SQLite reserves ids in blocks, so a reopening may skip some.
    EXPECT_GT(ledger_->next_run_id().value(), "r-000002");
    auto done = ledger_->find("contain", "mitigate:kill", "t1").value();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, state::action_status::done);
    auto pending = ledger_->pending().value();
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].row.threat_id, "t2");
}

TEST_P(LedgerOpening, AKilledProcessLeavesItsPendingRows) {
    ledger_.reset();  // the child is the only writer, as the daemon would be
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto ledger = open();
        if (!ledger || !(*ledger)->mark_pending({row("t1"), row("t2")})) _exit(1);
        raise(SIGKILL);  // no destructor, no close: as if the daemon was killed right before the POST
        _exit(2);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    auto ledger = open();
    ASSERT_TRUE(ledger) << ledger.error().message;
    auto pending = (*ledger)->pending().value();
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[0].attempt, 1);
    EXPECT_TRUE((*ledger)->integrity_check());
}

TEST_P(LedgerOpening, ANewerSchemaIsRefusedAndLeftUntouched) {
    ledger_.reset();
    stamp_schema_version(99);
    for (int attempt = 0; attempt < 2; ++attempt) {  // the second sees 99 again: nothing was changed
        auto ledger = open();
        ASSERT_FALSE(ledger);
        EXPECT_EQ(ledger.error().code, state::errc::newer_schema);
        EXPECT_THAT(ledger.error().message, HasSubstr(storage_name()));
        EXPECT_THAT(ledger.error().message,
                    HasSubstr("has schema version 99, but this s1pilot understands versions up to " +
                              std::to_string(latest_schema_version())));
        EXPECT_THAT(ledger.error().message, HasSubstr("upgrade s1pilot"));
    }
}

TEST(LedgerOpen, AnSqliteLedgerUsesWal) {
    test::temp_dir dir;
    auto clock = test_clock();
    auto ledger = state::sqlite_ledger::open(dir / "state.db", clock);
    ASSERT_TRUE(ledger) << ledger.error().message;
    EXPECT_EQ(raw_pragma(dir / "state.db", "journal_mode"), "wal");
}

TEST(LedgerOpen, ASecondWriterIsRefusedUntilTheFirstCloses) {
    test::temp_dir dir;
    auto clock = test_clock();
    auto first = state::sqlite_ledger::open(dir / "state.db", clock);
    ASSERT_TRUE(first);
    auto second = state::sqlite_ledger::open(dir / "state.db", clock);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, state::errc::in_use);
    EXPECT_THAT(second.error().message,
                HasSubstr("is in use by another s1pilot process (pid " + std::to_string(getpid())));
    EXPECT_THAT(second.error().message, HasSubstr((dir / "state.db").string()));

    // A reader (s1pilot plan) may look while the daemon holds the ledger.
    ASSERT_TRUE((*first)->mark_done({row("t1")}));
    auto reader = state::sqlite_ledger::open(dir / "state.db", clock, {.read_only = true});
    ASSERT_TRUE(reader) << reader.error().message;
    EXPECT_TRUE((*reader)->find("contain", "mitigate:kill", "t1").value());
    EXPECT_FALSE((*reader)->mark_done({row("t2")}));

    first->reset();
    EXPECT_TRUE(state::sqlite_ledger::open(dir / "state.db", clock));
}

TEST(LedgerOpen, AFileThatIsNotADatabaseIsRefusedClearly) {
    test::temp_dir dir;
    auto path = dir / "state.db";
    std::ofstream(path) << std::string(4096, 'x');
    auto clock = test_clock();
    auto ledger = state::sqlite_ledger::open(path, clock);
    ASSERT_FALSE(ledger);
    EXPECT_EQ(ledger.error().code, state::errc::not_a_database);
    EXPECT_THAT(ledger.error().message, HasSubstr(path.string() + " is not a valid SQLite database"));
    EXPECT_THAT(ledger.error().message, HasSubstr("file is not a database"));
    EXPECT_THAT(ledger.error().message, HasSubstr("restore it from a backup"));
}

TEST(LedgerOpen, AnotherProgramsDatabaseIsNotMigrated) {
    test::temp_dir dir;
    auto path = dir / "other.db";
    raw_exec(path, "CREATE TABLE inventory (id INTEGER PRIMARY KEY)");
    auto clock = test_clock();
    auto ledger = state::sqlite_ledger::open(path, clock);
    ASSERT_FALSE(ledger);
    EXPECT_EQ(ledger.error().code, state::errc::not_a_ledger);
    EXPECT_THAT(ledger.error().message, HasSubstr("not an s1pilot ledger"));
    EXPECT_EQ(raw_pragma(path, "user_version"), "0");
}

TEST(LedgerOpen, ReadOnlyNeedsAnExistingMigratedLedger) {
    test::temp_dir dir;
    auto clock = test_clock();
    auto missing = state::sqlite_ledger::open(dir / "missing.db", clock, {.read_only = true});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, state::errc::open_failed);
    EXPECT_THAT(missing.error().message, HasSubstr("missing.db: cannot open"));

    raw_exec(dir / "empty.db", "PRAGMA user_version = 0");
    auto empty = state::sqlite_ledger::open(dir / "empty.db", clock, {.read_only = true});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, state::errc::older_schema);
}

TEST(LedgerOpen, AnUnwritableLocationFailsWithTheReason) {
    auto clock = test_clock();
    auto ledger = state::sqlite_ledger::open("/nonexistent-dir/state.db", clock);
    ASSERT_FALSE(ledger);
    EXPECT_EQ(ledger.error().code, state::errc::open_failed);
    EXPECT_THAT(ledger.error().message, HasSubstr("No such file or directory"));
}

TEST(LedgerOpen, InMemoryLedgerWorks) {
    auto clock = test_clock();
    auto ledger = state::sqlite_ledger::open(":memory:", clock).value();
    ASSERT_TRUE(ledger->mark_done({row("t1")}));
    EXPECT_TRUE(ledger->find("contain", "mitigate:kill", "t1").value());
    EXPECT_TRUE(ledger->integrity_check());
}
