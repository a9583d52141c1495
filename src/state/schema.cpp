// The ledger's schema and its migrations. A migration is appended, never edited: a database at
// version N gets exactly migrations N+1.. in one transaction, so an interrupted upgrade leaves the
// old version intact.

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <optional>

#include "sqlite_database.hpp"

namespace s1pilot::state::detail {
namespace {

// 'S1PL': marks the file as an s1pilot ledger, so that another program's SQLite database is
// never mistaken for an empty ledger and migrated.
constexpr std::int64_t application_id = 0x53315050;

struct migration {
    int version;
    const char* sql;
};

// Times are INTEGER microseconds since the Unix epoch (UTC): exact, and compared numerically.
constexpr std::array migrations{
    migration{1, R"sql(
        CREATE TABLE actions (
            playbook   TEXT NOT NULL,
            action_key TEXT NOT NULL,
            threat_id  TEXT NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
            run_id     TEXT NOT NULL,
            batch_id   TEXT NOT NULL,
            attempt    INTEGER NOT NULL,
            detail     TEXT NOT NULL DEFAULT '',
            reason     TEXT NOT NULL DEFAULT '',
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (playbook, action_key, threat_id)
        ) WITHOUT ROWID;
        CREATE INDEX actions_pending ON actions (playbook, action_key, threat_id) WHERE status = 'pending';
        CREATE TABLE runs (
            run_id     TEXT PRIMARY KEY,
            playbook   TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            ended_at   INTEGER,
            outcome    TEXT NOT NULL DEFAULT '',
            summary    TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID;
        CREATE TABLE counters (
            name  TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO counters (name, value) VALUES ('run_id', 0);
    )sql"},
    // Confirmation (DESIGN §4): an accepted mitigation or isolation followed until the agent
    // carries it out. Kept apart from `actions`, whose row is done throughout.
    migration{2, R"sql(
        CREATE TABLE confirmations (
            playbook      TEXT NOT NULL,
            action_key    TEXT NOT NULL,
            threat_id     TEXT NOT NULL,
            state         TEXT NOT NULL CHECK (state IN ('sent', 'confirmed', 'confirmed_failed', 'unconfirmed')),
            run_id        TEXT NOT NULL,
            batch_id      TEXT NOT NULL,
            detail        TEXT NOT NULL DEFAULT '',
            sent_at       INTEGER NOT NULL,
            confirm_by    INTEGER NOT NULL,
            next_check    INTEGER NOT NULL,
            checks        INTEGER NOT NULL DEFAULT 0,
            last_status   TEXT NOT NULL DEFAULT '',
            agent_offline INTEGER NOT NULL DEFAULT 0,
            updated_at    INTEGER NOT NULL,
            PRIMARY KEY (playbook, action_key, threat_id)
        ) WITHOUT ROWID;
        CREATE INDEX confirmations_due ON confirmations (next_check) WHERE state = 'sent';
    )sql"},
    // The metrics' ledger gauge counts rows by status: an index, so that it never reads the rows.
    migration{3, R"sql(
        CREATE INDEX actions_by_status ON actions (status);
    )sql"},
};

result<std::int64_t> pragma_integer(sqlite_database& database, const char* sql) {
    auto statement = database.prepare(sql, "reading the schema version");
    if (!statement) return statement.error();
    auto row = statement->step();
    if (!row) return row.error();
    return *row ? statement->integer(0) : 0;
}

}  // namespace

int latest_schema_version() noexcept {
    return migrations.back().version;
}

result<int> read_schema_version(sqlite_database& database) {
    auto version = pragma_integer(database, "PRAGMA user_version");
    if (!version) return version.error();
    return static_cast<int>(*version);
}

result<void> migrate(sqlite_database& database) {
    // Read-only connections check without a transaction: BEGIN IMMEDIATE needs the write lock.
    std::optional<transaction> unit;
    if (!database.read_only()) {
        auto begun = transaction::begin(database);
        if (!begun) return begun.error();
        unit.emplace(std::move(*begun));
    }
    auto version = read_schema_version(database);
    if (!version) return version.error();
    auto app = pragma_integer(database, "PRAGMA application_id");
    if (!app) return app.error();
    auto tables = pragma_integer(database, "SELECT count(*) FROM sqlite_schema");
    if (!tables) return tables.error();

    if ((*app != 0 && *app != application_id) || (*version == 0 && *tables != 0))
        return error{make_error_code(errc::not_a_ledger),
                     fmt::format("state database {} is an SQLite database of another program, not an s1pilot "
                                 "ledger; point `state:` at a new file",
                                 database.name())};
    if (*version > latest_schema_version())
        return error{make_error_code(errc::newer_schema),
                     fmt::format("state database {} has schema version {}, but this s1pilot understands versions "
                                 "up to {}: it was written by a newer s1pilot; upgrade s1pilot (a downgrade cannot "
                                 "read it safely)",
                                 database.name(), *version, latest_schema_version())};
    if (*version == latest_schema_version()) return {};
    if (database.read_only())
        return error{make_error_code(errc::older_schema),
                     fmt::format("state database {} has schema version {} and needs migrating to {}; open it once "
                                 "read-write (start the daemon) first",
                                 database.name(), *version, latest_schema_version())};

    for (const auto& step : migrations) {
        if (step.version <= *version) continue;
        auto context = fmt::format("migrating the schema to version {}", step.version);
        if (auto applied = database.exec(step.sql, context); !applied) return applied.error();
        auto set = fmt::format("PRAGMA user_version = {}; PRAGMA application_id = {};", step.version, application_id);
        if (auto stamped = database.exec(set.c_str(), context); !stamped) return stamped.error();
    }
    return unit->commit();
}

}  // namespace s1pilot::state::detail
