#include "postgres_database.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <poll.h>
#include <vector>

namespace s1pilot::state::detail {
namespace {

struct conninfo_deleter {
    void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

std::string trimmed(const char* message) {
    std::string text = message != nullptr ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // libpq's multi-line messages (ERROR/DETAIL) read better on one line.
    for (auto& c : text)
        if (c == '\n') c = ' ';
    return text;
}

// `DB on HOST:PORT`, from what the session (or the failed attempt) used: no user, no password.
std::string name_of(const PGconn* connection) {
    auto value = [](const char* v, const char* fallback) {
        return std::string(v != nullptr && *v != '\0' ? v : fallback);
    };
    return fmt::format("{} on {}:{}", value(PQdb(connection), "(default database)"),
                       value(PQhost(connection), "localhost"), value(PQport(connection), "5432"));
}

void ignore_notice(void*, const char*) {}

}  // namespace

std::string rows::text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t rows::integer(int row, int column) const {
    const char* value = PQgetvalue(result_.get(), row, column);
    const char* end = value + PQgetlength(result_.get(), row, column);
    std::int64_t out = 0;
    std::from_chars(value, end, out);
    return out;
}

bool rows::boolean(int row, int column) const {
    return PQgetlength(result_.get(), row, column) > 0 && PQgetvalue(result_.get(), row, column)[0] == 't';
}

bool rows::is_null(int row, int column) const {
    return PQgetisnull(result_.get(), row, column) != 0;
}

result<std::unique_ptr<postgres_database>> postgres_database::connect(std::string_view connection,
                                                                      std::string_view password,
                                                                      const postgres_options& options) {
    const std::string conninfo(connection);
    // libpq's parse errors quote the text they stumbled on, which may be a password: not shown.
    std::unique_ptr<PQconninfoOption, conninfo_deleter> parsed(PQconninfoParse(conninfo.c_str(), nullptr));
    if (!parsed)
        return error{make_error_code(errc::open_failed),
                     "state database: the PostgreSQL connection string is not valid (expected "
                     "postgresql://USER@HOST:PORT/DATABASE or key=value pairs)"};
    for (const auto* option = parsed.get(); option->keyword != nullptr; ++option)
        if (std::string_view(option->keyword) == "password" && option->val != nullptr)
            return error{make_error_code(errc::open_failed),
                         "state database: the PostgreSQL connection string contains a password; remove it and "
                         "give it apart (state_password: {file: PATH} or {env: NAME})"};

    // Keywords are applied in order: the defaults first, so that the connection string can
    // override them; the password last.
    const std::string timeout = std::to_string(options.connect_timeout.count());
    const std::string pass(password);
    std::vector<const char*> keywords{"connect_timeout",     "application_name", "keepalives", "keepalives_idle",
                                      "keepalives_interval", "keepalives_count", "dbname"};
    std::vector<const char*> values{timeout.c_str(), "s1pilot", "1", "30", "10", "3", conninfo.c_str()};
    if (!pass.empty()) {
        keywords.push_back("password");
        values.push_back(pass.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* handle = PQconnectdbParams(keywords.data(), values.data(), 1);
    if (handle == nullptr)
        return error{make_error_code(errc::open_failed), "state database: cannot connect: out of memory"};
    std::unique_ptr<postgres_database> database(
        new postgres_database(handle, name_of(handle), pass, options.read_only));
    if (PQstatus(handle) != CONNECTION_OK)
        return error{make_error_code(errc::open_failed),
                     fmt::format("state database {}: cannot connect: {}", database->name_,
                                 database->scrub(trimmed(PQerrorMessage(handle))))};
    PQsetNoticeProcessor(handle, ignore_notice, nullptr);
    if (auto configured = database->configure(options); !configured) return configured.error();
    if (auto migrated = migrate(*database); !migrated) return migrated.error();
    return database;
}

result<void> postgres_database::configure(const postgres_options& options) {
    auto set = fmt::format("SET statement_timeout = {}", options.statement_timeout.count());
    if (auto done = exec(set.c_str(), "configuring the session"); !done) return done;
    // A commit must be on disk before mark_pending returns, and so before the POST it guards: a
    // server (or role) default of `off` is overridden; stronger settings (remote_apply) are kept.
    auto commit_mode = run("SHOW synchronous_commit", "reading synchronous_commit", {});
    if (!commit_mode) return commit_mode.error();
    if (commit_mode->size() == 1 && commit_mode->text(0, 0) == "off")
        if (auto done = exec("SET synchronous_commit = on", "configuring the session"); !done) return done;
    if (read_only_)
        if (auto done = exec("SET default_transaction_read_only = on", "configuring the session"); !done) return done;
    // The server's side of the keepalives: when this host vanishes (a partition, a power cut) the
    // server drops the session, and with it the cluster's lock, within about 25 s instead of the
    // system's two hours, so that a standby can take over. No effect on a Unix socket.
    if (auto done = exec("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3",
                         "configuring the session");
        !done)
        return done;
    return {};
}

postgres_database::~postgres_database() {
    close();
}

void postgres_database::close() noexcept {
    if (connection_ != nullptr) PQfinish(connection_);
    connection_ = nullptr;
}

bool postgres_database::open() const noexcept {
    return connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK;
}

error postgres_database::closed(std::string_view context) const {
    return error{make_error_code(errc::database_error),
                 fmt::format("state database {}: {}: the connection to the server was lost (the session is closed)",
                             name_, context)};
}

result<void> postgres_database::check(std::chrono::milliseconds timeout) {
    constexpr std::string_view context = "checking the session";
    if (connection_ == nullptr) return closed(context);
    auto lost = [&](std::string why) {
        error e{make_error_code(errc::database_error),
                fmt::format("state database {}: {}: {}", name_, context, scrub(std::move(why)))};
        close();
        return e;
    };
    if (PQstatus(connection_) != CONNECTION_OK)
        return lost("the connection to the server was lost: " + trimmed(PQerrorMessage(connection_)));
    // Sent, then awaited with poll(): a blocking PQexec could wait for the kernel's keepalives
    // (a minute or more) on a server that no longer answers.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (PQsendQuery(connection_, "SELECT 1") == 0)
        return lost("the connection to the server was lost: " + trimmed(PQerrorMessage(connection_)));
    for (;;) {
        if (PQconsumeInput(connection_) == 0)
            return lost("the connection to the server was lost: " + trimmed(PQerrorMessage(connection_)));
        if (PQisBusy(connection_) == 0) break;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds::zero())
            return lost(fmt::format("the server did not answer within {} ms", timeout.count()));
        pollfd p{PQsocket(connection_), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR)
            return lost(fmt::format("poll: {}", std::strerror(errno)));
    }
    bool answered = true;
    std::string why;
    while (PGresult* raw = PQgetResult(connection_)) {
        if (PQresultStatus(raw) != PGRES_TUPLES_OK) {
            answered = false;
            why = trimmed(PQresultErrorMessage(raw));
        }
        PQclear(raw);
    }
    if (PQstatus(connection_) != CONNECTION_OK)
        return lost("the connection to the server was lost: " + trimmed(PQerrorMessage(connection_)));
    if (!answered) return lost(why);
    return {};
}

result<void> postgres_database::exec(const char* sql, std::string_view context) {
    if (connection_ == nullptr) return closed(context);
    PGresult* raw = PQexec(connection_, sql);
    rows owned(raw);
    const auto status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return failure(raw, context);
    return {};
}

result<rows> postgres_database::run(const std::string& sql, std::string_view context,
                                    std::initializer_list<parameter> parameters) {
    if (connection_ == nullptr) return closed(context);
    auto found = prepared_.find(sql);
    if (found == prepared_.end()) {
        auto statement = fmt::format("s1pilot_{}", prepared_.size() + 1);
        PGresult* raw = PQprepare(connection_, statement.c_str(), sql.c_str(), 0, nullptr);
        rows owned(raw);
        if (raw == nullptr || PQresultStatus(raw) != PGRES_COMMAND_OK) return failure(raw, context);
        found = prepared_.emplace(sql, std::move(statement)).first;
    }
    std::vector<const char*> values;
    values.reserve(parameters.size());
    for (const auto& p : parameters) values.push_back(p ? p->c_str() : nullptr);
    PGresult* raw = PQexecPrepared(connection_, found->second.c_str(), static_cast<int>(values.size()), values.data(),
                                   nullptr, nullptr, 0);
    rows out(raw);
    const auto status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return failure(raw, context);
    return out;
}

bool postgres_database::alive() {
    if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) return false;
    PGresult* raw = PQexec(connection_, "SELECT 1");
    rows owned(raw);
    return raw != nullptr && PQresultStatus(raw) == PGRES_TUPLES_OK && PQstatus(connection_) == CONNECTION_OK;
}

error postgres_database::failure(const PGresult* result, std::string_view context) const {
    if (connection_ == nullptr) return closed(context);
    if (PQstatus(connection_) != CONNECTION_OK)
        return error{make_error_code(errc::database_error),
                     fmt::format("state database {}: {}: the connection to the server was lost: {}", name_, context,
                                 scrub(trimmed(PQerrorMessage(connection_))))};
    const char* primary = result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = primary != nullptr ? trimmed(primary) : trimmed(PQerrorMessage(connection_));
    return error{make_error_code(errc::database_error),
                 fmt::format("state database {}: {}: {} (SQLSTATE {})", name_, context, scrub(std::move(message)),
                             state != nullptr ? state : "unknown")};
}

std::string postgres_database::scrub(std::string text) const {
    if (password_.empty()) return text;
    for (auto at = text.find(password_); at != std::string::npos; at = text.find(password_, at + 3))
        text.replace(at, password_.size(), "***");
    return text;
}

result<pg_transaction> pg_transaction::begin(postgres_database& database, bool writing) {
    auto begun =
        database.exec(writing ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting a transaction");
    if (!begun) return begun.error();
    return pg_transaction(database);
}

pg_transaction::~pg_transaction() {
    if (database_ != nullptr) (void)database_->exec("ROLLBACK", "rolling back");
}

result<void> pg_transaction::commit() {
    auto committed = database_->exec("COMMIT", "committing");
    if (committed) database_ = nullptr;
    return committed;
}

}  // namespace s1pilot::state::detail
