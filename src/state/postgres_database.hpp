#pragma once
// Thin RAII over libpq, private to the state module: one session, statements prepared once per
// session and run with text parameters, and transactions. Errors become `state::error` values
// that name the database as `DB on HOST:PORT` and carry the server's own message; never the
// connection string or the password.

#include "s1pilot/state/error.hpp"
#include "s1pilot/state/postgres_ledger.hpp"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <libpq-fe.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace s1pilot::state::detail {

/// A statement parameter in PostgreSQL's text form; nullopt is SQL NULL.
using parameter = std::optional<std::string>;

inline parameter text(std::string_view value) {
    return std::string(value);
}
inline parameter number(std::int64_t value) {
    return std::to_string(value);
}

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};

/// The rows a statement returned, in text form.
class rows {
public:
    explicit rows(PGresult* result) : result_(result) {}
    int size() const noexcept { return PQntuples(result_.get()); }
    std::string text(int row, int column) const;
    std::int64_t integer(int row, int column) const;
    bool boolean(int row, int column) const;
    bool is_null(int row, int column) const;

private:
    std::unique_ptr<PGresult, result_deleter> result_;
};

class postgres_database {
public:
    static result<std::unique_ptr<postgres_database>> connect(std::string_view connection, std::string_view password,
                                                              const postgres_options& options);
    ~postgres_database();
    postgres_database(const postgres_database&) = delete;
    postgres_database& operator=(const postgres_database&) = delete;

    /// Runs SQL without parameters (possibly several statements): transaction control and DDL.
    result<void> exec(const char* sql, std::string_view context);
    /// Runs `sql` as a statement prepared on this session at its first use, with `parameters`
    /// as $1, $2, ...; `context` says what it is for, in errors.
    result<rows> run(const std::string& sql, std::string_view context, std::initializer_list<parameter> parameters);

    /// Whether the session is connected and answers `SELECT 1`.
    bool alive();
    /// `SELECT 1` answered within `timeout`; otherwise (or on any failure) the session is closed.
    result<void> check(std::chrono::milliseconds timeout);
    /// Ends the session (the server releases its locks). Every later call fails as a lost
    /// connection; the object never reconnects.
    void close() noexcept;
    /// Whether the session is open and libpq has not seen it fail.
    bool open() const noexcept;
    bool read_only() const noexcept { return read_only_; }
    const std::string& name() const noexcept { return name_; }
    /// An error for a failed statement (`result` may be null: the session failed).
    error failure(const PGresult* result, std::string_view context) const;

private:
    postgres_database(PGconn* connection, std::string name, std::string password, bool read_only)
        : connection_(connection), name_(std::move(name)), password_(std::move(password)), read_only_(read_only) {}
    result<void> configure(const postgres_options& options);
    /// `text` with the password, if it ever appears, replaced: libpq messages never should hold
    /// it, and this keeps it so.
    std::string scrub(std::string text) const;
    /// The error of a call on a closed (lost) session.
    error closed(std::string_view context) const;

    PGconn* connection_;
    std::string name_;
    std::string password_;
    bool read_only_;
    std::unordered_map<std::string, std::string> prepared_;  ///< SQL → statement name
};

/// `BEGIN` … `COMMIT`, rolled back if not committed: one durable unit of work.
class pg_transaction {
public:
    /// A reading transaction is REPEATABLE READ READ ONLY: one snapshot for several statements.
    static result<pg_transaction> begin(postgres_database& database, bool writing = true);
    pg_transaction(pg_transaction&& other) noexcept : database_(std::exchange(other.database_, nullptr)) {}
    pg_transaction(const pg_transaction&) = delete;
    pg_transaction& operator=(const pg_transaction&) = delete;
    pg_transaction& operator=(pg_transaction&&) = delete;
    ~pg_transaction();
    result<void> commit();

private:
    explicit pg_transaction(postgres_database& database) : database_(&database) {}
    postgres_database* database_;
};

/// Brings the schema up to the latest version in one transaction (postgres_schema.cpp).
result<void> migrate(postgres_database& database);
/// The version recorded in `s1pilot_schema` (0 when the table does not exist).
result<int> read_schema_version(postgres_database& database);
int latest_postgres_schema_version() noexcept;
/// Schema version, tables, counter and indexes (postgres_schema.cpp).
result<void> check_schema(postgres_database& database);

}  // namespace s1pilot::state::detail
