#include "s1pilot/state/sqlite_ledger.hpp"

#include <fmt/format.h>

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "sqlite_database.hpp"

namespace s1pilot::state {
namespace {

using detail::query;

// Threat ids per `IN (…)` lookup: far below SQLite's variable limit, large enough that 20,000 ids
// take 40 statements per action. The last chunk is padded by repeating an id, so one cached
// statement serves every chunk.
constexpr std::size_t chunk_size = 500;

std::int64_t to_micros(core::timestamp t) {
    return t.time_since_epoch().count();
}
core::timestamp from_micros(std::int64_t us) {
    return core::timestamp{std::chrono::microseconds{us}};
}

std::optional<action_status> parse_status(std::string_view text) {
    if (text == "pending") return action_status::pending;
    if (text == "done") return action_status::done;
    if (text == "failed") return action_status::failed;
    return std::nullopt;
}

constexpr const char* entry_columns =
    "playbook, action_key, threat_id, status, run_id, batch_id, attempt, detail, reason, updated_at";

ledger_entry read_entry(const query& q) {
    ledger_entry entry;
    entry.row = action_row{q.text(0), q.text(1), q.text(2), q.text(4), q.text(5), q.text(7)};
    // The CHECK constraint admits only the three words.
    entry.status = parse_status(q.text(3)).value_or(action_status::failed);
    entry.attempt = static_cast<int>(q.integer(6));
    entry.failure_reason = q.text(8);
    entry.updated_at = from_micros(q.integer(9));
    return entry;
}

std::string remaining_sql() {
    std::string sql =
        "SELECT threat_id, status, updated_at FROM actions WHERE playbook = ?1 AND action_key = ?2 AND threat_id IN (";
    for (std::size_t i = 0; i < chunk_size; ++i) sql += fmt::format("{}?{}", i == 0 ? "" : ",", i + 3);
    return sql + ")";
}

}  // namespace

std::string_view to_string(action_status status) noexcept {
    switch (status) {
        case action_status::pending: return "pending";
        case action_status::done: return "done";
        case action_status::failed: return "failed";
    }
    return "failed";
}

sqlite_ledger::sqlite_ledger(std::unique_ptr<detail::sqlite_database> database, const core::clock& clock)
    : database_(std::move(database)), clock_(clock) {}

sqlite_ledger::~sqlite_ledger() = default;

result<std::unique_ptr<sqlite_ledger>> sqlite_ledger::open(const std::filesystem::path& path, const core::clock& clock,
                                                           const sqlite_options& options) {
    auto database = detail::sqlite_database::open(path, options);
    if (!database) return database.error();
    return std::unique_ptr<sqlite_ledger>(new sqlite_ledger(std::move(*database), clock));
}

int sqlite_ledger::latest_schema_version() noexcept {
    return detail::latest_schema_version();
}

result<int> sqlite_ledger::schema_version() {
    return detail::read_schema_version(*database_);
}

result<std::vector<remaining_action>> sqlite_ledger::remaining(std::string_view playbook,
                                                               const std::vector<std::string>& action_keys,
                                                               const std::vector<std::string>& threat_ids,
                                                               std::optional<std::chrono::milliseconds> cooldown) {
    std::vector<std::string_view> ids;
    std::unordered_set<std::string_view> seen;
    ids.reserve(threat_ids.size());
    for (const auto& id : threat_ids)
        if (seen.insert(id).second) ids.push_back(id);
    // Done at or before this instant is too old to count; without a cooldown nothing is.
    std::optional<std::int64_t> expired_at;
    if (cooldown)
        expired_at = to_micros(clock_.now()) - std::chrono::duration_cast<std::chrono::microseconds>(*cooldown).count();

    auto snapshot = detail::transaction::begin(*database_, false);
    if (!snapshot) return snapshot.error();
    static const std::string sql = remaining_sql();
    std::vector<remaining_action> out;
    for (const auto& action_key : action_keys) {
        std::unordered_map<std::string_view, action_status> known;
        for (std::size_t start = 0; start < ids.size(); start += chunk_size) {
            auto q = database_->prepare(sql, "looking up what is left to do");
            if (!q) return q.error();
            q->bind(1, playbook);
            q->bind(2, action_key);
            for (std::size_t i = 0; i < chunk_size; ++i)
                q->bind(static_cast<int>(i + 3), ids[std::min(start + i, ids.size() - 1)]);
            for (;;) {
                auto row = q->step();
                if (!row) return row.error();
                if (!*row) break;
                auto id = seen.find(q->text(0));
                auto status = parse_status(q->text(1));
                if (id == seen.end() || !status) continue;
                if (*status == action_status::done && expired_at && q->integer(2) <= *expired_at)
                    status = action_status::failed;  // an expired done row is due again, like a failed one
                known[*id] = *status;
            }
        }
        remaining_action action{action_key, {}, {}};
        for (auto id : ids) {
            auto found = known.find(id);
            if (found == known.end() || found->second == action_status::failed)
                action.to_do.emplace_back(id);
            else if (found->second == action_status::pending)
                action.pending.emplace_back(id);
        }
        out.push_back(std::move(action));
    }
    return out;
}

result<void> sqlite_ledger::write_rows(const std::vector<action_row>& rows, action_status status,
                                       std::string_view reason) {
    if (rows.empty()) return {};
    auto unit = detail::transaction::begin(*database_);
    if (!unit) return unit.error();
    if (auto written = upsert_rows(rows, status, reason, to_micros(clock_.now())); !written) return written.error();
    return unit->commit();
}

result<void> sqlite_ledger::upsert_rows(const std::vector<action_row>& rows, action_status status,
                                        std::string_view reason, std::int64_t now) {
    // attempt counts the POSTs since the row was last done: +1 per pending, restarting at 1 when
    // a done row (whose cooldown ran out) is sent again.
    static const std::string sql =
        std::string("INSERT INTO actions (") + entry_columns +
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
        "ON CONFLICT (playbook, action_key, threat_id) DO UPDATE SET "
        "status = excluded.status, run_id = excluded.run_id, batch_id = excluded.batch_id, "
        "attempt = CASE WHEN excluded.status <> 'pending' THEN actions.attempt "
        "WHEN actions.status = 'done' THEN 1 ELSE actions.attempt + 1 END, "
        "detail = CASE WHEN excluded.detail <> '' THEN excluded.detail ELSE actions.detail END, "
        "reason = excluded.reason, updated_at = excluded.updated_at";
    auto context = fmt::format("marking {} row(s) {}", rows.size(), to_string(status));
    auto q = database_->prepare(sql, context);
    if (!q) return q.error();
    for (const auto& row : rows) {
        q->reset();
        q->bind(1, row.playbook);
        q->bind(2, row.action_key);
        q->bind(3, row.threat_id);
        q->bind(4, to_string(status));
        q->bind(5, row.run_id);
        q->bind(6, row.batch_id);
        q->bind(7, std::int64_t{status == action_status::pending ? 1 : 0});
        q->bind(8, row.detail);
        q->bind(9, reason);
        q->bind(10, now);
        if (auto done = q->run(); !done) return done.error();
    }
    return {};
}

result<void> sqlite_ledger::apply(const std::vector<row_write>& writes) {
    if (writes.empty()) return {};
    auto unit = detail::transaction::begin(*database_);
    if (!unit) return unit.error();
    const auto now = to_micros(clock_.now());
    for (const auto& w : writes) {
        if (w.what == row_write::kind::run) {
            if (w.run)
                if (auto recorded = record_run(*w.run); !recorded) return recorded.error();
            continue;
        }
        if (w.rows.empty()) continue;
        result<void> written;
        switch (w.what) {
            case row_write::kind::pending: written = upsert_rows(w.rows, action_status::pending, {}, now); break;
            case row_write::kind::done: written = upsert_rows(w.rows, action_status::done, {}, now); break;
            case row_write::kind::failed: written = upsert_rows(w.rows, action_status::failed, w.reason, now); break;
            case row_write::kind::run: break;
            case row_write::kind::sent:
                written = upsert_rows(w.rows, action_status::done, {}, now);
                if (written) written = follow_rows(w.rows, w.first_check, w.confirm_by, now);
                break;
        }
        if (!written) return written.error();
    }
    return unit->commit();
}

result<void> sqlite_ledger::mark_pending(const std::vector<action_row>& rows) {
    return write_rows(rows, action_status::pending, {});
}

result<void> sqlite_ledger::mark_done(const std::vector<action_row>& rows) {
    return write_rows(rows, action_status::done, {});
}

result<void> sqlite_ledger::mark_failed(const std::vector<action_row>& rows, std::string_view reason) {
    return write_rows(rows, action_status::failed, reason);
}

result<std::vector<ledger_entry>> sqlite_ledger::pending() {
    static const std::string sql = std::string("SELECT ") + entry_columns +
                                   " FROM actions WHERE status = 'pending' ORDER BY playbook, action_key, threat_id";
    auto q = database_->prepare(sql, "listing pending rows");
    if (!q) return q.error();
    std::vector<ledger_entry> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) return out;
        out.push_back(read_entry(*q));
    }
}

result<std::optional<ledger_entry>> sqlite_ledger::find(std::string_view playbook, std::string_view action_key,
                                                        std::string_view threat_id) {
    static const std::string sql = std::string("SELECT ") + entry_columns +
                                   " FROM actions WHERE playbook = ?1 AND action_key = ?2 AND threat_id = ?3";
    auto q = database_->prepare(sql, "reading a row");
    if (!q) return q.error();
    q->bind(1, playbook);
    q->bind(2, action_key);
    q->bind(3, threat_id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return std::optional<ledger_entry>{};
    return std::optional<ledger_entry>{read_entry(*q)};
}

result<void> sqlite_ledger::record_run(const run_record& run) {
    static const std::string sql =
        "INSERT INTO runs (run_id, playbook, started_at, ended_at, outcome, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (run_id) DO UPDATE SET playbook = excluded.playbook, started_at = excluded.started_at, "
        "ended_at = excluded.ended_at, outcome = excluded.outcome, summary = excluded.summary";
    auto q = database_->prepare(sql, "recording a run");
    if (!q) return q.error();
    q->bind(1, run.run_id);
    q->bind(2, run.playbook);
    q->bind(3, to_micros(run.started_at));
    if (run.ended_at)
        q->bind(4, to_micros(*run.ended_at));
    else
        q->bind_null(4);
    q->bind(5, run.outcome);
    q->bind(6, run.summary);
    return q->run();
}

result<std::optional<run_record>> sqlite_ledger::find_run(std::string_view run_id) {
    static const std::string sql =
        "SELECT run_id, playbook, started_at, ended_at, outcome, summary FROM runs WHERE run_id = ?1";
    auto q = database_->prepare(sql, "reading a run");
    if (!q) return q.error();
    q->bind(1, run_id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return std::optional<run_record>{};
    run_record run{q->text(0), q->text(1), from_micros(q->integer(2)), std::nullopt, q->text(4), q->text(5)};
    if (!q->is_null(3)) run.ended_at = from_micros(q->integer(3));
    return std::optional<run_record>{std::move(run)};
}

result<std::string> sqlite_ledger::next_run_id() {
    if (next_run_ == 0 || next_run_ > reserved_end_) {
        // Ids are reserved a block at a time, so that a run's start costs no transaction (and
        // no sync) of its own; a restart skips what is left of a block.
        static const std::string sql = "UPDATE counters SET value = value + ?1 WHERE name = 'run_id' RETURNING value";
        auto unit = detail::transaction::begin(*database_);
        if (!unit) return unit.error();
        std::int64_t end = 0;
        {
            auto q = database_->prepare(sql, "reserving run ids");
            if (!q) return q.error();
            q->bind(1, run_id_block);
            auto row = q->step();
            if (!row) return row.error();
            if (!*row)
                return error{make_error_code(errc::database_error),
                             fmt::format("state database {}: the run id counter is missing", database_->name())};
            end = q->integer(0);
            // The statement must finish before COMMIT, or SQLite refuses to commit.
            if (auto rest = q->run(); !rest) return rest.error();
        }
        if (auto committed = unit->commit(); !committed) return committed.error();
        next_run_ = end - run_id_block + 1;
        reserved_end_ = end;
    }
    return fmt::format("r-{:06}", next_run_++);
}

result<void> sqlite_ledger::probe_write() {
    // Rewrites the counter with its own value: a real page write, synced at commit.
    auto unit = detail::transaction::begin(*database_);
    if (!unit) return unit.error();
    if (auto q = database_->prepare("UPDATE counters SET value = value WHERE name = 'run_id'", "probing a write"); !q)
        return q.error();
    else if (auto ran = q->run(); !ran)
        return ran.error();
    return unit->commit();
}

result<void> sqlite_ledger::integrity_check() {
    auto q = database_->prepare("PRAGMA integrity_check", "checking integrity");
    if (!q) return q.error();
    std::vector<std::string> problems;
    for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) break;
        if (auto line = q->text(0); line != "ok") problems.push_back(std::move(line));
    }
    if (problems.empty()) return {};
    return error{
        make_error_code(errc::integrity_failed),
        fmt::format("state database {} failed its integrity check: {}", database_->name(), fmt::join(problems, "; "))};
}

}  // namespace s1pilot::state
