// The ledger's confirmations (DESIGN §4): accepted mitigations and isolations followed until the
// agent carries them out. The action row is marked done in the same transaction that starts the
// follow-up, so a crash cannot leave one without the other.

#include "s1pilot/state/sqlite_ledger.hpp"

#include <fmt/format.h>

#include "sqlite_database.hpp"

namespace s1pilot::state {
namespace {

std::int64_t to_micros(core::timestamp t) {
    return t.time_since_epoch().count();
}
core::timestamp from_micros(std::int64_t us) {
    return core::timestamp{std::chrono::microseconds{us}};
}

std::optional<confirmation_state> parse_state(std::string_view text) {
    for (auto s : {confirmation_state::sent, confirmation_state::confirmed, confirmation_state::confirmed_failed,
                   confirmation_state::unconfirmed})
        if (to_string(s) == text) return s;
    return std::nullopt;
}

constexpr const char* columns =
    "playbook, action_key, threat_id, state, run_id, batch_id, detail, sent_at, confirm_by, next_check, checks, "
    "last_status, agent_offline";

confirmation read_confirmation(const detail::query& q) {
    confirmation c;
    c.row = action_row{q.text(0), q.text(1), q.text(2), q.text(4), q.text(5), q.text(6)};
    // The CHECK constraint admits only the four words.
    c.state = parse_state(q.text(3)).value_or(confirmation_state::unconfirmed);
    c.sent_at = from_micros(q.integer(7));
    c.confirm_by = from_micros(q.integer(8));
    c.next_check = from_micros(q.integer(9));
    c.checks = static_cast<int>(q.integer(10));
    c.last_status = q.text(11);
    c.agent_offline = q.integer(12) != 0;
    return c;
}

}  // namespace

std::string_view to_string(confirmation_state state) noexcept {
    switch (state) {
        case confirmation_state::sent: return "sent";
        case confirmation_state::confirmed: return "confirmed";
        case confirmation_state::confirmed_failed: return "confirmed_failed";
        case confirmation_state::unconfirmed: return "unconfirmed";
    }
    return "unconfirmed";
}

result<void> sqlite_ledger::mark_sent(const std::vector<action_row>& rows, core::timestamp first_check,
                                      core::timestamp confirm_by) {
    if (rows.empty()) return {};
    auto unit = detail::transaction::begin(*database_);
    if (!unit) return unit.error();
    const auto now = to_micros(clock_.now());
    if (auto done = upsert_rows(rows, action_status::done, {}, now); !done) return done.error();
    if (auto followed = follow_rows(rows, first_check, confirm_by, now); !followed) return followed.error();
    return unit->commit();
}

result<void> sqlite_ledger::follow_rows(const std::vector<action_row>& rows, core::timestamp first_check,
                                        core::timestamp confirm_by, std::int64_t now) {
    // A redone action (its cooldown ran out) starts a new follow-up: the old one is replaced.
    static const std::string sql = std::string("INSERT OR REPLACE INTO confirmations (") + columns +
                                   ", updated_at) VALUES (?1, ?2, ?3, 'sent', ?4, ?5, ?6, ?7, ?8, ?9, 0, '', 0, ?7)";
    const auto context = fmt::format("following {} accepted action(s)", rows.size());
    auto q = database_->prepare(sql, context);
    if (!q) return q.error();
    for (const auto& row : rows) {
        q->reset();
        q->bind(1, row.playbook);
        q->bind(2, row.action_key);
        q->bind(3, row.threat_id);
        q->bind(4, row.run_id);
        q->bind(5, row.batch_id);
        q->bind(6, row.detail);
        q->bind(7, now);
        q->bind(8, to_micros(confirm_by));
        q->bind(9, to_micros(first_check));
        if (auto written = q->run(); !written) return written.error();
    }
    return {};
}

result<std::vector<confirmation>> sqlite_ledger::confirmations_due(core::timestamp now, std::size_t limit) {
    static const std::string sql = std::string("SELECT ") + columns +
                                   " FROM confirmations WHERE state = 'sent' AND next_check <= ?1 "
                                   "ORDER BY next_check, playbook, action_key, threat_id LIMIT ?2";
    auto q = database_->prepare(sql, "listing confirmations due");
    if (!q) return q.error();
    q->bind(1, to_micros(now));
    q->bind(2, static_cast<std::int64_t>(limit));
    std::vector<confirmation> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) return out;
        out.push_back(read_confirmation(*q));
    }
}

result<void> sqlite_ledger::update_confirmations(const std::vector<confirmation>& updates) {
    if (updates.empty()) return {};
    static const std::string sql =
        "UPDATE confirmations SET state = ?4, next_check = ?5, checks = ?6, last_status = ?7, agent_offline = ?8, "
        "updated_at = ?9 WHERE playbook = ?1 AND action_key = ?2 AND threat_id = ?3";
    auto unit = detail::transaction::begin(*database_);
    if (!unit) return unit.error();
    const auto now = to_micros(clock_.now());
    const auto context = fmt::format("recording {} confirmation check(s)", updates.size());
    for (const auto& c : updates) {
        auto q = database_->prepare(sql, context);
        if (!q) return q.error();
        q->bind(1, c.row.playbook);
        q->bind(2, c.row.action_key);
        q->bind(3, c.row.threat_id);
        q->bind(4, to_string(c.state));
        q->bind(5, to_micros(c.next_check));
        q->bind(6, std::int64_t{c.checks});
        q->bind(7, c.last_status);
        q->bind(8, std::int64_t{c.agent_offline ? 1 : 0});
        q->bind(9, now);
        if (auto written = q->run(); !written) return written.error();
    }
    return unit->commit();
}

result<confirmation_counts> sqlite_ledger::count_confirmations(std::string_view playbook) {
    static const std::string sql =
        "SELECT state, count(*) FROM confirmations WHERE ?1 = '' OR playbook = ?1 GROUP BY state";
    auto q = database_->prepare(sql, "counting confirmations");
    if (!q) return q.error();
    q->bind(1, playbook);
    confirmation_counts out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) return out;
        const auto n = static_cast<std::size_t>(q->integer(1));
        switch (parse_state(q->text(0)).value_or(confirmation_state::unconfirmed)) {
            case confirmation_state::sent: out.sent += n; break;
            case confirmation_state::confirmed: out.confirmed += n; break;
            case confirmation_state::confirmed_failed: out.confirmed_failed += n; break;
            case confirmation_state::unconfirmed: out.unconfirmed += n; break;
        }
    }
}

result<row_counts> sqlite_ledger::count_rows() {
    // actions_by_status makes this a scan of a narrow index, not of the rows.
    static const std::string sql = "SELECT status, count(*) FROM actions GROUP BY status";
    auto q = database_->prepare(sql, "counting ledger rows");
    if (!q) return q.error();
    row_counts out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) return out;
        const auto n = static_cast<std::size_t>(q->integer(1));
        const auto status = q->text(0);
        if (status == "pending")
            out.pending += n;
        else if (status == "done")
            out.done += n;
        else
            out.failed += n;
    }
}

result<std::optional<core::timestamp>> sqlite_ledger::next_confirmation_check() {
    static const std::string sql = "SELECT min(next_check) FROM confirmations WHERE state = 'sent'";
    auto q = database_->prepare(sql, "finding the next confirmation check");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    if (!*row || q->is_null(0)) return std::optional<core::timestamp>{};
    return std::optional<core::timestamp>{from_micros(q->integer(0))};
}

}  // namespace s1pilot::state
