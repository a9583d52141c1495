#pragma once
// The ledger: what s1pilot has done, is doing and failed to do, per (playbook, action, threat).
// It is what makes actions exactly-once across crashes and fail-overs (DESIGN.md §4, §9): a row
// is made durable as `pending` before the POST, and rows left `pending` at start-up are reconciled
// against the console before anything else runs.
//
// `ledger` is the interface the engine codes against; `sqlite_ledger` (sqlite_ledger.hpp) is the
// embedded implementation and `postgres_ledger` (postgres_ledger.hpp) the shared one. One contract
// test suite (tests/unit/state) runs against both.

#include "s1pilot/core/time.hpp"
#include "s1pilot/state/error.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::state {

enum class action_status { pending, done, failed };

/// `pending`, `done`, `failed`: the words stored in the database and shown to people.
std::string_view to_string(action_status status) noexcept;

/// One (playbook, action, threat) as the engine writes it. Every string is opaque to the ledger.
struct action_row {
    std::string playbook;
    /// What is done, as the engine names it: `mitigate:kill`, `incident:in_progress:true_positive`,
    /// `note:<sha256 of the text>`. Two actions that must both happen need two keys.
    std::string action_key;
    /// The threat id; for `target: filter` a run-level key chosen by the engine (e.g. `filter`).
    std::string threat_id;
    std::string run_id;    ///< the run that last wrote the row (`r-000123`)
    std::string batch_id;  ///< the batch within that run, for correlating with the audit log
    /// What reconciliation needs to check the effect (e.g. the note text). Kept when a later
    /// write passes an empty detail.
    std::string detail;
};

/// A row as stored.
struct ledger_entry {
    action_row row;
    action_status status = action_status::pending;
    /// How many times the row was marked pending (one per POST attempted) since it was last done;
    /// 0 for a row marked done or failed without ever being pending.
    int attempt = 0;
    core::timestamp updated_at{};  ///< from the ledger's clock, when the status was last written
    std::string failure_reason;    ///< set by mark_failed, cleared by the other transitions
};

/// What is left to do for one action of a playbook.
struct remaining_action {
    std::string action_key;
    /// Threat ids with no row, a `failed` row, or a `done` row older than the cooldown: to send.
    /// In the order given to `remaining`, without duplicates.
    std::vector<std::string> to_do;
    /// Threat ids whose row is still `pending`: the outcome of an earlier POST is unknown, so they
    /// must be reconciled before anything is sent for them again.
    std::vector<std::string> pending;
};

/// Where an accepted mitigation or isolation stands (DESIGN §4, confirmation): the console said
/// 200 (`sent`); the agent then carried it out (`confirmed`), reported it failed
/// (`confirmed_failed`), or had not done so when the playbook's confirm_within ran out
/// (`unconfirmed`). The action row itself is `done` throughout: a missing confirmation never
/// makes s1pilot send again.
enum class confirmation_state { sent, confirmed, confirmed_failed, unconfirmed };

/// `sent`, `confirmed`, `confirmed_failed`, `unconfirmed`.
std::string_view to_string(confirmation_state state) noexcept;

/// One accepted action being followed.
struct confirmation {
    action_row row;  ///< as marked done (the detail says how to read the threat back)
    confirmation_state state = confirmation_state::sent;
    core::timestamp sent_at{};     ///< when the console accepted it (the ledger's clock)
    core::timestamp confirm_by{};  ///< sent_at + confirm_within: then unconfirmed
    core::timestamp next_check{};  ///< read again at or after this
    int checks = 0;                ///< reads so far
    std::string last_status;       ///< what the console showed last: `pending`, `failed`, `disconnecting`, ...
    bool agent_offline = false;    ///< the agent was offline at the last read
};

/// Confirmations by state.
struct confirmation_counts {
    std::size_t sent = 0;
    std::size_t confirmed = 0;
    std::size_t confirmed_failed = 0;
    std::size_t unconfirmed = 0;
    bool operator==(const confirmation_counts&) const = default;
};

/// A playbook run, for the record and for `s1pilot` tooling.
struct run_record {
    std::string run_id;
    std::string playbook;
    core::timestamp started_at{};
    std::optional<core::timestamp> ended_at;
    std::string outcome;  ///< the engine's word: `running`, `ok`, `held`, `failed`, ...
    std::string summary;  ///< opaque to the ledger (the engine stores its counts as JSON)
};

/// One write of ledger::apply(): what mark_pending, mark_done, mark_failed, mark_sent or
/// record_run would do.
struct row_write {
    enum class kind { pending, done, failed, sent, run };
    kind what = kind::done;
    std::vector<action_row> rows;
    std::string reason;               ///< failed
    core::timestamp first_check{};    ///< sent
    core::timestamp confirm_by{};     ///< sent
    std::optional<run_record> run{};  ///< run
};

/// Rows of the actions table by status.
struct row_counts {
    std::size_t pending = 0;
    std::size_t done = 0;
    std::size_t failed = 0;
    bool operator==(const row_counts&) const = default;
};

/// The ledger contract. Every write is one durable transaction: when a call returns success the
/// change survives a crash or power loss. Failures are values; nothing here throws for them.
/// Not thread-safe: use from one thread (or strand) at a time.
class ledger {
public:
    virtual ~ledger() = default;

    /// For each of `action_keys` (in that order), which of `threat_ids` still need the action.
    /// A `done` row counts as done while `now - updated_at < cooldown`; without a cooldown a done
    /// row is done for ever. `now` is the ledger's clock.
    [[nodiscard]] virtual result<std::vector<remaining_action>> remaining(
        std::string_view playbook, const std::vector<std::string>& action_keys,
        const std::vector<std::string>& threat_ids, std::optional<std::chrono::milliseconds> cooldown) = 0;

    /// Records the rows as `pending` (attempt + 1) in one transaction, durable on return. Call it
    /// before the POST; if it fails, send nothing.
    [[nodiscard]] virtual result<void> mark_pending(const std::vector<action_row>& rows) = 0;
    /// Several writes, in order, in one durable transaction (one sync): a batch's results with the
    /// next batch's intent.
    [[nodiscard]] virtual result<void> apply(const std::vector<row_write>& writes) = 0;
    /// Records the rows as `done` in one transaction.
    [[nodiscard]] virtual result<void> mark_done(const std::vector<action_row>& rows) = 0;
    /// Records the rows as `failed` with a reason in one transaction; a failed row is retried by
    /// the next run (it is not done).
    [[nodiscard]] virtual result<void> mark_failed(const std::vector<action_row>& rows, std::string_view reason) = 0;

    /// Marks the rows `done` and starts following each one (`sent`, first check at `first_check`,
    /// unconfirmed after `confirm_by`), in one transaction.
    [[nodiscard]] virtual result<void> mark_sent(const std::vector<action_row>& rows, core::timestamp first_check,
                                                 core::timestamp confirm_by) = 0;
    /// `sent` confirmations whose next check is due at `now`, soonest first, at most `limit`.
    [[nodiscard]] virtual result<std::vector<confirmation>> confirmations_due(core::timestamp now,
                                                                              std::size_t limit) = 0;
    /// Writes what checks found: state, next_check, checks, last_status, agent_offline (by key).
    [[nodiscard]] virtual result<void> update_confirmations(const std::vector<confirmation>& updates) = 0;
    /// Confirmations by state, of one playbook (every playbook when empty).
    [[nodiscard]] virtual result<confirmation_counts> count_confirmations(std::string_view playbook) = 0;
    /// Rows by status, across all playbooks (the metrics' gauge; an index keeps it cheap).
    [[nodiscard]] virtual result<row_counts> count_rows() = 0;
    /// The earliest next check of a `sent` confirmation, if any: when the follow-up must wake.
    [[nodiscard]] virtual result<std::optional<core::timestamp>> next_confirmation_check() = 0;

    /// Every row left `pending`, across all playbooks: what to reconcile at start-up.
    [[nodiscard]] virtual result<std::vector<ledger_entry>> pending() = 0;
    /// One row, if present.
    [[nodiscard]] virtual result<std::optional<ledger_entry>> find(std::string_view playbook,
                                                                   std::string_view action_key,
                                                                   std::string_view threat_id) = 0;

    /// Inserts or replaces the run with this `run_id` (record it at start and again at the end).
    [[nodiscard]] virtual result<void> record_run(const run_record& run) = 0;
    [[nodiscard]] virtual result<std::optional<run_record>> find_run(std::string_view run_id) = 0;
    /// The next run id, `r-000001`, `r-000002`, ...: unique and increasing, across restarts too.
    /// Ids may be reserved in blocks (SQLite: 32), so a restart can skip some.
    [[nodiscard]] virtual result<std::string> next_run_id() = 0;

    /// A small durable write (a transaction that changes nothing visible): whether the storage
    /// accepts writes again, after a failure.
    [[nodiscard]] virtual result<void> probe_write() = 0;
    /// A consistency check of the storage (SQLite: `PRAGMA integrity_check`; PostgreSQL: the
    /// session, the schema version, the tables, the run id counter and the indexes).
    [[nodiscard]] virtual result<void> integrity_check() = 0;
};

}  // namespace s1pilot::state
