#pragma once
// The ledger contract suite's fixture: every TEST_P of a suite derived from `ledger_contract` runs
// once per backend, SQLite (a file in a fresh directory) and PostgreSQL (a fresh database on the
// binary's own server, postgres_server.hpp). Where PostgreSQL cannot run, its cases are skipped
// with the reason. What only one backend can do (file locks, `:memory:`, read-only files, another
// program's SQLite file) is tested apart.

#include "s1pilot/core/clock.hpp"
#include "s1pilot/state/postgres_ledger.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <ostream>
#include <string>

#include "postgres_server.hpp"
#include "temp_dir.hpp"

namespace s1pilot::test {

enum class backend { sqlite, postgresql };

inline std::string backend_name(const testing::TestParamInfo<backend>& info) {
    return info.param == backend::sqlite ? "sqlite" : "postgresql";
}

/// How GoogleTest (and so ctest's test names) shows the parameter.
inline void PrintTo(backend b, std::ostream* out) {
    *out << (b == backend::sqlite ? "sqlite" : "postgresql");
}

inline const core::timestamp ledger_test_start = *core::parse_timestamp("2026-03-01T12:00:00Z");

class ledger_contract : public testing::TestWithParam<backend> {
protected:
    void SetUp() override {
        if (GetParam() == backend::postgresql) {
            std::string reason;
            server_ = postgres_server::get(reason);
            if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL: " << reason;
            database_ = server_->create_database();
        }
        auto opened = open();
        ASSERT_TRUE(opened) << opened.error().message;
        ledger_ = std::move(*opened);
    }

    /// A ledger on this test's storage: a second one sees what the first wrote.
    state::result<std::unique_ptr<state::ledger>> open() {
        if (GetParam() == backend::sqlite) {
            auto opened = state::sqlite_ledger::open(dir_ / "state.db", clock_);
            if (!opened) return opened.error();
            return std::unique_ptr<state::ledger>(std::move(*opened));
        }
        auto opened = state::postgres_ledger::open(server_->uri(database_), postgres_server::password(), clock_);
        if (!opened) return opened.error();
        return std::unique_ptr<state::ledger>(std::move(*opened));
    }

    /// How the backend's messages name this test's storage.
    std::string storage_name() const {
        return GetParam() == backend::sqlite ? (dir_ / "state.db").string() : database_ + " on ";
    }

    int schema_version() {
        if (auto* sqlite = dynamic_cast<state::sqlite_ledger*>(ledger_.get())) return sqlite->schema_version().value();
        return dynamic_cast<state::postgres_ledger&>(*ledger_).schema_version().value();
    }
    int latest_schema_version() const {
        return GetParam() == backend::sqlite ? state::sqlite_ledger::latest_schema_version()
                                             : state::postgres_ledger::latest_schema_version();
    }

    /// Runs SQL on the storage behind the ledger's back, as another program (or an attacker)
    /// would: `sqlite` for SQLite, `postgres` (as the superuser) for PostgreSQL.
    void raw(const std::string& sqlite, const std::string& postgres) {
        if (GetParam() == backend::sqlite) {
            sqlite3* db = nullptr;
            ASSERT_EQ(sqlite3_open((dir_ / "state.db").c_str(), &db), SQLITE_OK);
            char* message = nullptr;
            int rc = sqlite3_exec(db, sqlite.c_str(), nullptr, nullptr, &message);
            std::string text = message != nullptr ? message : "";
            sqlite3_free(message);
            sqlite3_close(db);
            ASSERT_EQ(rc, SQLITE_OK) << text;
        } else {
            auto failure = server_->exec(database_, postgres);
            ASSERT_EQ(failure, "");
        }
    }

    /// From here on, inserting a row for threat `poison` fails with the message `poisoned row`.
    void poison() {
        raw("CREATE TRIGGER poison BEFORE INSERT ON actions WHEN NEW.threat_id = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.threat_id = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER poison BEFORE INSERT ON actions FOR EACH ROW EXECUTE FUNCTION poison()");
    }

    /// Records `version` as the storage's schema version.
    void stamp_schema_version(int version) {
        raw("PRAGMA user_version = " + std::to_string(version),
            "UPDATE s1pilot_schema SET version = " + std::to_string(version));
    }

    core::manual_clock clock_{ledger_test_start};
    temp_dir dir_;
    postgres_server* server_ = nullptr;
    std::string database_;
    std::unique_ptr<state::ledger> ledger_;
};

#define S1PILOT_LEDGER_CONTRACT(suite)                                                                            \
    INSTANTIATE_TEST_SUITE_P(Backend, suite,                                                                      \
                             testing::Values(s1pilot::test::backend::sqlite, s1pilot::test::backend::postgresql), \
                             s1pilot::test::backend_name)

}  // namespace s1pilot::test
