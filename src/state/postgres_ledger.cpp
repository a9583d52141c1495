// The PostgreSQL ledger's rows, runs and run ids: the statements of sqlite_ledger.cpp in
// PostgreSQL's dialect, with the same semantics (the contract suite in tests/unit/state runs
// against both).

#include "s1pilot/state/postgres_ledger.hpp"

#include <fmt/format.h>

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "postgres_database.hpp"

namespace s1pilot::state {
namespace {

using detail::number;
using detail::rows;
using detail::text;

std::int64_t to_micros(core::timestamp t) {
    return t.time_since_epoch().count();
}
core::timestamp from_micros(std::int64_t us) {
    return core::timestamp{std::chrono::microseconds{us}};
}

std::optional<action_status> parse_status(std::string_view word) {
    if (word == "pending") return action_status::pending;
    if (word == "done") return action_status::done;
    if (word == "failed") return action_status::failed;
    return std::nullopt;
}

constexpr const char* entry_columns =
    "playbook, action_key, threat_id, status, run_id, batch_id, attempt, detail, reason, updated_at";

ledger_entry read_entry(const rows& r, int i) {
    ledger_entry entry;
    entry.row = action_row{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 4), r.text(i, 5), r.text(i, 7)};
    // The CHECK constraint admits only the three words.
    entry.status = parse_status(r.text(i, 3)).value_or(action_status::failed);
    entry.attempt = static_cast<int>(r.integer(i, 6));
    entry.failure_reason = r.text(i, 8);
    entry.updated_at = from_micros(r.integer(i, 9));
    return entry;
}

// A text[] literal: every element quoted, `"` and `\` escaped. It travels as a parameter value,
// never as SQL.
template <typename Range>
std::string array_literal(const Range& values) {
    std::string out = "{";
    for (const auto& value : values) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char c : std::string_view(value)) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

}  // namespace

postgres_ledger::postgres_ledger(std::unique_ptr<detail::postgres_database> database, session_settings settings,
                                 const core::clock& clock)
    : database_(std::move(database)), settings_(std::move(settings)), clock_(clock) {}

postgres_ledger::~postgres_ledger() = default;

result<std::unique_ptr<postgres_ledger>> postgres_ledger::open(std::string_view connection, std::string_view password,
                                                               const core::clock& clock,
                                                               const postgres_options& options) {
    auto database = detail::postgres_database::connect(connection, password, options);
    if (!database) return database.error();
    session_settings settings{std::string(connection), std::string(password), options};
    return std::unique_ptr<postgres_ledger>(new postgres_ledger(std::move(*database), std::move(settings), clock));
}

int postgres_ledger::latest_schema_version() noexcept {
    return detail::latest_postgres_schema_version();
}

result<int> postgres_ledger::schema_version() {
    return detail::read_schema_version(*database_);
}

const std::string& postgres_ledger::name() const noexcept {
    return database_->name();
}

result<std::vector<remaining_action>> postgres_ledger::remaining(std::string_view playbook,
                                                                 const std::vector<std::string>& action_keys,
                                                                 const std::vector<std::string>& threat_ids,
                                                                 std::optional<std::chrono::milliseconds> cooldown) {
    std::vector<std::string_view> ids;
    std::unordered_set<std::string_view> seen;
    ids.reserve(threat_ids.size());
    for (const auto& id : threat_ids)
        if (seen.insert(id).second) ids.push_back(id);
    std::vector<remaining_action> out;
    if (action_keys.empty()) return out;
    // Done at or before this instant is too old to count; without a cooldown nothing is.
    std::optional<std::int64_t> expired_at;
    if (cooldown)
        expired_at = to_micros(clock_.now()) - std::chrono::duration_cast<std::chrono::microseconds>(*cooldown).count();

    // One statement for every action and id: one snapshot, one round trip.
    std::unordered_map<std::string_view, std::unordered_map<std::string_view, action_status>> known;
    std::optional<rows> found;
    if (!ids.empty()) {
        static const std::string sql =
            "SELECT action_key, threat_id, status, updated_at FROM actions WHERE playbook = $1 "
            "AND action_key = ANY($2::text[]) AND threat_id = ANY($3::text[])";
        auto result = database_->run(sql, "looking up what is left to do",
                                     {text(playbook), array_literal(action_keys), array_literal(ids)});
        if (!result) return result.error();
        found.emplace(std::move(*result));
    }
    // Keys into `known` point into `action_keys` and `seen`, which outlive it.
    std::unordered_set<std::string_view> keys(action_keys.begin(), action_keys.end());
    for (int i = 0; found && i < found->size(); ++i) {
        auto key = keys.find(found->text(i, 0));
        auto id = seen.find(found->text(i, 1));
        auto status = parse_status(found->text(i, 2));
        if (key == keys.end() || id == seen.end() || !status) continue;
        if (*status == action_status::done && expired_at && found->integer(i, 3) <= *expired_at)
            status = action_status::failed;  // an expired done row is due again, like a failed one
        known[*key][*id] = *status;
    }
    for (const auto& action_key : action_keys) {
        const auto& statuses = known[action_key];
        remaining_action action{action_key, {}, {}};
        for (auto id : ids) {
            auto status = statuses.find(id);
            if (status == statuses.end() || status->second == action_status::failed)
                action.to_do.emplace_back(id);
            else if (status->second == action_status::pending)
                action.pending.emplace_back(id);
        }
        out.push_back(std::move(action));
    }
    return out;
}

result<void> postgres_ledger::write_rows(const std::vector<action_row>& rows, action_status status,
                                         std::string_view reason) {
    if (rows.empty()) return {};
    auto unit = detail::pg_transaction::begin(*database_);
    if (!unit) return unit.error();
    if (auto written = upsert_rows(rows, status, reason, to_micros(clock_.now())); !written) return written.error();
    return unit->commit();
}

result<void> postgres_ledger::upsert_rows(const std::vector<action_row>& rows, action_status status,
                                          std::string_view reason, std::int64_t now) {
    // attempt counts the POSTs since the row was last done: +1 per pending, restarting at 1 when
    // a done row (whose cooldown ran out) is sent again.
    static const std::string on_conflict =
        " ON CONFLICT (playbook, action_key, threat_id) DO UPDATE SET "
        "status = excluded.status, run_id = excluded.run_id, batch_id = excluded.batch_id, "
        "attempt = CASE WHEN excluded.status <> 'pending' THEN a.attempt "
        "WHEN a.status = 'done' THEN 1 ELSE a.attempt + 1 END, "
        "detail = CASE WHEN excluded.detail <> '' THEN excluded.detail ELSE a.detail END, "
        "reason = excluded.reason, updated_at = excluded.updated_at";
    static const std::string one_row = std::string("INSERT INTO actions AS a (") + entry_columns +
                                       ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)" + on_conflict;
    // A whole batch in one statement (one round trip): the columns that vary travel as arrays.
    static const std::string many_rows =
        std::string("INSERT INTO actions AS a (") + entry_columns +
        ") SELECT u.playbook, u.action_key, u.threat_id, $4::text, u.run_id, u.batch_id, $7::integer, u.detail, "
        "$9::text, $10::bigint FROM unnest($1::text[], $2::text[], $3::text[], $5::text[], $6::text[], $8::text[]) "
        "AS u (playbook, action_key, threat_id, run_id, batch_id, detail)" +
        on_conflict;
    const auto context = fmt::format("marking {} row(s) {}", rows.size(), to_string(status));
    const auto word = text(to_string(status));
    const auto first_attempt = number(status == action_status::pending ? 1 : 0);
    const auto at = number(now);

    // One statement cannot update a row twice, so a batch naming a row twice (each write counts,
    // as in SQLite) goes row by row.
    std::unordered_set<std::string> keys;
    bool unique = rows.size() > 1;
    for (const auto& row : rows)
        if (unique && !keys.insert(row.playbook + '\0' + row.action_key + '\0' + row.threat_id).second) unique = false;
    if (unique) {
        auto column = [&](std::string action_row::*member) {
            std::vector<std::string_view> values;
            values.reserve(rows.size());
            for (const auto& row : rows) values.emplace_back(row.*member);
            return array_literal(values);
        };
        auto written = database_->run(
            many_rows, context,
            {column(&action_row::playbook), column(&action_row::action_key), column(&action_row::threat_id), word,
             column(&action_row::run_id), column(&action_row::batch_id), first_attempt, column(&action_row::detail),
             text(reason), at});
        if (!written) return written.error();
        return {};
    }
    for (const auto& row : rows) {
        auto written =
            database_->run(one_row, context,
                           {text(row.playbook), text(row.action_key), text(row.threat_id), word, text(row.run_id),
                            text(row.batch_id), first_attempt, text(row.detail), text(reason), at});
        if (!written) return written.error();
    }
    return {};
}

result<void> postgres_ledger::apply(const std::vector<row_write>& writes) {
    if (writes.empty()) return {};
    auto unit = detail::pg_transaction::begin(*database_);
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
            case row_write::kind::run: break;
            case row_write::kind::pending: written = upsert_rows(w.rows, action_status::pending, {}, now); break;
            case row_write::kind::done: written = upsert_rows(w.rows, action_status::done, {}, now); break;
            case row_write::kind::failed: written = upsert_rows(w.rows, action_status::failed, w.reason, now); break;
            case row_write::kind::sent:
                written = upsert_rows(w.rows, action_status::done, {}, now);
                if (written) written = follow_rows(w.rows, w.first_check, w.confirm_by, now);
                break;
        }
        if (!written) return written.error();
    }
    return unit->commit();
}

result<void> postgres_ledger::mark_pending(const std::vector<action_row>& rows) {
    return write_rows(rows, action_status::pending, {});
}

result<void> postgres_ledger::mark_done(const std::vector<action_row>& rows) {
    return write_rows(rows, action_status::done, {});
}

result<void> postgres_ledger::mark_failed(const std::vector<action_row>& rows, std::string_view reason) {
    return write_rows(rows, action_status::failed, reason);
}

result<std::vector<ledger_entry>> postgres_ledger::pending() {
    static const std::string sql = std::string("SELECT ") + entry_columns +
                                   " FROM actions WHERE status = 'pending' ORDER BY playbook, action_key, threat_id";
    auto found = database_->run(sql, "listing pending rows", {});
    if (!found) return found.error();
    std::vector<ledger_entry> out;
    out.reserve(static_cast<std::size_t>(found->size()));
    for (int i = 0; i < found->size(); ++i) out.push_back(read_entry(*found, i));
    return out;
}

result<std::optional<ledger_entry>> postgres_ledger::find(std::string_view playbook, std::string_view action_key,
                                                          std::string_view threat_id) {
    static const std::string sql = std::string("SELECT ") + entry_columns +
                                   " FROM actions WHERE playbook = $1 AND action_key = $2 AND threat_id = $3";
    auto found = database_->run(sql, "reading a row", {text(playbook), text(action_key), text(threat_id)});
    if (!found) return found.error();
    if (found->size() == 0) return std::optional<ledger_entry>{};
    return std::optional<ledger_entry>{read_entry(*found, 0)};
}

result<void> postgres_ledger::record_run(const run_record& run) {
    static const std::string sql =
        "INSERT INTO runs (run_id, playbook, started_at, ended_at, outcome, summary) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (run_id) DO UPDATE SET playbook = excluded.playbook, started_at = excluded.started_at, "
        "ended_at = excluded.ended_at, outcome = excluded.outcome, summary = excluded.summary";
    auto written = database_->run(
        sql, "recording a run",
        {text(run.run_id), text(run.playbook), number(to_micros(run.started_at)),
         run.ended_at ? number(to_micros(*run.ended_at)) : detail::parameter{}, text(run.outcome), text(run.summary)});
    if (!written) return written.error();
    return {};
}

result<void> postgres_ledger::probe_write() {
    // Rewrites the counter with its own value: a real write, committed durably.
    auto written = database_->run("UPDATE counters SET value = value WHERE name = 'run_id'", "probing a write", {});
    if (!written) return written.error();
    return {};
}

result<std::optional<run_record>> postgres_ledger::find_run(std::string_view run_id) {
    static const std::string sql =
        "SELECT run_id, playbook, started_at, ended_at, outcome, summary FROM runs WHERE run_id = $1";
    auto found = database_->run(sql, "reading a run", {text(run_id)});
    if (!found) return found.error();
    if (found->size() == 0) return std::optional<run_record>{};
    run_record run{found->text(0, 0), found->text(0, 1), from_micros(found->integer(0, 2)),
                   std::nullopt,      found->text(0, 4), found->text(0, 5)};
    if (!found->is_null(0, 3)) run.ended_at = from_micros(found->integer(0, 3));
    return std::optional<run_record>{std::move(run)};
}

result<std::string> postgres_ledger::next_run_id() {
    // One statement, so one transaction; the row lock makes concurrent instances take turns.
    static const std::string sql = "UPDATE counters SET value = value + 1 WHERE name = 'run_id' RETURNING value";
    auto found = database_->run(sql, "allocating a run id", {});
    if (!found) return found.error();
    if (found->size() != 1)
        return error{make_error_code(errc::database_error),
                     fmt::format("state database {}: the run id counter is missing", database_->name())};
    return fmt::format("r-{:06}", found->integer(0, 0));
}

result<void> postgres_ledger::integrity_check() {
    if (!database_->alive())
        return error{make_error_code(errc::integrity_failed),
                     fmt::format("state database {} failed its integrity check: the session does not answer",
                                 database_->name())};
    return detail::check_schema(*database_);
}

result<bool> postgres_ledger::try_advisory_lock(std::int64_t key) {
    auto taken = database_->run("SELECT pg_try_advisory_lock($1)", "taking an advisory lock", {number(key)});
    if (!taken) return taken.error();
    return taken->boolean(0, 0);
}

bool postgres_ledger::session_alive() {
    return database_->alive();
}

result<bool> postgres_ledger::try_lock(std::int64_t key) {
    return try_advisory_lock(key);
}

result<void> postgres_ledger::check_session(std::chrono::milliseconds timeout) {
    return database_->check(timeout);
}

result<void> postgres_ledger::reconnect() {
    // The old session goes first: whatever it held is released, and nothing can use it again.
    database_->close();
    auto fresh = detail::postgres_database::connect(settings_.connection, settings_.password, settings_.options);
    if (!fresh) return fresh.error();
    database_ = std::move(*fresh);
    return {};
}

bool postgres_ledger::connected() const noexcept {
    return database_->open();
}

}  // namespace s1pilot::state
