// Reconciling ledger rows left pending: at start-up (a crash, a kill, a fail-over) and when a run
// meets one. Reads first; resends only where the effect is absent and the playbook still has the
// action; a playbook or action no longer loaded is never resent to.

#include "s1pilot/engine/confirmation.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <tuple>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;

namespace {

using group_key = std::tuple<std::string, std::string, std::string>;  // playbook, action key, detail

const config::action* find_action(const config::playbook* p, std::string_view key) {
    if (p == nullptr) return nullptr;
    for (const auto& a : p->actions) {
        if (ledger_key(a) == key) return &a;
    }
    return nullptr;
}

std::vector<state::action_row> rows_of(const std::vector<state::ledger_entry>& entries,
                                       const std::vector<std::string>& threat_ids, const std::string& run_id) {
    std::vector<state::action_row> rows;
    for (const auto& e : entries) {
        if (std::find(threat_ids.begin(), threat_ids.end(), e.row.threat_id) == threat_ids.end()) continue;
        rows.push_back(e.row);
        rows.back().run_id = run_id;
    }
    return rows;
}

std::vector<detail::pending_row> pending_rows(const std::vector<state::ledger_entry>& entries,
                                              const std::vector<std::string>& threat_ids) {
    std::vector<detail::pending_row> out;
    for (const auto& threat : threat_ids) {
        const auto e = std::find_if(entries.begin(), entries.end(),
                                    [&](const state::ledger_entry& x) { return x.row.threat_id == threat; });
        out.push_back({threat, e == entries.end() ? core::timestamp{} : e->updated_at});
    }
    return out;
}

std::vector<std::string> threat_ids_of(const std::vector<state::ledger_entry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.row.threat_id);
    return out;
}

}  // namespace

detail::resend_decision engine::impl::decide_resend(const config::playbook* p, const config::action* action,
                                                    const row_detail& detail, bool at_start_up,
                                                    const std::vector<detail::pending_row>& absent) const {
    detail::resend_decision out;
    if (absent.empty()) return out;
    std::vector<std::string> ids;
    for (const auto& r : absent) ids.push_back(r.threat_id);
    if (action == nullptr) {
        out.refused.emplace_back(ids, p == nullptr ? "playbook no longer loaded" : "action no longer in the playbook");
        return out;
    }
    if (p->mode == config::run_mode::dry_run) {
        out.kept_pending = std::move(ids);
        return out;
    }
    if (!at_start_up) {
        out.resend = std::move(ids);  // met by a run that matched these threats just now
        return out;
    }
    // A resend after start-up stands in for an analyst who may have acted meanwhile (set the
    // threat false_positive over a weekend outage): only in the playbook's current scope, and only
    // while the intent is recent; otherwise the next run decides afresh from the threat's state.
    if (p->match.carried_scope() != detail.scope) {
        out.refused.emplace_back(std::move(ids), "the playbook's scope changed since: not resent");
        return out;
    }
    const auto now = services.clock->now();
    const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(options.stale_pending_after);
    std::map<core::timestamp, std::vector<std::string>> stale;
    for (const auto& r : absent) {
        if (now - r.updated_at > options.stale_pending_after)
            stale[r.updated_at].push_back(r.threat_id);
        else
            out.resend.push_back(r.threat_id);
    }
    for (auto& [since, threats] : stale) {
        out.refused.emplace_back(std::move(threats), "pending since " + core::format_timestamp(since) +
                                                         ", longer than " + core::format_duration(window) +
                                                         ": not resent; the next run acts again if the threat "
                                                         "still matches");
    }
    return out;
}

namespace detail {

/// Rows of one batch, as reconciliation meets them: one read serves them all.
struct pending_group {
    std::string playbook;
    std::string action_key;
    std::optional<row_detail> detail;  ///< without baselines; nullopt: not a detail this version wrote
    std::vector<state::ledger_entry> entries;
    baseline_map baselines;  ///< each row's mitigation baseline, by threat id
};

/// Everything one group's reconciliation needs, resolved against the snapshot.
struct group_context {
    const pending_group& group;
    const config::playbook* playbook = nullptr;
    const config::action* action = nullptr;
    std::optional<effect> expected;
    run_identity id;
    std::string action_name;
    session_ptr session;
};

}  // namespace detail

namespace {

// Rows of one batch differ only in their mitigation baselines: group without them.
std::vector<detail::pending_group> group_entries(std::vector<state::ledger_entry> entries) {
    std::map<group_key, detail::pending_group> groups;
    for (auto& e : entries) {
        group_key key{e.row.playbook, e.row.action_key, e.row.detail};
        auto decoded = decode_detail(e.row.detail);
        std::optional<mitigation_baseline> baseline;
        if (decoded && decoded->baseline) {
            baseline = decoded->baseline;
            decoded->baseline.reset();
            std::get<2>(key) = encode_detail(*decoded);
        }
        auto& g = groups[key];
        g.playbook = e.row.playbook;
        g.action_key = e.row.action_key;
        g.detail = decoded;
        if (baseline) g.baselines.emplace(e.row.threat_id, *baseline);
        g.entries.push_back(std::move(e));
    }
    std::vector<detail::pending_group> out;
    for (auto& [key, g] : groups) out.push_back(std::move(g));
    return out;
}

/// Why a group cannot be read at all (its rows are then failed), or empty.
std::string unreadable(const detail::group_context& c) {
    const auto& ids = threat_ids_of(c.group.entries);
    if (!c.group.detail || !c.expected)
        return "the row does not say how to check its effect (written by another version?)";
    if (std::any_of(ids.begin(), ids.end(), [](const std::string& t) { return t.starts_with("run:"); }))
        return "outcome unknown: a target: filter call cannot be checked per threat; the next run evaluates the "
               "match again";
    if (!c.session) return "console '" + c.group.detail->console + "' is no longer configured";
    return {};
}

int attempts_of(const std::vector<state::ledger_entry>& entries, const std::vector<std::string>& threats) {
    int most = 0;
    for (const auto& e : entries)
        if (std::find(threats.begin(), threats.end(), e.row.threat_id) != threats.end())
            most = std::max(most, e.attempt);
    return most;
}

}  // namespace

namespace detail {

/// Reconciling one group: read in chunks, settle what the read decides, resend what is absent.
class group_reconciler {
public:
    group_reconciler(engine::impl& engine, const detail::group_context& c, const std::string& run_id, bool at_start_up,
                     reconcile_report& report)
        : engine_(engine), c_(c), run_id_(run_id), at_start_up_(at_start_up), report_(report) {}

    asio::awaitable<bool> run() {
        const std::string why = unreadable(c_);
        const auto all = threat_ids_of(c_.group.entries);
        if (!why.empty()) co_return co_await give_up(all, why);
        const auto size = static_cast<std::size_t>(std::max(c_.session->config.batch_size, 1));
        for (std::size_t start = 0; start < all.size(); start += size) {
            const std::vector<std::string> chunk(
                all.begin() + static_cast<std::ptrdiff_t>(start),
                all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), start + size)));
            if (!co_await reconcile_chunk(chunk)) co_return false;
        }
        co_return true;
    }

private:
    /// How long an accepted mitigation or isolation of this group is followed (none for others).
    std::optional<std::chrono::milliseconds> follow() const {
        if (!c_.expected || !needs_confirmation(*c_.expected)) return std::nullopt;
        return c_.playbook ? c_.playbook->limits.confirm_within : config::defaults::confirm_within;
    }

    asio::awaitable<bool> give_up(const std::vector<std::string>& ids, const std::string& why) {
        reconcile_counts counts;
        counts.absent = ids;
        counts.note = "marked failed: " + why;
        report_.failed += ids.size();
        log_warn("pending action marked failed",
                 {{"playbook", c_.group.playbook}, {"action", c_.action_name}, {"reason", why}});
        auto rows = rows_of(c_.group.entries, ids, run_id_);
        auto event = reconciled_event(c_.id, c_.action_name, counts);
        co_return co_await engine_.mark_failed(std::move(rows), why) && co_await engine_.audit(std::move(event));
    }

    asio::awaitable<bool> record(const reconcile_counts& counts) {
        auto event = reconciled_event(c_.id, c_.action_name, counts);
        co_return co_await engine_.audit(std::move(event));
    }

    asio::awaitable<bool> reconcile_chunk(const std::vector<std::string>& chunk) {
        const auto& detail = *c_.group.detail;
        const auto read =
            co_await engine_.read_effect(*c_.session, *c_.expected, detail.scope, chunk, &c_.group.baselines);
        reconcile_counts counts;
        if (!read.ok) {
            counts.unknown = chunk;
            counts.note = "left pending: reading the threats failed: " + read.error;
            report_.undecided += chunk.size();
            log_warn("pending actions could not be reconciled yet",
                     {{"playbook", c_.group.playbook}, {"action", c_.action_name}, {"error", read.error}});
            co_return co_await record(counts);
        }
        // A threat the console no longer returns cannot be acted on either: failed, not resent.
        std::vector<std::string> missing;
        for (const auto& t : read.split.unknown) {
            const auto parsed = s1::parse_object_id(t);
            const bool listed = std::any_of(read.threats.begin(), read.threats.end(),
                                            [&](const s1::threat_record& r) { return parsed && r.id == *parsed; });
            (listed ? counts.unknown : missing).push_back(t);
        }
        counts.done = read.split.done;
        auto decided = engine_.decide_resend(c_.playbook, c_.action, detail, at_start_up_,
                                             pending_rows(c_.group.entries, read.split.resend));
        // The resend cap counts every send of the rows, across restarts (the ledger keeps them).
        const int attempts = attempts_of(c_.group.entries, decided.resend);
        const int max_attempts = std::max(1, engine_.current->config.retry.max_attempts);
        if (!decided.resend.empty() && attempts >= max_attempts) {
            decided.refused.emplace_back(std::move(decided.resend),
                                         "the effect is absent after " + std::to_string(attempts) + " sends");
            decided.resend.clear();
        }
        counts.absent = decided.resend;
        counts.note = counts.absent.empty() ? "" : "resending where the effect is absent";
        report_.done += counts.done.size();
        report_.undecided += counts.unknown.size();
        auto done_rows = rows_of(c_.group.entries, counts.done, run_id_);
        bool ok = co_await engine_.mark_accepted(std::move(done_rows), follow()) && co_await record(counts);
        const std::string not_returned = "the console did not return the threat";
        if (ok && !missing.empty()) ok = co_await give_up(missing, not_returned);
        for (const auto& [ids, why] : decided.refused) ok = ok && co_await give_up(ids, why);
        if (ok && !decided.kept_pending.empty()) {
            // A dry-run playbook sends nothing, not even to finish what an enforcing run began.
            reconcile_counts kept;
            kept.unknown = decided.kept_pending;
            kept.note = "left pending: playbook '" + c_.group.playbook + "' is in dry-run mode, which sends nothing";
            report_.undecided += kept.unknown.size();
            ok = co_await record(kept);
        }
        if (ok && !decided.resend.empty()) ok = co_await resend(decided.resend, read.threats, attempts);
        co_return ok;
    }

    asio::awaitable<bool> resend(const std::vector<std::string>& threats, const std::vector<s1::threat_record>& read,
                                 int attempts) {
        const auto& detail = *c_.group.detail;
        detail::batch_job job;
        job.action = c_.action;
        job.action_name = c_.action_name;
        job.ledger_key = c_.group.action_key;
        job.expected = *c_.expected;
        job.scope = detail.scope;
        job.batch_id = "reconcile-" + std::to_string(++engine_.reconcile_batches);
        job.attempts_before = attempts;
        job.confirm_within = follow();
        for (const auto& threat : threats)
            if (const auto b = c_.group.baselines.find(threat); b != c_.group.baselines.end())
                job.baselines.emplace(threat, b->second);
        std::vector<std::string> no_agent;
        auto call = make_call(*c_.action, detail.scope, detail::targets_of(threats, read), detail.note_text, no_agent);
        const std::string no_agent_why = "the threat has no agent id to isolate";
        if (!no_agent.empty() && !co_await give_up(no_agent, no_agent_why)) co_return false;
        if (!call && no_agent.size() == threats.size()) co_return true;
        if (!call) {
            const std::string refused = "refused: " + call.error().message();
            co_return co_await give_up(threats, refused);
        }
        job.call = std::move(*call);
        const auto out = co_await engine_.act_on_batch(c_.id, *c_.session, std::move(job));
        report_.done += out.done.size() + out.skipped.size();  // both rows are done
        report_.failed += out.failed.size();
        report_.undecided += out.unknown.size();
        co_return !out.fatal;
    }

    engine::impl& engine_;
    const detail::group_context& c_;
    const std::string& run_id_;
    bool at_start_up_;
    reconcile_report& report_;
};

}  // namespace detail

asio::awaitable<reconcile_report> engine::impl::reconcile_entries(const snapshot& snap,
                                                                  std::vector<state::ledger_entry> entries,
                                                                  const std::string& run_id, bool at_start_up) {
    reconcile_report report;
    report.rows = entries.size();
    // A run meets rows another instance may still be sending for: those wait (lease.cpp).
    if (!at_start_up && !co_await hold_young_rows(entries, run_id, report)) {
        report.error = halt_reason();
        co_return report;
    }
    for (const auto& group : group_entries(std::move(entries))) {
        detail::group_context c{group, nullptr, nullptr, std::nullopt, {}, {}, nullptr};
        c.playbook = snap.find(group.playbook);
        c.action = find_action(c.playbook, group.action_key);
        if (group.detail)
            c.expected = c.action ? std::optional<effect>(effect_of(*c.action, group.detail->note_text))
                                  : parse_effect(group.action_key, group.detail->note_text);
        c.id = {run_id, group.playbook, c.playbook ? c.playbook->sha256 : std::string(),
                group.detail ? group.detail->console : "", false};
        c.action_name = c.action ? config::action_name(*c.action) : group.action_key;
        if (group.detail) c.session = session_for(group.detail->console);
        detail::group_reconciler reconciler(*this, c, run_id, at_start_up, report);
        if (!co_await reconciler.run()) {
            report.error = halt_reason();
            co_return report;
        }
    }
    co_return report;
}

asio::awaitable<reconcile_report> engine::impl::reconcile_recorded(std::vector<state::ledger_entry> entries,
                                                                   std::string name, bool gated) {
    reconcile_report report;
    auto* ledger = services.ledger;
    auto run_id = co_await on_worker([&] { return ledger->next_run_id(); });
    if (!run_id) {
        fail_closed("ledger: " + run_id.error().message);
        report.error = not_ready;
        co_return report;
    }
    own_run(*run_id);
    log_info("reconciling actions left pending", {{"rows", std::to_string(entries.size())}, {"run", *run_id}});
    const auto started = services.clock->now();
    state::run_record record{*run_id, name, started, std::nullopt, "running", {}};
    if (!co_await record_run(record)) {
        report.error = not_ready;
        co_return report;
    }
    const auto snap = current;
    if (!gated) {
        report = co_await reconcile_entries(*snap, std::move(entries), *run_id, true);
    } else {
        std::map<std::string, std::vector<state::ledger_entry>> by_playbook;
        for (auto& e : entries) by_playbook[e.row.playbook].push_back(std::move(e));
        for (auto& [playbook, rows] : by_playbook) {
            // Never beside a run of the playbook: it may be deciding the same rows.
            if (!gates[playbook].try_enter()) {
                report.undecided += rows.size();
                const auto again = services.clock->now() +
                                   std::chrono::duration_cast<std::chrono::microseconds>(current->config.lease.retry);
                if (!lease.due || again < *lease.due) lease.due = again;
                continue;
            }
            const auto count = rows.size();
            auto part = co_await reconcile_entries(*snap, std::move(rows), *run_id, true);
            if (auto next = gates[playbook].finish()) spawn_gated(playbook, std::move(*next), {});
            report.rows += count;
            report.done += part.done;
            report.failed += part.failed;
            report.undecided += part.undecided;
            if (!part.ok()) {
                report.error = part.error;
                break;
            }
        }
    }
    // Resends record their results deferred, like a run's batches: durable before this ends.
    if (!co_await flush_deferred() && report.ok()) report.error = halt_reason();
    record.ended_at = services.clock->now();
    record.outcome = report.ok() ? "ok" : "failed";
    record.summary = "done " + std::to_string(report.done) + ", failed " + std::to_string(report.failed) +
                     ", undecided " + std::to_string(report.undecided);
    if (!co_await record_run(record) && report.ok()) report.error = halt_reason();
    log_info("reconciliation finished", {{"done", std::to_string(report.done)},
                                         {"failed", std::to_string(report.failed)},
                                         {"undecided", std::to_string(report.undecided)}});
    co_return report;
}

std::string engine::impl::halt_reason() const {
    if (!not_ready.empty()) return not_ready;
    if (fenced()) return lease.standby_reason.empty() ? "standby" : lease.standby_reason;
    return {};
}

asio::awaitable<reconcile_report> engine::reconcile_pending() {
    reconcile_report report;
    auto& s = *impl_;
    // plan writes nothing, and a dry run sends nothing: a resend would be a real action. Rows stay
    // pending for the next enforcing start.
    if (s.options.plan || s.options.dry_run) co_return report;
    if (!s.ready()) {
        report.error = "not ready: " + s.not_ready;
        co_return report;
    }
    if (s.lease.session != nullptr) {
        // A shared ledger: only the instance holding the cluster's lock decides anything.
        if (!s.lease.state.holding) {
            if (!co_await s.try_take_lock()) {
                report.standby = true;
                co_return report;
            }
            co_await s.took_lock();
        }
        s.lease.reconciling = true;
        report = co_await s.reconcile_left_pending();
        s.lease.reconciling = false;
        if (s.lease.state.holding && !s.stopping) s.lease.role = lease_role::active;
        co_return report;
    }
    auto* ledger = s.services.ledger;
    auto pending = co_await s.on_worker([&] { return ledger->pending(); });
    if (!pending) {
        s.fail_closed("ledger: " + pending.error().message);
        report.error = s.not_ready;
        co_return report;
    }
    if (pending->empty()) co_return report;
    co_return co_await s.reconcile_recorded(std::move(*pending), "(start-up reconciliation)", false);
}

}  // namespace s1pilot::engine
