// The PostgreSQL ledger's confirmations (DESIGN §4), as sqlite_confirmations.cpp: the action row is
// marked done in the same transaction that starts the follow-up.

#include "s1pilot/state/postgres_ledger.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

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

std::optional<confirmation_state> parse_state(std::string_view word) {
    for (auto s : {confirmation_state::sent, confirmation_state::confirmed, confirmation_state::confirmed_failed,
                   confirmation_state::unconfirmed})
        if (to_string(s) == word) return s;
    return std::nullopt;
}

constexpr const char* columns =
    "playbook, action_key, threat_id, state, run_id, batch_id, detail, sent_at, confirm_by, next_check, checks, "
    "last_status, agent_offline";

confirmation read_confirmation(const rows& r, int i) {
    confirmation c;
    c.row = action_row{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 4), r.text(i, 5), r.text(i, 6)};
    // The CHECK constraint admits only the four words.
    c.state = parse_state(r.text(i, 3)).value_or(confirmation_state::unconfirmed);
    c.sent_at = from_micros(r.integer(i, 7));
    c.confirm_by = from_micros(r.integer(i, 8));
    c.next_check = from_micros(r.integer(i, 9));
    c.checks = static_cast<int>(r.integer(i, 10));
    c.last_status = r.text(i, 11);
    c.agent_offline = r.boolean(i, 12);
    return c;
}

}  // namespace

result<void> postgres_ledger::mark_sent(const std::vector<action_row>& rows, core::timestamp first_check,
                                        core::timestamp confirm_by) {
    if (rows.empty()) return {};
    auto unit = detail::pg_transaction::begin(*database_);
    if (!unit) return unit.error();
    const auto now = to_micros(clock_.now());
    if (auto done = upsert_rows(rows, action_status::done, {}, now); !done) return done.error();
    if (auto followed = follow_rows(rows, first_check, confirm_by, now); !followed) return followed.error();
    return unit->commit();
}

result<void> postgres_ledger::follow_rows(const std::vector<action_row>& rows, core::timestamp first_check,
                                          core::timestamp confirm_by, std::int64_t now) {
    // A redone action (its cooldown ran out) starts a new follow-up: the old one is replaced.
    static const std::string sql =
        std::string("INSERT INTO confirmations (") + columns +
        ", updated_at) VALUES ($1, $2, $3, 'sent', $4, $5, $6, $7, $8, $9, 0, '', false, $7) "
        "ON CONFLICT (playbook, action_key, threat_id) DO UPDATE SET state = 'sent', run_id = excluded.run_id, "
        "batch_id = excluded.batch_id, detail = excluded.detail, sent_at = excluded.sent_at, "
        "confirm_by = excluded.confirm_by, next_check = excluded.next_check, checks = 0, last_status = '', "
        "agent_offline = false, updated_at = excluded.updated_at";
    const auto context = fmt::format("following {} accepted action(s)", rows.size());
    const auto at = number(now);
    const auto by = number(to_micros(confirm_by));
    const auto first = number(to_micros(first_check));
    for (const auto& row : rows) {
        auto written = database_->run(sql, context,
                                      {text(row.playbook), text(row.action_key), text(row.threat_id), text(row.run_id),
                                       text(row.batch_id), text(row.detail), at, by, first});
        if (!written) return written.error();
    }
    return {};
}

result<std::vector<confirmation>> postgres_ledger::confirmations_due(core::timestamp now, std::size_t limit) {
    static const std::string sql = std::string("SELECT ") + columns +
                                   " FROM confirmations WHERE state = 'sent' AND next_check <= $1 "
                                   "ORDER BY next_check, playbook, action_key, threat_id LIMIT $2";
    auto found = database_->run(
        sql, "listing confirmations due",
        {number(to_micros(now)), number(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)))});
    if (!found) return found.error();
    std::vector<confirmation> out;
    out.reserve(static_cast<std::size_t>(found->size()));
    for (int i = 0; i < found->size(); ++i) out.push_back(read_confirmation(*found, i));
    return out;
}

result<void> postgres_ledger::update_confirmations(const std::vector<confirmation>& updates) {
    if (updates.empty()) return {};
    static const std::string sql =
        "UPDATE confirmations SET state = $4, next_check = $5, checks = $6, last_status = $7, agent_offline = $8, "
        "updated_at = $9 WHERE playbook = $1 AND action_key = $2 AND threat_id = $3";
    auto unit = detail::pg_transaction::begin(*database_);
    if (!unit) return unit.error();
    const auto now = number(to_micros(clock_.now()));
    const auto context = fmt::format("recording {} confirmation check(s)", updates.size());
    for (const auto& c : updates) {
        auto written = database_->run(sql, context,
                                      {text(c.row.playbook), text(c.row.action_key), text(c.row.threat_id),
                                       text(to_string(c.state)), number(to_micros(c.next_check)), number(c.checks),
                                       text(c.last_status), text(c.agent_offline ? "true" : "false"), now});
        if (!written) return written.error();
    }
    return unit->commit();
}

result<confirmation_counts> postgres_ledger::count_confirmations(std::string_view playbook) {
    static const std::string sql =
        "SELECT state, count(*) FROM confirmations WHERE $1::text = '' OR playbook = $1::text GROUP BY state";
    auto found = database_->run(sql, "counting confirmations", {text(playbook)});
    if (!found) return found.error();
    confirmation_counts out;
    for (int i = 0; i < found->size(); ++i) {
        const auto n = static_cast<std::size_t>(found->integer(i, 1));
        switch (parse_state(found->text(i, 0)).value_or(confirmation_state::unconfirmed)) {
            case confirmation_state::sent: out.sent += n; break;
            case confirmation_state::confirmed: out.confirmed += n; break;
            case confirmation_state::confirmed_failed: out.confirmed_failed += n; break;
            case confirmation_state::unconfirmed: out.unconfirmed += n; break;
        }
    }
    return out;
}

result<row_counts> postgres_ledger::count_rows() {
    static const std::string sql = "SELECT status, count(*) FROM actions GROUP BY status";
    auto found = database_->run(sql, "counting ledger rows", {});
    if (!found) return found.error();
    row_counts out;
    for (int i = 0; i < found->size(); ++i) {
        const auto n = static_cast<std::size_t>(found->integer(i, 1));
        const auto status = found->text(i, 0);
        if (status == "pending")
            out.pending += n;
        else if (status == "done")
            out.done += n;
        else
            out.failed += n;
    }
    return out;
}

result<std::optional<core::timestamp>> postgres_ledger::next_confirmation_check() {
    static const std::string sql = "SELECT min(next_check) FROM confirmations WHERE state = 'sent'";
    auto found = database_->run(sql, "finding the next confirmation check", {});
    if (!found) return found.error();
    if (found->size() == 0 || found->is_null(0, 0)) return std::optional<core::timestamp>{};
    return std::optional<core::timestamp>{from_micros(found->integer(0, 0))};
}

}  // namespace s1pilot::state
