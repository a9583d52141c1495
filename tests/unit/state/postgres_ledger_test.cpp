// What only the PostgreSQL ledger has: the password given apart and never shown, connection
// strings of both forms, a database that is not its own refused, instances migrating at once,
// read-only sessions, its integrity check, and what leadership will build on (advisory locks, a
// session that knows when it is gone).

#include "s1pilot/state/postgres_ledger.hpp"

#include "s1pilot/core/clock.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <libpq-fe.h>
#include <set>
#include <thread>

#include "postgres_server.hpp"

using namespace s1pilot;
using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::Not;

namespace {

state::action_row row(std::string threat) {
    return {"contain", "mitigate:kill", std::move(threat), "r-000001", "b1", ""};
}

class PostgresLedger : public testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        server_ = test::postgres_server::get(reason);
        if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL: " << reason;
        database_ = server_->create_database();
    }

    state::result<std::unique_ptr<state::postgres_ledger>> open(const state::postgres_options& options = {}) {
        return state::postgres_ledger::open(server_->uri(database_), test::postgres_server::password(), clock_,
                                            options);
    }

    void admin(const std::string& sql) { ASSERT_EQ(server_->exec(database_, sql), ""); }

    core::manual_clock clock_{*core::parse_timestamp("2026-03-01T12:00:00Z")};
    test::postgres_server* server_ = nullptr;
    std::string database_;
};

}  // namespace

TEST_F(PostgresLedger, AWrongPasswordIsRefusedWithoutShowingIt) {
    auto ledger = state::postgres_ledger::open(server_->uri(database_), "not-the-Password-41", clock_);
    ASSERT_FALSE(ledger);
    EXPECT_EQ(ledger.error().code, state::errc::open_failed);
    EXPECT_THAT(ledger.error().message, HasSubstr("state database " + database_ + " on "));
    EXPECT_THAT(ledger.error().message, HasSubstr(":5432: cannot connect: "));
    EXPECT_THAT(ledger.error().message, HasSubstr("password authentication failed"));
    EXPECT_THAT(ledger.error().message, Not(HasSubstr("not-the-Password-41")));
}

TEST_F(PostgresLedger, APasswordInTheConnectionStringIsRefusedWithoutShowingIt) {
    const std::string uri = server_->uri(database_);
    const std::string with_password = "postgresql://s1pilot:" + test::postgres_server::password() + "@" +
                                      uri.substr(std::string("postgresql://s1pilot@").size());
    for (const auto& connection : {with_password, "dbname=" + database_ + " password=hunter2-x"}) {
        auto ledger = state::postgres_ledger::open(connection, "", clock_);
        ASSERT_FALSE(ledger);
        EXPECT_THAT(ledger.error().message, HasSubstr("contains a password; remove it and give it apart"));
        EXPECT_THAT(ledger.error().message, Not(HasSubstr(test::postgres_server::password())));
        EXPECT_THAT(ledger.error().message, Not(HasSubstr("hunter2")));
    }
    auto garbled = state::postgres_ledger::open("postgresql://s1pilot@/db?secret-Word-9", "", clock_);
    ASSERT_FALSE(garbled);
    EXPECT_THAT(garbled.error().message, HasSubstr("connection string is not valid"));
    EXPECT_THAT(garbled.error().message, Not(HasSubstr("secret-Word-9")));
}

TEST_F(PostgresLedger, KeyValueConnectionStringsWork) {
    const std::string uri = server_->uri(database_);
    const auto host = uri.substr(uri.find("host=") + 5, uri.find("&port") - uri.find("host=") - 5);
    auto ledger = state::postgres_ledger::open("host=" + host + " port=5432 user=s1pilot dbname=" + database_,
                                               test::postgres_server::password(), clock_);
    ASSERT_TRUE(ledger) << ledger.error().message;
    EXPECT_EQ((*ledger)->name(), database_ + " on " + host + ":5432");
    EXPECT_TRUE((*ledger)->mark_done({row("t1")}));
}

TEST_F(PostgresLedger, AServerThatIsNotThereFailsAtOnceNamingIt) {
    const auto began = std::chrono::steady_clock::now();
    auto ledger = state::postgres_ledger::open("postgresql://s1pilot@/ledger?host=/nonexistent-dir&port=5999",
                                               test::postgres_server::password(), clock_);
    ASSERT_FALSE(ledger);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
    EXPECT_EQ(ledger.error().code, state::errc::open_failed);
    EXPECT_THAT(ledger.error().message, HasSubstr("state database ledger on /nonexistent-dir:5999: cannot connect"));
}

TEST_F(PostgresLedger, ADatabaseWithTablesOfAnotherProgramIsNotTakenOver) {
    admin("CREATE TABLE runs (id integer PRIMARY KEY); ALTER TABLE runs OWNER TO s1pilot");
    auto ledger = open();
    ASSERT_FALSE(ledger);
    EXPECT_EQ(ledger.error().code, state::errc::not_a_ledger);
    EXPECT_THAT(ledger.error().message, HasSubstr("already has a table \"runs\" that s1pilot did not create"));
    EXPECT_THAT(server_->exec(database_, "SELECT 1 FROM s1pilot_schema"), HasSubstr("does not exist"))
        << "nothing of the refused migration may remain";
}

TEST_F(PostgresLedger, InstancesStartingTogetherMigrateOnceAndShareTheRunIdCounter) {
    constexpr int instances = 4;
    std::vector<std::string> failures(instances), ids(instances * 3);
    std::vector<std::thread> threads;
    for (int i = 0; i < instances; ++i)
        threads.emplace_back([&, i] {
            auto ledger = open();
            if (!ledger) {
                failures[i] = ledger.error().message;
                return;
            }
            for (int n = 0; n < 3; ++n) {
                auto id = (*ledger)->next_run_id();
                ids[i * 3 + n] = id ? *id : "failed: " + id.error().message;
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& failure : failures) EXPECT_EQ(failure, "");
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "every run id is unique";
    auto ledger = open().value();
    EXPECT_EQ(ledger->schema_version().value(), state::postgres_ledger::latest_schema_version());
    EXPECT_EQ(ledger->next_run_id().value(), "r-000013");
}

TEST_F(PostgresLedger, AnOlderSchemaIsMigratedKeepingItsRows) {
    {
        auto ledger = open().value();
        ASSERT_TRUE(ledger->mark_done({row("t1")}));
    }
    // Back to schema 1, as the first release left it.
    admin("DROP TABLE confirmations; DROP INDEX actions_by_status; UPDATE s1pilot_schema SET version = 1");
    auto ledger = open();
    ASSERT_TRUE(ledger) << ledger.error().message;
    EXPECT_EQ((*ledger)->schema_version().value(), state::postgres_ledger::latest_schema_version());
    EXPECT_EQ((*ledger)->find("contain", "mitigate:kill", "t1").value()->status, state::action_status::done);
    ASSERT_TRUE((*ledger)->mark_sent({row("t2")}, clock_.now(), clock_.now() + 1min));
    EXPECT_EQ((*ledger)->count_confirmations("").value().sent, 1u);
}

TEST_F(PostgresLedger, ReadOnlySessionsReadAndRefuseToWriteOrMigrate) {
    auto fresh = open({.read_only = true});
    ASSERT_FALSE(fresh);
    EXPECT_EQ(fresh.error().code, state::errc::older_schema);
    EXPECT_THAT(fresh.error().message, HasSubstr("has schema version 0 and needs migrating to"));

    auto writer = open().value();
    ASSERT_TRUE(writer->mark_done({row("t1")}));
    auto reader = open({.read_only = true});
    ASSERT_TRUE(reader) << reader.error().message;
    EXPECT_TRUE((*reader)->find("contain", "mitigate:kill", "t1").value());
    auto refused = (*reader)->mark_done({row("t2")});
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message, HasSubstr("read-only transaction"));
}

TEST_F(PostgresLedger, TheIntegrityCheckSaysWhatIsWrong) {
    auto ledger = open().value();
    ASSERT_TRUE(ledger->integrity_check());
    admin("DELETE FROM counters");
    auto no_counter = ledger->integrity_check();
    ASSERT_FALSE(no_counter);
    EXPECT_EQ(no_counter.error().code, state::errc::integrity_failed);
    EXPECT_THAT(no_counter.error().message, HasSubstr("failed its integrity check: the run id counter is missing"));
    admin("DROP TABLE confirmations; UPDATE s1pilot_schema SET version = 2");
    auto broken = ledger->integrity_check();
    ASSERT_FALSE(broken);
    EXPECT_THAT(broken.error().message, HasSubstr("schema version 2 (expected 3); table \"confirmations\" is missing"));
}

TEST_F(PostgresLedger, OneSessionAtATimeHoldsAnAdvisoryLock) {
    auto first = open().value();
    auto second = open().value();
    EXPECT_TRUE(first->try_advisory_lock(42).value());
    EXPECT_TRUE(first->try_advisory_lock(42).value()) << "the holder may take it again";
    EXPECT_FALSE(second->try_advisory_lock(42).value());
    EXPECT_TRUE(second->try_advisory_lock(43).value()) << "another key is another lock";
    first.reset();  // the session ends: its locks are released by the server
    bool taken = false;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; !taken && std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(20ms))
        taken = second->try_advisory_lock(42).value();
    EXPECT_TRUE(taken);
}

TEST_F(PostgresLedger, ALostSessionIsReportedAndNeverQuietlyReplaced) {
    auto ledger = open().value();
    EXPECT_TRUE(ledger->session_alive());
    admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND usename = 's1pilot'");
    EXPECT_FALSE(ledger->session_alive());
    auto marked = ledger->mark_pending({row("t1")});
    ASSERT_FALSE(marked);
    EXPECT_EQ(marked.error().code, state::errc::database_error);
    EXPECT_THAT(marked.error().message, HasSubstr("state database " + database_ + " on "));
    EXPECT_FALSE(ledger->session_alive()) << "a failed call does not reconnect either";
    EXPECT_FALSE(ledger->integrity_check());
}

TEST_F(PostgresLedger, ACheckedSessionThatIsLostStaysLostUntilReconnected) {
    auto ledger = open().value();
    state::lock_session& session = *ledger;
    EXPECT_TRUE(session.connected());
    EXPECT_TRUE(session.check_session(500ms));
    ASSERT_TRUE(session.try_lock(7).value());
    admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND usename = 's1pilot'");
    auto checked = session.check_session(500ms);
    ASSERT_FALSE(checked);
    EXPECT_THAT(checked.error().message, HasSubstr("state database " + database_ + " on "));
    EXPECT_THAT(checked.error().message, HasSubstr("checking the session: the connection to the server was lost"));
    EXPECT_FALSE(session.connected());
    // Nothing goes through a lost session, not even what would succeed on a new one.
    auto marked = ledger->mark_pending({row("t1")});
    ASSERT_FALSE(marked);
    EXPECT_THAT(marked.error().message, HasSubstr("the connection to the server was lost"));
    EXPECT_FALSE(session.try_lock(7));
    EXPECT_FALSE(ledger->find("contain", "mitigate:kill", "t1"));

    ASSERT_TRUE(session.reconnect());
    EXPECT_TRUE(session.connected());
    EXPECT_TRUE(session.check_session(500ms));
    ASSERT_TRUE(ledger->mark_pending({row("t1")}));
    EXPECT_EQ(ledger->find("contain", "mitigate:kill", "t1").value()->status, state::action_status::pending);
    EXPECT_TRUE(session.try_lock(7).value()) << "the old session's lock went with it";
}

TEST_F(PostgresLedger, ReconnectingDropsTheLocksOfTheOldSession) {
    auto first = open().value();
    auto second = open().value();
    ASSERT_TRUE(first->try_lock(9).value());
    ASSERT_FALSE(second->try_lock(9).value());
    ASSERT_TRUE(first->reconnect());
    bool taken = false;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; !taken && std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(20ms))
        taken = second->try_lock(9).value();
    EXPECT_TRUE(taken);
    EXPECT_FALSE(first->try_lock(9).value()) << "the new session does not inherit the lock";
}

TEST_F(PostgresLedger, ACheckOfAServerThatDoesNotAnswerEndsInTimeAndClosesTheSession) {
    auto ledger = open().value();
    ASSERT_TRUE(ledger->check_session(2s));
    // The session's server process is stopped (SIGSTOP), as a server that no longer answers.
    PGconn* admin_session = PQconnectdb(server_->admin_uri(database_).c_str());
    PGresult* found = PQexec(admin_session,
                             "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = "
                             "'s1pilot'");
    ASSERT_EQ(PQresultStatus(found), PGRES_TUPLES_OK);
    ASSERT_EQ(PQntuples(found), 1);
    const pid_t backend = static_cast<pid_t>(std::stol(PQgetvalue(found, 0, 0)));
    PQclear(found);
    PQfinish(admin_session);
    ASSERT_EQ(::kill(backend, SIGSTOP), 0);
    const auto start = std::chrono::steady_clock::now();
    auto checked = ledger->check_session(300ms);
    const auto took = std::chrono::steady_clock::now() - start;
    ::kill(backend, SIGCONT);
    ASSERT_FALSE(checked);
    EXPECT_THAT(checked.error().message, HasSubstr("checking the session: the server did not answer within 300 ms"));
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 2s) << "bounded by the timeout, not by the kernel's keepalives";
    EXPECT_FALSE(ledger->connected()) << "a session that did not answer is closed, never reused";
    EXPECT_FALSE(ledger->probe_write());
}
