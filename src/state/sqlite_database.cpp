#include "sqlite_database.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace s1pilot::state::detail {
namespace {

bool is_memory(const std::filesystem::path& path) {
    return path == ":memory:" || path.empty();
}

// The lock file keeps a second daemon off the ledger. flock() locks are released by the kernel
// when the process dies, so a crash never leaves a stale lock behind.
result<int> lock_ledger(const std::string& name) {
    std::string lock_path = name + ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return error{
            make_error_code(errc::open_failed),
            fmt::format("state database {}: cannot open its lock file {}: {}", name, lock_path, std::strerror(errno))};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char holder[32] = {};
        auto n = ::pread(fd, holder, sizeof holder - 1, 0);
        std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : std::string("unknown");
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        ::close(fd);
        if (saved == EWOULDBLOCK)
            return error{make_error_code(errc::in_use),
                         fmt::format("state database {} is in use by another s1pilot process (pid {}, lock {}); "
                                     "two daemons on one ledger would repeat each other's actions",
                                     name, pid, lock_path)};
        return error{make_error_code(errc::open_failed),
                     fmt::format("state database {}: cannot lock {}: {}", name, lock_path, std::strerror(saved))};
    }
    // The pid is only a hint for the message above; failing to write it is harmless.
    auto pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] auto written = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return fd;
}

}  // namespace

query::~query() {
    if (statement_ == nullptr) return;
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
}

query::query(query&& other) noexcept
    : database_(other.database_), statement_(std::exchange(other.statement_, nullptr)), context_(other.context_) {}

void query::bind(int index, std::string_view text) {
    // A null data pointer would bind SQL NULL; an empty string is still a string.
    sqlite3_bind_text(statement_, index, text.data() != nullptr ? text.data() : "", static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
}

void query::bind(int index, std::int64_t number) {
    sqlite3_bind_int64(statement_, index, number);
}

void query::bind_null(int index) {
    sqlite3_bind_null(statement_, index);
}

result<bool> query::step() {
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return database_->failure(rc, context_);
}

result<void> query::run() {
    for (;;) {
        auto row = step();
        if (!row) return row.error();
        if (!*row) return {};
    }
}

void query::reset() {
    sqlite3_reset(statement_);
}

std::string query::text(int column) const {
    auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (data == nullptr) return {};
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

std::int64_t query::integer(int column) const {
    return sqlite3_column_int64(statement_, column);
}

bool query::is_null(int column) const {
    return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

result<std::unique_ptr<sqlite_database>> sqlite_database::open(const std::filesystem::path& path,
                                                               const sqlite_options& options) {
    std::string name = is_memory(path) ? std::string(":memory:") : path.string();
    int lock_fd = -1;
    if (!is_memory(path) && !options.read_only) {
        auto lock = lock_ledger(name);
        if (!lock) return lock.error();
        lock_fd = *lock;
    }
    // No allocation statistics: SQLite would otherwise take a global mutex around every malloc and
    // free (about 8% of a mass containment's CPU: docs/performance.md). Takes effect only before
    // SQLite's first use in the process; later it is refused, harmlessly.
    static const int no_memory_statistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)no_memory_statistics;
    int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* handle = nullptr;
    int rc = sqlite3_open_v2(name.c_str(), &handle, flags, nullptr);
    // The object owns the handle and the lock from here, so every early return releases them.
    std::unique_ptr<sqlite_database> database(new sqlite_database(handle, lock_fd, name, options.read_only));
    if (rc != SQLITE_OK) {
        auto message = handle != nullptr ? std::string(sqlite3_errmsg(handle)) : std::string(sqlite3_errstr(rc));
        return error{make_error_code(errc::open_failed),
                     fmt::format("state database {}: cannot open: {}", name, message)};
    }
    sqlite3_extended_result_codes(handle, 1);
    if (auto configured = database->configure(options); !configured) return configured.error();
    if (auto migrated = migrate(*database); !migrated) return migrated.error();
    return database;
}

result<void> sqlite_database::configure(const sqlite_options& options) {
    sqlite3_busy_timeout(handle_, static_cast<int>(options.busy_timeout.count()));
    // The first statement reads the file header: this is where a file that is not a database fails.
    if (!read_only_) {
        auto mode = prepare("PRAGMA journal_mode=WAL", "enabling write-ahead logging");
        if (!mode) return mode.error();
        auto row = mode->step();
        if (!row) return row.error();
    } else if (auto probe = exec("SELECT count(*) FROM sqlite_schema", "reading the schema"); !probe) {
        return probe.error();
    }
    // FULL: a commit is on disk before mark_pending returns, and so before the POST it guards.
    return exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", "configuring the connection");
}

sqlite_database::~sqlite_database() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    if (handle_ != nullptr) sqlite3_close_v2(handle_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

result<void> sqlite_database::exec(const char* sql, std::string_view context) {
    int rc = sqlite3_exec(handle_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return failure(rc, context);
    return {};
}

result<query> sqlite_database::prepare(const std::string& sql, std::string_view context) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
        sqlite3_stmt* statement = nullptr;
        int rc = sqlite3_prepare_v3(handle_, sql.c_str(), static_cast<int>(sql.size() + 1), SQLITE_PREPARE_PERSISTENT,
                                    &statement, nullptr);
        if (rc != SQLITE_OK) return failure(rc, context);
        found = statements_.emplace(sql, statement).first;
    }
    return query(*this, found->second, context);
}

error sqlite_database::failure(int code, std::string_view context) const {
    std::string message = sqlite3_errmsg(handle_);
    int primary = code & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        return error{make_error_code(errc::not_a_database),
                     fmt::format("state database {} is not a valid SQLite database ({}); move it aside or restore it "
                                 "from a backup (starting with an empty ledger would repeat actions already done)",
                                 name_, message)};
    return error{make_error_code(errc::database_error),
                 fmt::format("state database {}: {}: {} ({})", name_, context, message, sqlite3_errstr(code))};
}

result<transaction> transaction::begin(sqlite_database& database, bool writing) {
    auto begun = database.exec(writing ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction");
    if (!begun) return begun.error();
    return transaction(database);
}

transaction::~transaction() {
    if (database_ != nullptr) (void)database_->exec("ROLLBACK", "rolling back");
}

result<void> transaction::commit() {
    auto committed = database_->exec("COMMIT", "committing");
    if (committed) database_ = nullptr;
    return committed;
}

}  // namespace s1pilot::state::detail
