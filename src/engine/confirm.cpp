// The confirmation follow-up (DESIGN.md §4): accepted mitigations and isolations are read back
// in batches, with backoff, until the agent has carried them out or confirm_within has passed.
// It never sends anything: a missing confirmation is audited and alerted, not retried.

#include "s1pilot/engine/confirmation.hpp"
#include "s1pilot/engine/logging.hpp"

#include <map>
#include <tuple>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;
using state::confirmation;
using state::confirmation_state;

namespace {

/// Confirmations read together: one action, one console, one scope.
struct follow_group {
    std::string action_key;
    row_detail detail;  ///< without baseline
    std::vector<confirmation*> members;
};

std::vector<follow_group> group_due(std::vector<confirmation>& due) {
    std::map<std::tuple<std::string, std::string>, follow_group> groups;
    for (auto& c : due) {
        auto d = decode_detail(c.row.detail).value_or(row_detail{});
        d.baseline.reset();
        auto& g = groups[{c.row.action_key, encode_detail(d)}];
        g.action_key = c.row.action_key;
        g.detail = std::move(d);
        g.members.push_back(&c);
    }
    std::vector<follow_group> out;
    for (auto& [key, g] : groups) out.push_back(std::move(g));
    return out;
}

/// Applies one judgement to a confirmation.
void apply(confirmation& c, const confirmation_check& check, core::timestamp now) {
    c.state = check.state;
    c.last_status = check.last_status;
    c.agent_offline = check.agent_offline;
    c.next_check = next_confirmation_check(c.checks, now, c.confirm_by);
    ++c.checks;
}

}  // namespace

namespace detail {

/// One pass over the due confirmations: read, judge, record, audit.
class follow_pass {
public:
    explicit follow_pass(engine::impl& engine) : engine_(engine) {}

    asio::awaitable<bool> run() {
        auto* ledger = engine_.services.ledger;
        const auto now = engine_.services.clock->now();
        auto due = co_await engine_.on_worker([&] { return ledger->confirmations_due(now, 1000); });
        if (!due) {
            engine_.fail_closed("ledger: " + due.error().message);
            co_return false;
        }
        if (due->empty()) co_return true;
        auto groups = group_due(*due);
        for (auto& g : groups) co_await check_group(g, now);
        const auto& updates = *due;
        auto recorded = co_await engine_.on_worker([&] { return ledger->update_confirmations(updates); });
        if (!recorded) {
            engine_.fail_closed("ledger: " + recorded.error().message);
            co_return false;
        }
        co_return co_await audit(*due, now);
    }

private:
    asio::awaitable<void> check_group(follow_group& g, core::timestamp now) {
        const auto expected = parse_effect(g.action_key, g.detail.note_text);
        const auto session = engine_.session_for(g.detail.console);
        const auto size = session ? static_cast<std::size_t>(std::max(session->config.batch_size, 1)) : 1;
        for (std::size_t start = 0; start < g.members.size(); start += size) {
            std::vector<confirmation*> chunk(
                g.members.begin() + static_cast<std::ptrdiff_t>(start),
                g.members.begin() + static_cast<std::ptrdiff_t>(std::min(g.members.size(), start + size)));
            if (!expected || !session) {
                const auto why = !expected ? "the row does not say what to check" : "the console is not configured";
                for (auto* c : chunk) apply(*c, {confirmation_state::unconfirmed, why, false}, now);
                continue;
            }
            co_await check_chunk(*session, *expected, g.detail.scope, chunk, now);
        }
    }

    asio::awaitable<void> check_chunk(console_session& session, const effect& expected,
                                      const filter::threat_filter& scope, const std::vector<confirmation*>& chunk,
                                      core::timestamp now) {
        std::vector<std::string> ids;
        for (const auto* c : chunk) ids.push_back(c->row.threat_id);
        const effect_read read = co_await engine_.read_effect(session, expected, scope, ids, nullptr);
        for (auto* c : chunk) {
            if (!read.ok) {
                // Unread is not unconfirmed until the deadline: try again later.
                confirmation_check check{confirmation_state::sent, "not read: " + read.error, c->agent_offline};
                if (now >= c->confirm_by) check.state = confirmation_state::unconfirmed;
                apply(*c, check, now);
                continue;
            }
            const auto id = s1::parse_object_id(c->row.threat_id);
            const s1::threat_record* threat = nullptr;
            for (const auto& t : read.threats)
                if (id && t.id == *id) threat = &t;
            const auto detail = decode_detail(c->row.detail);
            const mitigation_baseline* baseline = detail && detail->baseline ? &*detail->baseline : nullptr;
            const auto check = judge_confirmation(expected, threat, baseline, now, c->confirm_by);
            if (check.state == confirmation_state::confirmed && threat != nullptr && threat->created_at)
                contained(c->row.playbook, c->row.action_key, *threat->created_at);
            apply(*c, check, now);
        }
    }

    void contained(const std::string& playbook, const std::string& action_key, core::timestamp created) {
        if (const auto* p = engine_.current->find(playbook)) engine_.observe_contained(*p, action_key, {created});
    }

    /// One record per (run, action, outcome, last status, offline), and the log lines a SOC reads.
    asio::awaitable<bool> audit(const std::vector<confirmation>& checked, core::timestamp now) {
        using key = std::tuple<std::string, std::string, std::string, std::string, std::string, bool>;
        std::map<key, confirmation_event> events;
        std::map<key, std::string> consoles;
        for (const auto& c : checked) {
            if (c.state == confirmation_state::sent) continue;
            const key k{c.row.playbook, c.row.run_id,   c.row.action_key, std::string(state::to_string(c.state)),
                        c.last_status,  c.agent_offline};
            auto& e = events[k];
            e.action = c.row.action_key;
            e.state = state::to_string(c.state);
            e.last_status = c.last_status;
            e.agent_offline = c.agent_offline;
            e.checks = std::max(e.checks, c.checks);
            e.waited_ms = std::max<std::int64_t>(
                e.waited_ms, std::chrono::duration_cast<std::chrono::milliseconds>(now - c.sent_at).count());
            e.threat_ids.push_back(c.row.threat_id);
            consoles[k] = decode_detail(c.row.detail).value_or(row_detail{}).console;
        }
        for (const auto& [k, e] : events) {
            const auto& playbook = std::get<0>(k);
            const auto* p = engine_.current->find(playbook);
            run_identity id{std::get<1>(k), playbook, p ? p->sha256 : std::string(), consoles[k], false};
            auto record = confirmation_record(id, e);
            if (!co_await engine_.audit(std::move(record))) co_return false;
            log_fields fields{{"playbook", playbook},
                              {"action", e.action},
                              {"threats", std::to_string(e.threat_ids.size())},
                              {"last_status", e.last_status}};
            if (e.state == "confirmed") {
                log_info("action confirmed by the agents", fields);
            } else {
                fields.emplace_back("agent_offline", e.agent_offline ? "yes" : "no");
                log_error(e.state == "unconfirmed" ? "action not confirmed within confirm_within: it may not have "
                                                     "been carried out"
                                                   : "the agents reported the action failed",
                          fields);
            }
        }
        co_return true;
    }

    engine::impl& engine_;
};

}  // namespace detail

asio::awaitable<bool> engine::impl::confirm_due() {
    detail::follow_pass pass(*this);
    co_return co_await pass.run();
}

asio::awaitable<void> engine::impl::confirmations_loop() {
    using namespace std::chrono_literals;
    auto* ledger = services.ledger;
    while (!stopping) {
        // A failed write fails closed; the loop waits it out. A standby follows nothing: the
        // active does.
        if (ready() && acting()) (void)co_await confirm_due();
        // Wake for the next check due, at least every 5 s (rows accepted meanwhile), at most
        // every 250 ms.
        auto next = co_await on_worker([&] { return ledger->next_confirmation_check(); });
        auto wait = std::chrono::milliseconds(5s);
        if (next && *next) {
            const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(**next - services.clock->now());
            wait = std::clamp<std::chrono::milliseconds>(until, 250ms, 5s);
        }
        if (!co_await sleep(wait)) break;
    }
    following = false;
}

asio::awaitable<state::confirmation_counts> engine::follow_confirmations(std::chrono::milliseconds wait) {
    using namespace std::chrono_literals;
    auto& s = *impl_;
    auto* ledger = s.services.ledger;
    const auto deadline = s.services.clock->now() + wait;
    state::confirmation_counts counts;
    for (;;) {
        if (wait > 0ms && s.ready() && !co_await s.confirm_due()) break;
        auto counted = co_await s.on_worker([&] { return ledger->count_confirmations(""); });
        if (!counted) {
            s.fail_closed("ledger: " + counted.error().message);
            break;
        }
        counts = *counted;
        const auto now = s.services.clock->now();
        if (counts.sent == 0 || now >= deadline || s.stopping) break;
        auto next = co_await s.on_worker([&] { return ledger->next_confirmation_check(); });
        auto until = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        if (next && *next) until = std::min(until, std::chrono::duration_cast<std::chrono::milliseconds>(**next - now));
        if (!co_await s.sleep(std::max<std::chrono::milliseconds>(until, 10ms))) break;
    }
    co_return counts;
}

}  // namespace s1pilot::engine
