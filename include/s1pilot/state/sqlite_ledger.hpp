#pragma once
// The embedded ledger on SQLite: WAL, `synchronous=FULL`, a busy timeout, foreign keys, and a
// schema version (`PRAGMA user_version`) migrated forward in one transaction at open.

#include "s1pilot/core/clock.hpp"
#include "s1pilot/state/ledger.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace s1pilot::state {

struct sqlite_options {
    /// Opens without writing: no lock file, no migration (an older schema is refused). For tools
    /// such as `s1pilot plan` that read the ledger while the daemon runs.
    bool read_only = false;
    /// How long a statement waits for another connection's lock before failing.
    std::chrono::milliseconds busy_timeout{5000};
};

namespace detail {
class sqlite_database;
}

class sqlite_ledger final : public ledger {
public:
    /// Opens or creates the ledger at `path` (`:memory:` for a private in-memory one).
    /// A writable ledger takes an exclusive lock on `<path>.lock` for its lifetime, so a second
    /// daemon on the same file is refused (two writers would repeat each other's actions).
    /// Refuses, with a message saying what to do: a file that is not an SQLite database, a
    /// database that is not a ledger, and a ledger written by a newer s1pilot.
    /// `clock` must outlive the ledger.
    static result<std::unique_ptr<sqlite_ledger>> open(const std::filesystem::path& path, const core::clock& clock,
                                                       const sqlite_options& options = {});

    /// The schema version this build writes; `open` migrates older ledgers up to it.
    static int latest_schema_version() noexcept;

    ~sqlite_ledger() override;
    sqlite_ledger(const sqlite_ledger&) = delete;
    sqlite_ledger& operator=(const sqlite_ledger&) = delete;

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
    [[nodiscard]] result<void> probe_write() override;
    [[nodiscard]] result<void> integrity_check() override;

    /// The schema version of the open database.
    result<int> schema_version();

private:
    sqlite_ledger(std::unique_ptr<detail::sqlite_database> database, const core::clock& clock);
    result<void> write_rows(const std::vector<action_row>& rows, action_status status, std::string_view reason);
    /// Starts following `rows` (`sent`), inside the caller's transaction.
    result<void> follow_rows(const std::vector<action_row>& rows, core::timestamp first_check,
                             core::timestamp confirm_by, std::int64_t now);
    result<void> upsert_rows(const std::vector<action_row>& rows, action_status status, std::string_view reason,
                             std::int64_t now);

    std::unique_ptr<detail::sqlite_database> database_;
    const core::clock& clock_;
    static constexpr std::int64_t run_id_block = 32;
    std::int64_t next_run_ = 0;      ///< the next run id of the reserved block (0: none reserved)
    std::int64_t reserved_end_ = 0;  ///< the block's last id
};

}  // namespace s1pilot::state
