// A run (DESIGN.md §4): resolve → ledger → limit → act in batches → summary, for target: threats
// and target: filter, enforcing or dry.

#include "s1pilot/engine/logging.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <unordered_set>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;
using detail::batch_job;
/// The resolved threats by id.
using threat_index = std::unordered_map<std::string, const threat_ref*>;

namespace {

/// Everything one run carries from step to step.
struct run_context {
    const config::playbook& playbook;
    detail::console_session& session;
    run_identity id;
    bool dry = false;
    core::timestamp started{};
    filter::threat_filter match;  ///< resolved (and restricted) once for the whole run
    note_values notes;
    run_report report;
    int batches = 0;

    std::string next_batch() { return "b-" + std::to_string(++batches); }
};

std::vector<std::string> ids_of(const std::vector<threat_ref>& threats) {
    std::vector<std::string> out;
    out.reserve(threats.size());
    for (const auto& t : threats) out.push_back(s1::to_string_id(t.id));
    return out;
}

dry_call to_dry(const planned_call& call) {
    const auto& ids = call.agent_ids.empty() ? call.threat_ids : call.agent_ids;
    return {"POST", call.request.target, call.request.body, ids.size()};
}

}  // namespace

namespace detail {

/// The run's steps, sharing the engine's state. Kept in this file: run.cpp is the only user.
class run_steps {
public:
    run_steps(engine::impl& engine, run_context& run) : engine_(engine), run_(run) {}

    /// Dry: records the request (audit dry_run, the report). Enforcing: acts exactly once.
    /// `refs` gives the resolved threats by id: a mitigation's rows record each one's baseline.
    asio::awaitable<bool> perform(const config::action& a, action_report& report, planned_call call, bool filter_target,
                                  std::vector<std::string>& failed, const threat_index* refs) {
        call_identity who{config::action_name(a), "POST", call.request.target, call.threat_ids, call.agent_ids,
                          run_.next_batch(),      1};
        if (run_.dry) {
            report.dry_calls.push_back(to_dry(call));
            co_return engine_.audit(dry_run_event(run_.id, who, call.request.body));
        }
        batch_job job;
        job.action = &a;
        job.action_name = who.action;
        job.ledger_key = ledger_key(a);
        job.expected = effect_of(a, call.note_text);
        job.scope = run_.match.carried_scope();
        job.call = std::move(call);
        job.filter_target = filter_target;
        job.batch_id = who.batch;
        if (const auto* m = std::get_if<config::mitigate_action>(&a); m != nullptr && refs != nullptr) {
            for (const auto& threat : job.call.threat_ids) {
                const auto ref = refs->find(threat);
                if (ref != refs->end())
                    job.baselines.emplace(threat, baseline_of(job.expected.mitigation, ref->second->mitigations));
            }
        }
        auto out = co_await engine_.act_on_batch(run_.id, run_.session, std::move(job));
        report.calls += out.calls;
        report.reconciled += out.reconciled;
        report.threats_done += filter_target ? (out.done.empty() ? 0 : run_.report.acted) : out.done.size();
        report.skipped += out.skipped.size();
        report.failures += out.failed.size() + out.unknown.size();
        failed.insert(failed.end(), out.failed.begin(), out.failed.end());
        failed.insert(failed.end(), out.unknown.begin(), out.unknown.end());
        co_return !out.fatal;
    }

    /// Rows of this playbook still pending from an earlier run: reconcile them (read, never
    /// resend blindly) before this run decides anything about those threats.
    asio::awaitable<bool> settle_pending(const std::string& key, const std::vector<std::string>& pending) {
        std::vector<state::ledger_entry> entries;
        for (const auto& threat : pending) {
            auto found = engine_.services.ledger->find(run_.playbook.name, key, threat);
            if (!found) {
                engine_.fail_closed("ledger: " + found.error().message);
                co_return false;
            }
            if (*found) entries.push_back(std::move(**found));
        }
        const auto settled = co_await engine_.reconcile_entries(std::move(entries), run_.id.run, false);
        co_return settled.ok();
    }

private:
    engine::impl& engine_;
    run_context& run_;
};

}  // namespace detail

asio::awaitable<run_report> engine::impl::execute_run(const config::playbook& p, const trigger& t) {
    run_report failed_early;
    failed_early.playbook = p.name;
    failed_early.outcome = run_outcome::failed;
    failed_early.dry_run = options.dry_run || options.plan || p.mode == config::run_mode::dry_run;
    if (!ready()) {
        failed_early.error = "not ready: " + not_ready;
        co_return failed_early;
    }
    if (stopping) {
        failed_early.error = "shutting down: no new run starts";
        co_return failed_early;
    }
    detail::console_session* session = session_for(p.console);
    if (session == nullptr) {
        failed_early.error = "console '" + p.console + "' is not configured";
        co_return failed_early;
    }

    run_context run{p, *session, {}, failed_early.dry_run, services.clock->now(), {}, {}, {}, 0};
    run.report.playbook = p.name;
    run.report.dry_run = run.dry;
    if (run.dry) {
        // Dry runs take no ledger run id (they write nothing there): the start time keeps their
        // ids apart across processes, the counter within one.
        std::string stamp;
        for (const char c : core::format_timestamp(run.started).substr(0, 19))
            if (c != '-' && c != ':') stamp += c;
        run.id.run = "d-" + stamp + "-" + std::to_string(++dry_runs);
    } else {
        auto next = services.ledger->next_run_id();
        if (!next) {
            fail_closed("ledger: " + next.error().message);
            failed_early.error = not_ready;
            co_return failed_early;
        }
        run.id.run = *next;
    }
    run.id.playbook = p.name;
    run.id.playbook_sha256 = p.sha256;
    run.id.console = session->config->name;
    run.id.dry_run = run.dry;
    run.report.run_id = run.id.run;
    const log_fields fields{{"playbook", p.name}, {"run", run.id.run}, {"console", run.id.console}};

    // One resolution of relative times for the GET and every POST of the run.
    run.match = p.match.resolved(run.started);
    bool nothing = false;
    if (t.threat_ids) {
        auto restricted = restrict_match(run.match, *t.threat_ids);
        if (restricted)
            run.match = std::move(*restricted);
        else
            nothing = true;
    }
    run.notes = {p.name,
                 run.id.run,
                 run.id.console,
                 std::string(config::to_string(run.dry ? config::run_mode::dry_run : config::run_mode::enforce)),
                 core::format_timestamp(run.started),
                 0};

    auto finish = [&](run_outcome outcome, std::string error) -> run_report {
        run.report.outcome = outcome;
        run.report.error = std::move(error);
        if (!run.report.error.empty()) run.report.outcome = run_outcome::failed;
        audit(run_end_event(run.id, run.report));
        if (!run.dry) {
            (void)services.ledger->record_run({run.id.run, p.name, run.started, services.clock->now(),
                                               std::string(to_string(run.report.outcome)), summary_line(run.report)});
        }
        if (run.report.outcome == run_outcome::failed)
            log_error("run failed", {{"playbook", p.name}, {"run", run.id.run}, {"error", run.report.error}});
        else
            log_info(summary_line(run.report), fields);
        return run.report;
    };

    if (!audit(run_start_event(run.id, t.source, config::to_string(run.dry ? config::run_mode::dry_run : p.mode)))) {
        co_return finish(run_outcome::failed, not_ready);
    }
    if (!run.dry) (void)services.ledger->record_run({run.id.run, p.name, run.started, std::nullopt, "running", {}});
    if (nothing) co_return finish(run_outcome::ok, {});

    detail::run_steps steps(*this, run);
    std::vector<std::string> keys;
    for (const auto& a : p.actions) {
        keys.push_back(ledger_key(a));
        run.report.actions.push_back({config::action_name(a), 0, 0, 0, 0, 0, {}});
    }
    const auto max_threats = static_cast<std::size_t>(p.limits.max_threats);

    if (p.target == config::target_kind::filter) {
        // Every count and POST of the run selects what existed at its start, no later arrival.
        run.match = pin_upper_bound(std::move(run.match), run.started);
        std::vector<std::string> failed;
        for (std::size_t i = 0; i < p.actions.size(); ++i) {
            if (stopping) co_return finish(run_outcome::failed, "interrupted by shutdown");
            if (!failed.empty() && p.on_error == config::error_policy::stop) {
                run.report.actions[i].skipped = 1;
                continue;
            }
            // Counted again before each action: an earlier action (or the console) may have
            // changed what the match selects, and max_threats bounds every call, not the first.
            auto count = co_await session->client->count_threats(run.match);
            if (!count.ok()) co_return finish(run_outcome::failed, "counting the match failed: " + count.error.message);
            const auto counted =
                match_limit(run.match, static_cast<std::size_t>(std::max<std::int64_t>(*count.value, 0)));
            if (i == 0) run.report.matched = run.report.after_ledger = counted;
            if (counted > max_threats) {
                audit(run_held_event(run.id, counted, counted, p.limits.max_threats));
                log_error("playbook held: more threats than max_threats",
                          {{"playbook", p.name},
                           {"run", run.id.run},
                           {"action", run.report.actions[i].action},
                           {"matched", std::to_string(counted)},
                           {"max_threats", std::to_string(p.limits.max_threats)}});
                co_return finish(run_outcome::held, {});
            }
            if (counted == 0) break;  // nothing (left) to act on
            if (i == 0) run.report.acted = run.notes.matched = counted;
            auto call = plan_filter_call(p.actions[i], run.match, run.notes);
            if (!call) co_return finish(run_outcome::failed, "refused to build the request: " + call.error().message());
            call->threat_ids = {filter_run_key(run.id.run)};
            if (!co_await steps.perform(p.actions[i], run.report.actions[i], std::move(*call), true, failed, nullptr))
                co_return finish(run_outcome::failed, not_ready);
        }
        co_return finish(run_outcome::ok, {});
    }

    // 1. Resolve: every page, oldest first, keeping compact records only.
    std::vector<threat_ref> threats;
    const bool details = needs_threat_details(p);
    const bool with_mitigations = mitigates(p);
    // Named locals, not temporaries inside co_await: GCC 12 destroys those twice.
    std::function<bool(s1::threat_page&)> keep = [&](s1::threat_page& page) {
        for (const auto& record : page.threats) threats.push_back(make_ref(record, details, with_mitigations));
        return !stopping;
    };
    auto listing = session->client->for_each_page(run.match, std::move(keep), s1::page_request{});
    auto listed = co_await std::move(listing);
    if (!listed.ok()) co_return finish(run_outcome::failed, "resolving the match failed: " + listed.error.message);
    if (stopping) co_return finish(run_outcome::failed, "interrupted by shutdown");
    run.report.matched = threats.size();

    // 2. Ledger: drop what every action has done (within the cooldown).
    const auto ids = ids_of(threats);
    auto remaining = services.ledger->remaining(p.name, keys, ids, p.limits.cooldown);
    if (!remaining) {
        fail_closed("ledger: " + remaining.error().message);
        co_return finish(run_outcome::failed, not_ready);
    }
    auto left = threats_left(ids, *remaining);
    run.report.after_ledger = left.size();
    // The match's `limit`: at most that many (the oldest left) per run; never sent in the GET.
    left.resize(match_limit(run.match, left.size()));

    // 3. Limit.
    const auto limit = apply_limits(left.size(), p.limits);
    if (limit.held) {
        audit(run_held_event(run.id, run.report.matched, run.report.after_ledger, p.limits.max_threats));
        log_error("playbook held: more threats than max_threats",
                  {{"playbook", p.name},
                   {"run", run.id.run},
                   {"left", std::to_string(left.size())},
                   {"max_threats", std::to_string(p.limits.max_threats)}});
        co_return finish(run_outcome::held, {});
    }
    const std::vector<std::string> selected(left.begin(), left.begin() + static_cast<std::ptrdiff_t>(limit.keep));
    run.report.acted = run.notes.matched = selected.size();
    threat_index by_id;
    for (const auto& t : threats) by_id.emplace(s1::to_string_id(t.id), &t);

    // 4. Act, action by action, in batches.
    std::vector<std::string> failed;
    for (std::size_t i = 0; i < p.actions.size(); ++i) {
        const auto& a = p.actions[i];
        auto& report = run.report.actions[i];
        auto work = work_for_action((*remaining)[i], selected, failed, p.on_error);
        if (!work.skipped.empty()) {
            report.skipped = work.skipped.size();
            audit(skipped_event(run.id, report.action, work.skipped, "an earlier action failed (on_error: stop)"));
        }
        if (!work.pending.empty() && !run.dry) {
            if (!co_await steps.settle_pending(keys[i], work.pending)) co_return finish(run_outcome::failed, not_ready);
            auto again = services.ledger->remaining(p.name, {keys[i]}, work.pending, p.limits.cooldown);
            if (!again) {
                fail_closed("ledger: " + again.error().message);
                co_return finish(run_outcome::failed, not_ready);
            }
            const auto& still = again->front();
            failed.insert(failed.end(), still.to_do.begin(), still.to_do.end());
            failed.insert(failed.end(), still.pending.begin(), still.pending.end());
            report.failures += still.to_do.size() + still.pending.size();
            report.threats_done += work.pending.size() - still.to_do.size() - still.pending.size();
        }
        std::vector<const threat_ref*> targets;
        for (const auto& id : work.to_do) targets.push_back(by_id.at(id));
        auto plan = plan_calls(a, run.match, targets, static_cast<std::size_t>(session->config->batch_size), run.notes);
        if (!plan) co_return finish(run_outcome::failed, "refused to build the request: " + plan.error().message());
        if (!plan->no_agent.empty()) {
            report.failures += plan->no_agent.size();
            failed.insert(failed.end(), plan->no_agent.begin(), plan->no_agent.end());
            audit(skipped_event(run.id, report.action, plan->no_agent, "the threat has no agent id to isolate"));
        }
        for (auto& call : plan->calls) {
            if (stopping) co_return finish(run_outcome::failed, "interrupted by shutdown: later batches not sent");
            if (!co_await steps.perform(a, report, std::move(call), false, failed, &by_id))
                co_return finish(run_outcome::failed, not_ready);
        }
    }
    co_return finish(run_outcome::ok, {});
}

}  // namespace s1pilot::engine
