#pragma once
// The shared ledger on PostgreSQL (DESIGN §9): the same contract as sqlite_ledger, on one libpq
// session. Every write is one transaction committed with `synchronous_commit` on; statements are
// prepared once per session and take their values as parameters. The schema carries a version
// (table `s1pilot_schema`) migrated forward in one transaction at open, under a transaction-level
// advisory lock, so instances starting together migrate once.

#include "s1pilot/core/clock.hpp"
#include "s1pilot/state/ledger.hpp"
#include "s1pilot/state/lock_session.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace s1pilot::state {

struct postgres_options {
    /// Opens without writing: transactions are read-only and no migration runs (an older schema
    /// is refused), for tools such as `s1pilot plan`.
    bool read_only = false;
    /// libpq's `connect_timeout` unless the connection string sets its own.
    std::chrono::seconds connect_timeout{10};
    /// The session's `statement_timeout`: no statement (nor the wait for the migration lock)
    /// blocks longer than this.
    std::chrono::milliseconds statement_timeout{30000};
};

namespace detail {
class postgres_database;
}

class postgres_ledger final : public ledger, public lock_session {
public:
    /// Connects with a libpq connection string: a URI (`postgresql://s1pilot@db.corp:5432/s1pilot`)
    /// or `key=value` pairs. The password is passed apart (empty: none, or libpq's own sources
    /// such as a password file); a connection string that holds a password is refused. No message
    /// ever shows the password or the connection string: the database is named `DB on HOST:PORT`.
    /// Refuses a database whose tables s1pilot did not create and a schema written by a newer
    /// s1pilot. `clock` must outlive the ledger.
    static result<std::unique_ptr<postgres_ledger>> open(std::string_view connection, std::string_view password,
                                                         const core::clock& clock,
                                                         const postgres_options& options = {});

    /// The schema version this build writes; `open` migrates older ledgers up to it.
    static int latest_schema_version() noexcept;

    ~postgres_ledger() override;
    postgres_ledger(const postgres_ledger&) = delete;
    postgres_ledger& operator=(const postgres_ledger&) = delete;

    [[nodiscard]] result<std::vector<remaining_action>> remaining(
        std::string_view playbook, const std::vector<std::string>& action_keys,
        const std::vector<std::string>& threat_ids, std::optional<std::chrono::milliseconds> cooldown) override;
    [[nodiscard]] result<void> mark_pending(const std::vector<action_row>& rows) override;
    [[nodiscard]] result<void> mark_done(const std::vector<action_row>& rows) override;
    [[nodiscard]] result<void> mark_failed(const std::vector<action_row>& rows, std::string_view reason) override;
    [[nodiscard]] result<void> mark_sent(const std::vector<action_row>& rows, core::timestamp first_check,
                                         core::timestamp confirm_by) override;
    [[nodiscard]] result<std::vector<confirmation>> confirmations_due(core::timestamp now, std::size_t limit) override;
    [[nodiscard]] result<void> update_confirmations(const std::vector<confirmation>& updates) override;
    [[nodiscard]] result<confirmation_counts> count_confirmations(std::string_view playbook) override;
    [[nodiscard]] result<row_counts> count_rows() override;
    [[nodiscard]] result<void> apply(const std::vector<row_write>& writes) override;
    [[nodiscard]] result<std::optional<core::timestamp>> next_confirmation_check() override;
    [[nodiscard]] result<std::vector<ledger_entry>> pending() override;
    [[nodiscard]] result<std::optional<ledger_entry>> find(std::string_view playbook, std::string_view action_key,
                                                           std::string_view threat_id) override;
    [[nodiscard]] result<void> record_run(const run_record& run) override;
    [[nodiscard]] result<std::optional<run_record>> find_run(std::string_view run_id) override;
    [[nodiscard]] result<std::string> next_run_id() override;
    /// Checks that the session answers, that the schema is at this build's version, that every
    /// ledger table exists, that the run id counter is present, and that no index of the ledger
    /// is invalid (an interrupted CREATE INDEX CONCURRENTLY or a failed REINDEX).
    [[nodiscard]] result<void> probe_write() override;
    [[nodiscard]] result<void> integrity_check() override;

    /// The schema version of the open database.
    result<int> schema_version();
    /// `DB on HOST:PORT`: how messages name this database (no user, no password).
    const std::string& name() const noexcept;

    // Leadership (DESIGN §9) builds on these; its decisions are the engine's.

    /// `pg_try_advisory_lock(key)` on this ledger's session: true when the session now holds the
    /// lock (also when it already did: the lock counts), false when another session holds it.
    /// The lock lives as long as the session: losing the connection releases it.
    [[nodiscard]] result<bool> try_advisory_lock(std::int64_t key);
    /// Whether the session is still the one that was opened and answers a trivial query now.
    /// After a lost connection it stays false: the ledger never reconnects behind its caller's
    /// back, because a new session would not hold the old one's advisory locks.
    [[nodiscard]] bool session_alive();

    // lock_session: try_lock is try_advisory_lock; a check that times out closes the session;
    // reconnect() opens a new one with the same connection string, password and options.
    [[nodiscard]] result<bool> try_lock(std::int64_t key) override;
    [[nodiscard]] result<void> check_session(std::chrono::milliseconds timeout) override;
    [[nodiscard]] result<void> reconnect() override;
    [[nodiscard]] bool connected() const noexcept override;

private:
    /// How the session was opened, to open the next one the same way.
    struct session_settings {
        std::string connection;
        std::string password;
        postgres_options options;
    };
    postgres_ledger(std::unique_ptr<detail::postgres_database> database, session_settings settings,
                    const core::clock& clock);
    result<void> write_rows(const std::vector<action_row>& rows, action_status status, std::string_view reason);
    result<void> upsert_rows(const std::vector<action_row>& rows, action_status status, std::string_view reason,
                             std::int64_t now);
    /// Starts following `rows` (`sent`), inside the caller's transaction.
    result<void> follow_rows(const std::vector<action_row>& rows, core::timestamp first_check,
                             core::timestamp confirm_by, std::int64_t now);

    std::unique_ptr<detail::postgres_database> database_;
    session_settings settings_;
    const core::clock& clock_;
};

}  // namespace s1pilot::state
