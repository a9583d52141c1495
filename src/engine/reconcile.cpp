// Reconciling ledger rows left pending: at start-up (a crash, a kill, a fail-over) and when a run
// meets one. Reads first; resends only where the effect is absent and the playbook still has the
// action; a playbook or action no longer loaded is never resent to.

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

asio::awaitable<reconcile_report> engine::impl::reconcile_entries(std::vector<state::ledger_entry> entries,
                                                                  const std::string& run_id, bool at_start_up) {
    reconcile_report report;
    report.rows = entries.size();
    // Rows of one batch differ only in their mitigation baselines: group without them, so that
    // one read serves the batch, and keep each row's baseline by threat id.
    std::map<group_key, std::vector<state::ledger_entry>> groups;
    std::map<group_key, baseline_map> baselines;
    for (auto& e : entries) {
        group_key key{e.row.playbook, e.row.action_key, e.row.detail};
        if (auto d = decode_detail(e.row.detail); d && d->baseline) {
            const auto baseline = *d->baseline;
            d->baseline.reset();
            std::get<2>(key) = encode_detail(*d);
            baselines[key].emplace(e.row.threat_id, baseline);
        }
        groups[key].push_back(std::move(e));
    }

    int batch = 0;
    for (auto& [key, group] : groups) {
        const auto& [playbook_name, action_key, detail_text] = key;
        const baseline_map& group_baselines = baselines[key];
        const config::playbook* p = find_playbook(playbook_name);
        const config::action* action = find_action(p, action_key);
        const auto detail = decode_detail(detail_text);
        const auto expected = detail ? (action ? std::optional<effect>(effect_of(*action, detail->note_text))
                                               : parse_effect(action_key, detail->note_text))
                                     : std::nullopt;
        run_identity id{run_id, playbook_name, p ? p->sha256 : std::string(), detail ? detail->console : "", false};
        const std::string action_name = action ? config::action_name(*action) : action_key;
        const auto all = threat_ids_of(group);

        auto give_up = [&](const std::vector<std::string>& ids, const std::string& why) {
            reconcile_counts counts;
            counts.absent = ids;
            counts.note = "marked failed: " + why;
            report.failed += ids.size();
            log_warn("pending action marked failed",
                     {{"playbook", playbook_name}, {"action", action_name}, {"reason", why}});
            return mark_failed(rows_of(group, ids, run_id), why) && audit(reconciled_event(id, action_name, counts));
        };
        const bool filter_rows =
            std::any_of(all.begin(), all.end(), [](const std::string& t) { return t.starts_with("run:"); });
        detail::console_session* session = detail ? session_for(detail->console) : nullptr;
        bool ok = true;
        if (!detail || !expected) {
            ok = give_up(all, "the row does not say how to check its effect (written by another version?)");
        } else if (filter_rows) {
            ok = give_up(all,
                         "outcome unknown: a target: filter call cannot be checked per threat; the next run "
                         "evaluates the match again");
        } else if (session == nullptr) {
            ok = give_up(all, "console '" + detail->console + "' is no longer configured");
        }
        if (!ok) {
            report.error = not_ready;
            co_return report;
        }
        if (!detail || !expected || filter_rows || session == nullptr) continue;

        const auto size = static_cast<std::size_t>(std::max(session->config->batch_size, 1));
        for (std::size_t start = 0; start < all.size(); start += size) {
            const std::vector<std::string> chunk(
                all.begin() + static_cast<std::ptrdiff_t>(start),
                all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), start + size)));
            const auto read = co_await read_effect(*session, *expected, detail->scope, chunk, &group_baselines);
            reconcile_counts counts;
            if (!read.ok) {
                counts.unknown = chunk;
                counts.note = "left pending: reading the threats failed: " + read.error;
                report.undecided += chunk.size();
                log_warn("pending actions could not be reconciled yet",
                         {{"playbook", playbook_name}, {"action", action_name}, {"error", read.error}});
                if (!audit(reconciled_event(id, action_name, counts))) {
                    report.error = not_ready;
                    co_return report;
                }
                continue;
            }
            // A threat the console no longer returns cannot be acted on either: failed, not resent.
            std::vector<std::string> missing;
            for (const auto& t : read.split.unknown) {
                const auto parsed = s1::parse_object_id(t);
                const bool listed = std::any_of(read.threats.begin(), read.threats.end(),
                                                [&](const s1::threat_record& r) { return parsed && r.id == *parsed; });
                if (listed)
                    counts.unknown.push_back(t);
                else
                    missing.push_back(t);
            }
            counts.done = read.split.done;
            const auto decided = decide_resend(p, action, *detail, at_start_up, pending_rows(group, read.split.resend));
            counts.absent = decided.resend;
            counts.note = counts.absent.empty() ? "" : "resending where the effect is absent";
            report.done += counts.done.size();
            report.undecided += counts.unknown.size();
            ok = mark_done(rows_of(group, counts.done, run_id)) && audit(reconciled_event(id, action_name, counts));
            if (ok && !missing.empty()) ok = give_up(missing, "the console did not return the threat");
            for (const auto& [ids, why] : decided.refused) {
                if (ok) ok = give_up(ids, why);
            }
            if (ok && !decided.kept_pending.empty()) {
                // A dry-run playbook sends nothing, not even to finish what an enforcing run began.
                reconcile_counts kept;
                kept.unknown = decided.kept_pending;
                kept.note = "left pending: playbook '" + playbook_name + "' is in dry-run mode, which sends nothing";
                report.undecided += kept.unknown.size();
                ok = audit(reconciled_event(id, action_name, kept));
            }
            const bool resend = !counts.absent.empty();
            if (ok && resend) {
                detail::batch_job job;
                job.action = action;
                job.action_name = action_name;
                job.ledger_key = action_key;
                job.expected = *expected;
                job.scope = detail->scope;
                job.batch_id = "reconcile-" + std::to_string(++batch);
                job.call.note_text = detail->note_text;
                job.call.threat_ids = counts.absent;
                for (const auto& threat : counts.absent)
                    if (const auto b = group_baselines.find(threat); b != group_baselines.end())
                        job.baselines.emplace(threat, b->second);
                filter::threat_filter f;
                if (std::holds_alternative<config::isolate_action>(*action)) {
                    for (const auto& r : read.threats) {
                        const auto text = s1::to_string_id(r.id);
                        const auto agent = s1::to_string_id(r.agent_id);
                        if (r.agent_id != 0 &&
                            std::find(counts.absent.begin(), counts.absent.end(), text) != counts.absent.end() &&
                            std::find(job.call.agent_ids.begin(), job.call.agent_ids.end(), agent) ==
                                job.call.agent_ids.end())
                            job.call.agent_ids.push_back(agent);
                    }
                    f = agent_filter(detail->scope, job.call.agent_ids);
                } else {
                    f = batch_filter(detail->scope, counts.absent);
                }
                auto built = build_request(*action, f, detail->note_text);
                if (!built) {
                    ok = give_up(counts.absent, "refused: " + built.error().message());
                } else {
                    job.call.request = std::move(*built);
                    const auto out = co_await act_on_batch(id, *session, std::move(job));
                    report.done += out.done.size() + out.skipped.size();  // both rows are done
                    report.failed += out.failed.size();
                    report.undecided += out.unknown.size();
                    ok = !out.fatal;
                }
            }
            if (!ok) {
                report.error = not_ready;
                co_return report;
            }
        }
    }
    co_return report;
}

asio::awaitable<reconcile_report> engine::reconcile_pending() {
    reconcile_report report;
    // plan writes nothing, and a dry run sends nothing: a resend would be a real action. Rows stay
    // pending for the next enforcing start.
    if (impl_->options.plan || impl_->options.dry_run) co_return report;
    if (!impl_->ready()) {
        report.error = "not ready: " + impl_->not_ready;
        co_return report;
    }
    auto pending = impl_->services.ledger->pending();
    if (!pending) {
        impl_->fail_closed("ledger: " + pending.error().message);
        report.error = impl_->not_ready;
        co_return report;
    }
    if (pending->empty()) co_return report;
    auto run_id = impl_->services.ledger->next_run_id();
    if (!run_id) {
        impl_->fail_closed("ledger: " + run_id.error().message);
        report.error = impl_->not_ready;
        co_return report;
    }
    log_info("reconciling actions left pending", {{"rows", std::to_string(pending->size())}, {"run", *run_id}});
    const auto started = impl_->services.clock->now();
    (void)impl_->services.ledger->record_run(
        {*run_id, "(start-up reconciliation)", started, std::nullopt, "running", {}});
    report = co_await impl_->reconcile_entries(std::move(*pending), *run_id, true);
    (void)impl_->services.ledger->record_run(
        {*run_id, "(start-up reconciliation)", started, impl_->services.clock->now(), report.ok() ? "ok" : "failed",
         "done " + std::to_string(report.done) + ", failed " + std::to_string(report.failed) + ", undecided " +
             std::to_string(report.undecided)});
    log_info("reconciliation finished", {{"done", std::to_string(report.done)},
                                         {"failed", std::to_string(report.failed)},
                                         {"undecided", std::to_string(report.undecided)}});
    co_return report;
}

}  // namespace s1pilot::engine
