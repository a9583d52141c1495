#pragma once
// Thin RAII over the sqlite3 C API, private to the state module: the connection with its lock
// file, cached prepared statements, and transactions. Errors become `state::error` values that
// name the database and carry SQLite's own message.

#include "s1pilot/state/error.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace s1pilot::state::detail {

class sqlite_database;

/// A use of a cached prepared statement: binds, steps, reads columns, and resets the statement
/// when it goes out of scope so the next use starts clean.
class query {
public:
    query(sqlite_database& database, sqlite3_stmt* statement, std::string_view context)
        : database_(&database), statement_(statement), context_(context) {}
    ~query();
    query(query&& other) noexcept;
    query(const query&) = delete;
    query& operator=(const query&) = delete;
    query& operator=(query&&) = delete;

    void bind(int index, std::string_view text);
    void bind(int index, std::int64_t number);
    void bind_null(int index);
    /// true: a row is available; false: done.
    result<bool> step();
    /// Steps to the end, for statements that return no rows.
    result<void> run();
    /// Ready to run again with new bindings: one statement serves every row of a batch.
    void reset();

    std::string text(int column) const;
    std::int64_t integer(int column) const;
    bool is_null(int column) const;

private:
    sqlite_database* database_;
    sqlite3_stmt* statement_;
    std::string_view context_;
};

class sqlite_database {
public:
    static result<std::unique_ptr<sqlite_database>> open(const std::filesystem::path& path,
                                                         const sqlite_options& options);
    ~sqlite_database();
    sqlite_database(const sqlite_database&) = delete;
    sqlite_database& operator=(const sqlite_database&) = delete;

    /// Runs SQL that returns no rows (possibly several statements).
    result<void> exec(const char* sql, std::string_view context);
    /// A cached prepared statement for `sql`; `context` says what it is for, in errors.
    result<query> prepare(const std::string& sql, std::string_view context);

    /// An error for the last failure on this connection.
    error failure(int code, std::string_view context) const;
    bool read_only() const noexcept { return read_only_; }
    const std::string& name() const noexcept { return name_; }

private:
    sqlite_database(sqlite3* handle, int lock_fd, std::string name, bool read_only)
        : handle_(handle), lock_fd_(lock_fd), name_(std::move(name)), read_only_(read_only) {}
    result<void> configure(const sqlite_options& options);

    sqlite3* handle_;
    int lock_fd_;
    std::string name_;
    bool read_only_;
    std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

/// `BEGIN` … `COMMIT`, rolled back if not committed: one durable unit of work.
class transaction {
public:
    /// A writing transaction is IMMEDIATE: it takes the write lock up front, so a busy database
    /// fails at the start rather than half-way through. A reading one sees one snapshot.
    static result<transaction> begin(sqlite_database& database, bool writing = true);
    transaction(transaction&& other) noexcept : database_(std::exchange(other.database_, nullptr)) {}
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    transaction& operator=(transaction&&) = delete;
    ~transaction();
    result<void> commit();

private:
    explicit transaction(sqlite_database& database) : database_(&database) {}
    sqlite_database* database_;
};

/// Brings the schema up to the latest version in one transaction (schema.cpp).
result<void> migrate(sqlite_database& database);
/// The `user_version` of the database.
result<int> read_schema_version(sqlite_database& database);
int latest_schema_version() noexcept;

}  // namespace s1pilot::state::detail
