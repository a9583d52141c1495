// A run (DESIGN.md §4): resolve → ledger → limit → act in batches → summary, for target: threats
// and target: filter, enforcing or dry.

#include "s1pilot/engine/confirmation.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "convert.hpp"
#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;
using detail::batch_job;
namespace {

/// The ledger is asked what is left for this many threats at a time, so that a run of hundreds of
/// thousands never holds them all as text at once.
constexpr std::size_t remaining_chunk = 4096;

/// The resolved threats by id: their positions in the resolve, sorted by id, the first position
/// of each id only. 4 bytes a threat, where a hash map of text ids took about 100. (Four billion
/// threats would take 160 GB of threat_refs before a position overflowed.)
class threat_index {
public:
    explicit threat_index(const std::vector<threat_ref>& threats) : threats_(threats) {
        positions_.reserve(threats.size());
        for (std::size_t i = 0; i < threats.size(); ++i) positions_.push_back(static_cast<std::uint32_t>(i));
        const auto by_id = [this](std::uint32_t a, std::uint32_t b) { return threats_[a].id < threats_[b].id; };
        std::stable_sort(positions_.begin(), positions_.end(), by_id);
        const auto same = [this](std::uint32_t a, std::uint32_t b) { return threats_[a].id == threats_[b].id; };
        positions_.erase(std::unique(positions_.begin(), positions_.end(), same), positions_.end());
    }

    const threat_ref* find(s1::object_id id) const {
        const auto at =
            std::lower_bound(positions_.begin(), positions_.end(), id,
                             [this](std::uint32_t p, s1::object_id wanted) { return threats_[p].id < wanted; });
        return at != positions_.end() && threats_[*at].id == id ? &threats_[*at] : nullptr;
    }
    const threat_ref* find(std::string_view id) const {
        const auto number = s1::parse_object_id(id);
        return number ? find(*number) : nullptr;
    }

    /// Each id once, in resolve order.
    std::vector<s1::object_id> ordered_ids() const {
        std::vector<std::uint32_t> positions(positions_);
        std::sort(positions.begin(), positions.end());
        std::vector<s1::object_id> out;
        out.reserve(positions.size());
        for (const auto p : positions) out.push_back(threats_[p].id);
        return out;
    }

private:
    const std::vector<threat_ref>& threats_;
    std::vector<std::uint32_t> positions_;
};

/// One mitigationStatus[] entry of a matched threat, for an action the playbook mitigates with.
struct mitigation_seen {
    s1::object_id threat = 0;
    s1::mitigation_entry entry;
};

/// The entries a run keeps for its mitigations' baselines, sorted by threat: 32 bytes an entry,
/// nothing for a threat without one (most, in a clean-up of new threats).
class mitigation_history {
public:
    /// The actions kept: the playbook's mitigate actions. None: nothing is kept.
    explicit mitigation_history(const config::playbook& p) {
        for (const auto& a : p.actions)
            if (const auto* m = std::get_if<config::mitigate_action>(&a)) kinds_.push_back(detail::to_s1(m->kind));
    }

    void keep(const s1::threat_record& threat) {
        for (const auto& m : threat.mitigations)
            if (m.action && std::find(kinds_.begin(), kinds_.end(), *m.action) != kinds_.end())
                seen_.push_back({threat.id, m});
    }

    /// After the last keep().
    void sort() {
        std::stable_sort(seen_.begin(), seen_.end(),
                         [](const mitigation_seen& a, const mitigation_seen& b) { return a.threat < b.threat; });
        seen_.shrink_to_fit();
    }

    mitigation_baseline baseline(s1::mitigation_action action, s1::object_id threat) const {
        const auto [from, to] =
            std::equal_range(seen_.begin(), seen_.end(), mitigation_seen{threat, {}},
                             [](const mitigation_seen& a, const mitigation_seen& b) { return a.threat < b.threat; });
        std::vector<s1::mitigation_entry> entries;
        for (auto it = from; it != to; ++it) entries.push_back(it->entry);
        return baseline_of(action, entries);
    }

private:
    std::vector<s1::mitigation_action> kinds_;
    std::vector<mitigation_seen> seen_;
};

std::vector<std::string> to_strings(const std::vector<s1::object_id>& ids) {
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (const auto id : ids) out.push_back(s1::to_string_id(id));
    return out;
}

/// Everything one run carries from step to step.
struct run_context {
    std::shared_ptr<const snapshot> snap;  ///< kept to the run's end, whatever a reload does
    const config::playbook& playbook;
    detail::session_ptr session;
    run_identity id;
    bool dry = false;
    core::timestamp started{};
    filter::threat_filter match;     ///< resolved (and restricted) once for the whole run
    mitigation_history mitigations;  ///< the baselines of the run's mitigations
    note_values notes;
    run_report report;
    int batches = 0;
    std::vector<std::string> keys;      ///< the ledger key of each action
    std::vector<s1::object_id> failed;  ///< threats an earlier action failed for (on_error: stop)
    bool any_failed = false;            ///< something failed (a filter run's rows are not threats)

    std::string next_batch() { return "b-" + std::to_string(++batches); }

    void note_failed(const std::vector<std::string>& threats) {
        any_failed = any_failed || !threats.empty();
        for (const auto& threat : threats)
            if (const auto id = s1::parse_object_id(threat)) failed.push_back(*id);
    }
};

/// An action's calls in order, planned a slice of `batch_size` threats at a time as they are
/// taken: only the batches being sent hold their ids as text and their requests.
class call_source {
public:
    call_source(const config::action& a, const run_context& run, const std::vector<s1::object_id>& ids,
                const threat_index& by_id)
        : action_(a),
          run_(run),
          ids_(ids),
          by_id_(by_id),
          batch_(static_cast<std::size_t>(run.session->config.batch_size)),
          slice_(std::max<std::size_t>(batch_, 1)) {}

    /// Plans every call once without keeping them: how many there are and the threats an isolate
    /// cannot post (no agent). A request that cannot be built is refused here, before any is sent.
    boost::system::result<std::size_t> survey(std::vector<std::string>& no_agent) const {
        std::size_t total = 0;
        for (std::size_t start = 0; start < ids_.size(); start += slice_) {
            auto planned = plan(start);
            if (!planned) return planned.error();
            total += planned->calls.size();
            no_agent.insert(no_agent.end(), planned->no_agent.begin(), planned->no_agent.end());
        }
        return total;
    }

    /// The next call; nullopt after the last.
    boost::system::result<std::optional<planned_call>> next() {
        while (taken_ == planned_.size()) {
            if (start_ >= ids_.size()) return std::optional<planned_call>();
            auto planned = plan(start_);
            if (!planned) return planned.error();
            planned_ = std::move(planned->calls);
            taken_ = 0;
            start_ += slice_;
        }
        return std::optional<planned_call>(std::move(planned_[taken_++]));
    }

private:
    boost::system::result<call_plan> plan(std::size_t start) const {
        std::vector<const threat_ref*> part;
        for (std::size_t t = start; t < std::min(ids_.size(), start + slice_); ++t)
            if (const auto* ref = by_id_.find(ids_[t])) part.push_back(ref);
        return plan_calls(action_, run_.match, part, batch_, run_.notes);
    }

    const config::action& action_;
    const run_context& run_;
    const std::vector<s1::object_id>& ids_;
    const threat_index& by_id_;
    std::size_t batch_;
    std::size_t slice_;
    std::size_t start_ = 0;  ///< the first threat of the next slice to plan
    std::vector<planned_call> planned_;
    std::size_t taken_ = 0;
};

std::string refused(const boost::system::error_code& e) {
    return "refused to build the request: " + e.message();
}

const char* const interrupted = "interrupted by shutdown: later batches not sent";

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
                                  const threat_index* refs) {
        if (run_.dry) {
            call_identity who{config::action_name(a), "POST", call.request.target, call.threat_ids, call.agent_ids,
                              run_.next_batch(),      1};
            report.dry_calls.push_back(to_dry(call));
            auto event = dry_run_event(run_.id, who, call.request.body);
            co_return co_await engine_.audit(std::move(event));
        }
        auto job = job_for(a, std::move(call), filter_target, refs);  // named: no temporary in co_await
        co_return co_await perform(a, report, std::move(job), nullptr, refs);
    }

    /// An enforced batch, its batch id taken now (in the order the batches are sent).
    batch_job job_for(const config::action& a, planned_call call, bool filter_target, const threat_index* refs) {
        batch_job job;
        job.action = &a;
        job.action_name = config::action_name(a);
        job.ledger_key = ledger_key(a);
        job.expected = effect_of(a, call.note_text);
        job.scope = run_.match.carried_scope();
        job.call = std::move(call);
        job.filter_target = filter_target;
        job.batch_id = run_.next_batch();
        if (needs_confirmation(job.expected) && !filter_target)
            job.confirm_within = run_.playbook.limits.confirm_within;
        if (const auto* m = std::get_if<config::mitigate_action>(&a); m != nullptr && refs != nullptr) {
            for (const auto& threat : job.call.threat_ids)
                if (const auto* ref = refs->find(threat))
                    job.baselines.emplace(threat, run_.mitigations.baseline(job.expected.mitigation, ref->id));
        }
        return job;
    }

    /// Acts on `job` exactly once; with `ahead`, the next batch's intent is written meanwhile.
    asio::awaitable<bool> perform(const config::action& a, action_report& report, batch_job job, batch_job* ahead,
                                  const threat_index* refs) {
        const bool filter_target = job.filter_target;
        const bool confirmed_later = job.confirm_within.has_value();
        auto out = co_await engine_.act_on_batch(run_.id, *run_.session, std::move(job), ahead);
        // An action nothing confirms contains a threat at its 200 (one the agents carry out, at
        // their confirmation: confirm.cpp).
        if (!confirmed_later && refs != nullptr) {
            std::vector<core::timestamp> created;
            for (const auto& threat : out.done)
                if (const auto* ref = refs->find(threat); ref != nullptr && ref->created_at != core::timestamp{})
                    created.push_back(ref->created_at);
            engine_.observe_contained(run_.playbook, ledger_key(a), created);
        }
        report.calls += out.calls;
        report.reconciled += out.reconciled;
        report.threats_done += filter_target ? (out.done.empty() ? 0 : run_.report.acted) : out.done.size();
        report.skipped += out.skipped.size();
        report.awaiting_confirmation += out.followed;
        report.failures += out.failed.size() + out.unknown.size();
        run_.note_failed(out.failed);
        run_.note_failed(out.unknown);
        co_return !out.fatal;
    }

    /// Threats left pending without an answer (an intent written ahead of a batch never sent).
    void count_unknown(action_report& report, const std::vector<std::string>& threats) {
        report.failures += threats.size();
        run_.note_failed(threats);
    }

    /// Rows of this playbook still pending from an earlier run: reconcile them (read, never
    /// resend blindly) before this run decides anything about those threats; then count how
    /// they ended. False when the engine failed closed.
    asio::awaitable<bool> settle_pending(std::size_t i, const std::vector<s1::object_id>& pending_ids,
                                         action_report& report) {
        const auto pending = to_strings(pending_ids);
        auto* ledger = engine_.services.ledger;
        const auto& key = run_.keys[i];
        const auto& name = run_.playbook.name;
        auto found = co_await engine_.on_worker([&]() -> state::result<std::vector<state::ledger_entry>> {
            std::vector<state::ledger_entry> entries;
            for (const auto& threat : pending) {
                auto row = ledger->find(name, key, threat);
                if (!row) return row.error();
                if (*row) entries.push_back(std::move(**row));
            }
            return entries;
        });
        if (!found) {
            engine_.fail_closed("ledger: " + found.error().message);
            co_return false;
        }
        const auto settled = co_await engine_.reconcile_entries(*run_.snap, std::move(*found), run_.id.run, false);
        if (!settled.ok()) co_return false;
        const auto cooldown = run_.playbook.limits.cooldown;
        auto again = co_await engine_.on_worker([&] { return ledger->remaining(name, {key}, pending, cooldown); });
        if (!again) {
            engine_.fail_closed("ledger: " + again.error().message);
            co_return false;
        }
        const auto& still = again->front();
        run_.note_failed(still.to_do);
        run_.note_failed(still.pending);
        report.failures += still.to_do.size() + still.pending.size();
        report.threats_done += pending.size() - still.to_do.size() - still.pending.size();
        co_return true;
    }

private:
    engine::impl& engine_;
    run_context& run_;
};

/// One run from its first record to its summary: the steps of DESIGN.md §4 as short methods.
class run_driver {
public:
    run_driver(engine::impl& engine, run_context& run) : engine_(engine), run_(run), steps_(engine, run) {}

    /// Takes a run id and writes run.start. False (with the report failed) when it could not.
    asio::awaitable<bool> begin(const trigger& t) {
        if (run_.dry) {
            // Dry runs take no ledger run id (they write nothing there): the start time keeps their
            // ids apart across processes, the counter within one.
            std::string stamp;
            for (const char c : core::format_timestamp(run_.started).substr(0, 19))
                if (c != '-' && c != ':') stamp += c;
            run_.id.run = "d-" + stamp + "-" + std::to_string(++engine_.dry_runs);
        } else {
            auto* ledger = engine_.services.ledger;
            auto next = co_await engine_.on_worker([&] { return ledger->next_run_id(); });
            if (!next) {
                engine_.fail_closed("ledger: " + next.error().message);
                run_.report.error = engine_.halt_reason();
                co_return false;
            }
            run_.id.run = *next;
            engine_.own_run(run_.id.run);  // its rows are this instance's to decide (lease.cpp)
        }
        run_.report.run_id = run_.id.run;
        run_.notes = {run_.playbook.name,
                      run_.id.run,
                      run_.id.console,
                      std::string(config::to_string(mode())),
                      core::format_timestamp(run_.started),
                      0};
        // Deferred: durable with the run's first intent (or its end), so that a webhook's run
        // syncs twice before its first POST, not four times.
        engine_.defer(run_start_event(run_.id, t.source, config::to_string(run_.dry ? mode() : run_.playbook.mode)));
        if (!run_.dry) {
            state::run_record record{run_.id.run, run_.playbook.name, run_.started, std::nullopt, "running", {}};
            engine_.defer(state::row_write{state::row_write::kind::run, {}, {}, {}, {}, std::move(record)});
        }
        if (!engine_.ready()) co_return false;
        for (const auto& a : run_.playbook.actions) {
            run_.keys.push_back(ledger_key(a));
            run_.report.actions.push_back({config::action_name(a), 0, 0, 0, 0, 0, 0, {}});
        }
        co_return true;
    }

    asio::awaitable<run_report> finish(run_outcome outcome, std::string error) {
        run_.report.outcome = outcome;
        run_.report.error = std::move(error);
        // The last batch's results (and a run without a POST: its start) become durable now.
        if (!co_await engine_.flush_deferred() && run_.report.error.empty()) run_.report.error = engine_.halt_reason();
        auto* ledger = engine_.services.ledger;
        const auto& name = run_.playbook.name;
        if (auto counts = co_await engine_.on_worker([&] { return ledger->count_confirmations(name); })) {
            run_.report.awaiting = counts->sent;
            run_.report.unconfirmed = counts->unconfirmed;
            run_.report.confirmed_failed = counts->confirmed_failed;
        }
        if (!run_.report.error.empty()) run_.report.outcome = run_outcome::failed;
        auto end = run_end_event(run_.id, run_.report);
        bool recorded = co_await engine_.audit(std::move(end));
        if (!run_.dry) {
            state::run_record record{run_.id.run,
                                     run_.playbook.name,
                                     run_.started,
                                     engine_.services.clock->now(),
                                     std::string(to_string(run_.report.outcome)),
                                     summary_line(run_.report)};
            recorded = co_await engine_.record_run(std::move(record)) && recorded;
        }
        if (!recorded && run_.report.outcome != run_outcome::failed) {
            run_.report.outcome = run_outcome::failed;
            run_.report.error = engine_.halt_reason();
        }
        if (run_.report.outcome == run_outcome::failed)
            log_error("run failed",
                      {{"playbook", run_.playbook.name}, {"run", run_.id.run}, {"error", run_.report.error}});
        else
            log_info(summary_line(run_.report),
                     {{"playbook", run_.playbook.name}, {"run", run_.id.run}, {"console", run_.id.console}});
        co_return run_.report;
    }

    /// target: filter — the match itself is each action's filter, counted before each action.
    asio::awaitable<run_report> filter_run() {
        const auto& p = run_.playbook;
        // Every count and POST of the run selects what existed at its start, no later arrival.
        run_.match = pin_upper_bound(std::move(run_.match), run_.started);
        for (std::size_t i = 0; i < p.actions.size(); ++i) {
            if (engine_.stopping) co_return co_await finish(run_outcome::failed, "interrupted by shutdown");
            if (run_.any_failed && p.on_error == config::error_policy::stop) {
                run_.report.actions[i].skipped = 1;
                continue;
            }
            // Counted again before each action: an earlier action (or the console) may have
            // changed what the match selects, and max_threats bounds every call, not the first.
            auto count = co_await run_.session->client->count_threats(run_.match);
            if (!count.ok())
                co_return co_await finish(run_outcome::failed, "counting the match failed: " + count.error.message);
            const auto counted =
                match_limit(run_.match, static_cast<std::size_t>(std::max<std::int64_t>(*count.value, 0)));
            if (i == 0) run_.report.matched = run_.report.after_ledger = counted;
            if (counted > static_cast<std::size_t>(p.limits.max_threats)) {
                co_await held(counted, counted, run_.report.actions[i].action);
                co_return co_await finish(run_outcome::held, {});
            }
            if (counted == 0) break;  // nothing (left) to act on
            if (i == 0) run_.report.acted = run_.notes.matched = counted;
            auto call = plan_filter_call(p.actions[i], run_.match, run_.notes);
            if (!call)
                co_return co_await finish(run_outcome::failed,
                                          "refused to build the request: " + call.error().message());
            call->threat_ids = {filter_run_key(run_.id.run)};
            if (!co_await steps_.perform(p.actions[i], run_.report.actions[i], std::move(*call), true, nullptr))
                co_return co_await finish(run_outcome::failed, engine_.halt_reason());
        }
        co_return co_await finish(run_outcome::ok, {});
    }

    /// target: threats, once resolved — drop what the ledger has done, limit, act action by action.
    asio::awaitable<run_report> threats_run(std::vector<threat_ref> threats) {
        const auto& p = run_.playbook;
        run_.report.matched = threats.size();
        auto* ledger = engine_.services.ledger;
        const threat_index by_id(threats);
        auto ids = by_id.ordered_ids();
        auto remaining = co_await engine_.on_worker([&]() -> state::result<std::vector<open_threats>> {
            std::vector<open_threats> out(run_.keys.size());
            for (auto& action : out) action.to_do.reserve(ids.size());  // usually all of them
            std::vector<std::string> chunk;
            for (std::size_t start = 0; start < ids.size(); start += remaining_chunk) {
                chunk.clear();
                for (std::size_t i = start; i < std::min(ids.size(), start + remaining_chunk); ++i)
                    chunk.push_back(s1::to_string_id(ids[i]));
                auto answer = ledger->remaining(p.name, run_.keys, chunk, p.limits.cooldown);
                if (!answer) return answer.error();
                for (std::size_t k = 0; k < out.size() && k < answer->size(); ++k) {
                    auto part = to_open_threats((*answer)[k]);
                    out[k].to_do.insert(out[k].to_do.end(), part.to_do.begin(), part.to_do.end());
                    out[k].pending.insert(out[k].pending.end(), part.pending.begin(), part.pending.end());
                }
            }
            return out;
        });
        if (!remaining) {
            engine_.fail_closed("ledger: " + remaining.error().message);
            co_return co_await finish(run_outcome::failed, engine_.halt_reason());
        }
        auto left = threats_left(ids, *remaining);
        std::vector<s1::object_id>().swap(ids);
        run_.report.after_ledger = left.size();
        // The match's `limit`: at most that many (the oldest left) per run; never sent in the GET.
        left.resize(match_limit(run_.match, left.size()));
        const auto limit = apply_limits(left.size(), p.limits);
        if (limit.held) {
            co_await held(run_.report.matched, run_.report.after_ledger, {});
            co_return co_await finish(run_outcome::held, {});
        }
        left.resize(limit.keep);
        // Sorted for work_for_action; each action's work keeps the ledger's (resolve) order.
        std::sort(left.begin(), left.end());
        const auto& selected = left;
        run_.report.acted = run_.notes.matched = selected.size();
        for (std::size_t i = 0; i < p.actions.size(); ++i) {
            auto error = co_await act(i, (*remaining)[i], selected, by_id);
            if (!error.empty()) co_return co_await finish(run_outcome::failed, error);
        }
        co_return co_await finish(run_outcome::ok, {});
    }

    /// Every page, oldest first, keeping compact records only. The error, or empty.
    asio::awaitable<std::string> resolve(std::vector<threat_ref>& threats) {
        const bool details = needs_threat_details(run_.playbook);
        // Named locals, not temporaries inside co_await: GCC 12 destroys those twice.
        std::function<bool(s1::threat_page&)> keep = [&](s1::threat_page& page) {
            // The first page's total sizes the list once (bounded: a total is the console's word).
            if (threats.empty() && page.total_items > 0)
                threats.reserve(static_cast<std::size_t>(std::min<std::int64_t>(page.total_items, 2'000'000)));
            for (const auto& record : page.threats) {
                threats.push_back(make_ref(record, details));
                run_.mitigations.keep(record);
            }
            if (const auto& progress = engine_.services.progress) {
                progress_event e;
                e.playbook = run_.playbook.name;
                e.done = threats.size();
                progress(e);
            }
            return !engine_.stopping;
        };
        auto listing = run_.session->client->for_each_page(run_.match, std::move(keep), s1::page_request{});
        auto listed = co_await std::move(listing);
        if (!listed.ok()) co_return "resolving the match failed: " + listed.error.message;
        if (engine_.stopping) co_return "interrupted by shutdown";
        run_.mitigations.sort();
        co_return std::string();
    }

private:
    config::run_mode mode() const { return run_.dry ? config::run_mode::dry_run : config::run_mode::enforce; }

    asio::awaitable<void> held(std::size_t matched, std::size_t after_ledger, std::string action) {
        const auto& p = run_.playbook;
        auto event = run_held_event(run_.id, matched, after_ledger, p.limits.max_threats);
        (void)co_await engine_.audit(std::move(event));  // failing closed is reported by finish()
        log_fields fields{{"playbook", p.name},
                          {"run", run_.id.run},
                          {"left", std::to_string(after_ledger)},
                          {"max_threats", std::to_string(p.limits.max_threats)}};
        if (!action.empty()) fields.emplace_back("action", action);
        log_error("playbook held: more threats than max_threats", fields);
    }

    /// Step 4 for action `i`. The run's error, or empty.
    asio::awaitable<std::string> act(std::size_t i, const open_threats& remaining,
                                     const std::vector<s1::object_id>& selected, const threat_index& by_id) {
        const auto& a = run_.playbook.actions[i];
        auto& report = run_.report.actions[i];
        auto work = work_for_action(remaining, selected, run_.failed, run_.playbook.on_error);
        if (!work.skipped.empty()) {
            report.skipped = work.skipped.size();
            auto event = skipped_event(run_.id, report.action, to_strings(work.skipped),
                                       "an earlier action failed (on_error: stop)");
            if (!co_await engine_.audit(std::move(event))) co_return engine_.halt_reason();
        }
        if (!work.pending.empty() && !run_.dry && !co_await steps_.settle_pending(i, work.pending, report))
            co_return engine_.halt_reason();
        call_source calls(a, run_, work.to_do, by_id);
        std::vector<std::string> no_agent;
        const auto total = calls.survey(no_agent);
        if (!total) co_return refused(total.error());
        if (!no_agent.empty()) {
            report.failures += no_agent.size();
            run_.note_failed(no_agent);
            auto event = skipped_event(run_.id, report.action, no_agent, "the threat has no agent id to isolate");
            if (!co_await engine_.audit(std::move(event))) co_return engine_.halt_reason();
        }
        if (run_.dry) co_return co_await send_dry(a, report, calls, *total);
        co_return co_await send(a, report, calls, *total, by_id);
    }

    /// Records each call as it would be sent. The run's error, or empty.
    asio::awaitable<std::string> send_dry(const config::action& a, action_report& report, call_source& calls,
                                          std::size_t total) {
        for (std::size_t number = 1;; ++number) {
            auto call = calls.next();
            if (!call) co_return refused(call.error());
            if (!*call) co_return std::string();
            if (engine_.stopping) co_return interrupted;
            progress_batch(report.action, number, total);
            if (!co_await steps_.perform(a, report, std::move(**call), false, nullptr)) co_return engine_.halt_reason();
        }
    }

    /// Sends each call exactly once, the next batch's intent written while a POST is in flight.
    /// The run's error, or empty.
    asio::awaitable<std::string> send(const config::action& a, action_report& report, call_source& calls,
                                      std::size_t total, const threat_index& by_id) {
        // A refusal here is not expected: the survey planned every call already.
        auto job_of = [&](boost::system::result<std::optional<planned_call>>& call) -> std::optional<batch_job> {
            if (!call || !*call) return std::nullopt;
            return steps_.job_for(a, std::move(**call), false, &by_id);
        };
        auto first = calls.next();
        if (!first) co_return refused(first.error());
        auto job = job_of(first);
        for (std::size_t number = 1; job; ++number) {
            // A batch whose intent was written ahead goes on: act_on_batch ends it failed, unsent.
            if (engine_.stopping && !job->intent_written) co_return interrupted;
            progress_batch(report.action, number, total);
            auto following = calls.next();
            if (!following) {
                if (job->intent_written) steps_.count_unknown(report, job->call.threat_ids);  // left pending
                co_return refused(following.error());
            }
            auto ahead = job_of(following);
            if (!co_await steps_.perform(a, report, std::move(*job), ahead ? &*ahead : nullptr, &by_id)) {
                // Its intent durable but never sent: pending, for a reconciliation to read.
                if (ahead && ahead->intent_written) steps_.count_unknown(report, ahead->call.threat_ids);
                co_return engine_.halt_reason();
            }
            job = std::move(ahead);
        }
        co_return std::string();
    }

    void progress_batch(const std::string& action, std::size_t number, std::size_t total) const {
        if (const auto& progress = engine_.services.progress) {
            progress_event e;
            e.what = progress_event::kind::batch;
            e.playbook = run_.playbook.name;
            e.detail = action;
            e.done = number;
            e.total = total;
            progress(e);
        }
    }

    engine::impl& engine_;
    run_context& run_;
    run_steps steps_;
};

}  // namespace detail

asio::awaitable<run_report> engine::impl::execute_run(std::shared_ptr<const snapshot> snap, const config::playbook& p,
                                                      const trigger& t) {
    run_report failed_early;
    failed_early.playbook = p.name;
    failed_early.outcome = run_outcome::failed;
    failed_early.dry_run = options.dry_run || options.plan || p.mode == config::run_mode::dry_run;
    detail::session_ptr session = session_for(p.console);
    if (!ready())
        failed_early.error = "not ready: " + not_ready;
    else if (!stopping && !acting())
        failed_early.error = lease.role == lease_role::taking_over
                                 ? "taking over: reconciling actions left pending; no run starts yet"
                                 : halt_reason();
    else if (stopping)
        failed_early.error = "shutting down: no new run starts";
    else if (!session)
        failed_early.error = "console '" + p.console + "' is not configured";
    if (!failed_early.error.empty()) co_return failed_early;

    run_context run{std::move(snap),
                    p,
                    session,
                    {},
                    failed_early.dry_run,
                    services.clock->now(),
                    {},
                    mitigation_history(p),
                    {},
                    {},
                    0,
                    {},
                    {}};
    run.report.playbook = p.name;
    run.report.dry_run = run.dry;
    run.id = {{}, p.name, p.sha256, session->config.name, run.dry};
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
    detail::run_driver driver(*this, run);
    if (p.target == config::target_kind::filter || nothing) {
        if (!co_await driver.begin(t)) co_return co_await driver.finish(run_outcome::failed, halt_reason());
        if (nothing) co_return co_await driver.finish(run_outcome::ok, {});
        co_return co_await driver.filter_run();
    }
    // Reads first: a run's GETs never wait on the disk (another run's slow write on the worker
    // thread). Its records are written before anything that changes the console.
    std::vector<threat_ref> threats;
    const auto resolve_error = co_await driver.resolve(threats);
    if (!co_await driver.begin(t)) co_return co_await driver.finish(run_outcome::failed, halt_reason());
    if (!resolve_error.empty()) co_return co_await driver.finish(run_outcome::failed, resolve_error);
    co_return co_await driver.threats_run(std::move(threats));
}

}  // namespace s1pilot::engine
