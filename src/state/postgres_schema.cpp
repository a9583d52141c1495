// The PostgreSQL ledger's schema and its migrations, numbered like the SQLite ledger's (schema.cpp):
// a migration is appended, never edited, and a database at version N gets exactly migrations
// N+1.. in one transaction. The version lives in `s1pilot_schema` (one row). Instances that start
// together serialise on a transaction-level advisory lock, so exactly one of them migrates and the
// others find the work done.

#include <fmt/format.h>

#include <array>
#include <string>

#include "postgres_database.hpp"

namespace s1pilot::state::detail {
namespace {

// 'S1PL' 'migr': the key of the advisory lock held while the schema is checked and migrated.
// Advisory locks are per database, so ledgers in different databases never wait for each other.
constexpr const char* migration_lock_key = "5994660868190201714";  // 0x5331504C6D696772

struct migration {
    int version;
    const char* sql;
};

// Times are BIGINT microseconds since the Unix epoch (UTC), as in the SQLite ledger. Key columns
// use the "C" collation: byte order and equality, as SQLite compares them, whatever the database's
// locale.
constexpr std::array migrations{
    migration{1, R"sql(
        CREATE TABLE actions (
            playbook   text COLLATE "C" NOT NULL,
            action_key text COLLATE "C" NOT NULL,
            threat_id  text COLLATE "C" NOT NULL,
            status     text NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
            run_id     text NOT NULL,
            batch_id   text NOT NULL,
            attempt    integer NOT NULL,
            detail     text NOT NULL DEFAULT '',
            reason     text NOT NULL DEFAULT '',
            updated_at bigint NOT NULL,
            PRIMARY KEY (playbook, action_key, threat_id)
        );
        CREATE INDEX actions_pending ON actions (playbook, action_key, threat_id) WHERE status = 'pending';
        CREATE TABLE runs (
            run_id     text COLLATE "C" PRIMARY KEY,
            playbook   text NOT NULL,
            started_at bigint NOT NULL,
            ended_at   bigint,
            outcome    text NOT NULL DEFAULT '',
            summary    text NOT NULL DEFAULT ''
        );
        CREATE TABLE counters (
            name  text COLLATE "C" PRIMARY KEY,
            value bigint NOT NULL
        );
        INSERT INTO counters (name, value) VALUES ('run_id', 0);
    )sql"},
    migration{2, R"sql(
        CREATE TABLE confirmations (
            playbook      text COLLATE "C" NOT NULL,
            action_key    text COLLATE "C" NOT NULL,
            threat_id     text COLLATE "C" NOT NULL,
            state         text NOT NULL CHECK (state IN ('sent', 'confirmed', 'confirmed_failed', 'unconfirmed')),
            run_id        text NOT NULL,
            batch_id      text NOT NULL,
            detail        text NOT NULL DEFAULT '',
            sent_at       bigint NOT NULL,
            confirm_by    bigint NOT NULL,
            next_check    bigint NOT NULL,
            checks        integer NOT NULL DEFAULT 0,
            last_status   text NOT NULL DEFAULT '',
            agent_offline boolean NOT NULL DEFAULT false,
            updated_at    bigint NOT NULL,
            PRIMARY KEY (playbook, action_key, threat_id)
        );
        CREATE INDEX confirmations_due ON confirmations (next_check) WHERE state = 'sent';
    )sql"},
    migration{3, R"sql(
        CREATE INDEX actions_by_status ON actions (status);
    )sql"},
};

constexpr std::array<const char*, 4> ledger_tables{"actions", "runs", "counters", "confirmations"};

// Whether a table of that name is visible on the session's search_path.
result<bool> table_exists(postgres_database& database, const char* table) {
    auto found = database.run("SELECT to_regclass($1) IS NOT NULL", "reading the schema", {text(table)});
    if (!found) return found.error();
    return found->boolean(0, 0);
}

}  // namespace

int latest_postgres_schema_version() noexcept {
    return migrations.back().version;
}

result<int> read_schema_version(postgres_database& database) {
    auto exists = table_exists(database, "s1pilot_schema");
    if (!exists) return exists.error();
    if (!*exists) return 0;
    auto version = database.run("SELECT version FROM s1pilot_schema", "reading the schema version", {});
    if (!version) return version.error();
    return version->size() == 1 ? static_cast<int>(version->integer(0, 0)) : 0;
}

result<void> migrate(postgres_database& database) {
    auto unit = pg_transaction::begin(database);
    if (!unit) return unit.error();
    // Waits for an instance that is migrating (bounded by statement_timeout); released at COMMIT.
    if (auto locked = database.run("SELECT pg_advisory_xact_lock($1)", "waiting for the schema migration lock",
                                   {text(migration_lock_key)});
        !locked)
        return locked.error();
    auto version = read_schema_version(database);
    if (!version) return version.error();
    if (*version == 0) {
        for (const char* table : ledger_tables) {
            auto exists = table_exists(database, table);
            if (!exists) return exists.error();
            if (*exists)
                return error{make_error_code(errc::not_a_ledger),
                             fmt::format("state database {} already has a table \"{}\" that s1pilot did not create; "
                                         "give s1pilot a database (or a schema on its search_path) of its own",
                                         database.name(), table)};
        }
    }
    if (*version > latest_postgres_schema_version())
        return error{make_error_code(errc::newer_schema),
                     fmt::format("state database {} has schema version {}, but this s1pilot understands versions "
                                 "up to {}: it was written by a newer s1pilot; upgrade s1pilot (a downgrade cannot "
                                 "read it safely)",
                                 database.name(), *version, latest_postgres_schema_version())};
    if (*version == latest_postgres_schema_version()) return unit->commit();
    if (database.read_only())
        return error{make_error_code(errc::older_schema),
                     fmt::format("state database {} has schema version {} and needs migrating to {}; open it once "
                                 "read-write (start the daemon) first",
                                 database.name(), *version, latest_postgres_schema_version())};

    if (*version == 0)
        if (auto created = database.exec("CREATE TABLE s1pilot_schema (version integer NOT NULL); "
                                         "INSERT INTO s1pilot_schema (version) VALUES (0)",
                                         "creating the schema version table");
            !created)
            return created.error();
    for (const auto& step : migrations) {
        if (step.version <= *version) continue;
        auto context = fmt::format("migrating the schema to version {}", step.version);
        if (auto applied = database.exec(step.sql, context); !applied) return applied.error();
        if (auto stamped = database.run("UPDATE s1pilot_schema SET version = $1", context, {number(step.version)});
            !stamped)
            return stamped.error();
    }
    return unit->commit();
}

result<void> check_schema(postgres_database& database) {
    std::vector<std::string> problems;
    auto version = read_schema_version(database);
    if (!version) return version.error();
    if (*version != latest_postgres_schema_version())
        problems.push_back(fmt::format("schema version {} (expected {})", *version, latest_postgres_schema_version()));
    for (const char* table : ledger_tables) {
        auto exists = table_exists(database, table);
        if (!exists) return exists.error();
        if (!*exists) problems.push_back(fmt::format("table \"{}\" is missing", table));
    }
    if (problems.empty()) {
        auto counter = database.run("SELECT count(*) FROM counters WHERE name = 'run_id'", "checking integrity", {});
        if (!counter) return counter.error();
        if (counter->integer(0, 0) != 1) problems.emplace_back("the run id counter is missing");
        // An index left invalid (a failed REINDEX or CREATE INDEX CONCURRENTLY) is silently skipped
        // by the planner and not maintained: worth an operator's attention.
        auto invalid = database.run(
            "SELECT i.indexrelid::regclass::text FROM pg_index i "
            "WHERE i.indrelid IN ('actions'::regclass, 'runs'::regclass, 'counters'::regclass, "
            "'confirmations'::regclass) AND NOT (i.indisvalid AND i.indisready) ORDER BY 1",
            "checking integrity", {});
        if (!invalid) return invalid.error();
        for (int i = 0; i < invalid->size(); ++i)
            problems.push_back(fmt::format("index \"{}\" is invalid", invalid->text(i, 0)));
    }
    if (problems.empty()) return {};
    return error{
        make_error_code(errc::integrity_failed),
        fmt::format("state database {} failed its integrity check: {}", database.name(), fmt::join(problems, "; "))};
}

}  // namespace s1pilot::state::detail
