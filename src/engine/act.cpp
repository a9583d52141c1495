// Exactly once per (playbook, action, threat), carried out: the durable intent before the POST,
// then what batch.hpp's decide() says of the answer (record it; read the threats back when the
// effect is unknown; send again only where the read shows it absent).

#include "s1pilot/engine/logging.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <unordered_map>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;
using detail::batch_job;
using detail::batch_outcome;
using detail::console_session;
using detail::effect_read;

namespace {

// Each row carries what reconciliation needs; a mitigation's rows also their threat's baseline.
std::vector<state::action_row> rows_for(const run_identity& id, const batch_job& job,
                                        const std::vector<std::string>& threat_ids, const row_detail& detail) {
    const std::string shared = encode_detail(detail);
    // The threats' own baselines replace the detail's: the rest is encoded once for the batch.
    std::string without_baseline = shared;
    if (detail.baseline && !job.baselines.empty()) {
        row_detail rest = detail;
        rest.baseline.reset();
        without_baseline = encode_detail(rest);
    }
    std::vector<state::action_row> rows;
    rows.reserve(threat_ids.size());
    for (const auto& threat : threat_ids) {
        const auto baseline = job.baselines.find(threat);
        rows.push_back({id.playbook, job.ledger_key, threat, id.run, job.batch_id,
                        baseline == job.baselines.end() ? shared : with_baseline(without_baseline, baseline->second)});
    }
    return rows;
}

row_detail detail_of(const console_session& session, const batch_job& job) {
    return {session.config.name, job.scope, job.call.note_text, std::nullopt};
}

/// Who a send of `threats` is, as the audit names it.
call_identity identity_of(const batch_job& job, const std::vector<std::string>& threats, int attempt) {
    return {job.action_name, "POST", job.call.request.target, threats, job.call.agent_ids, job.batch_id, attempt};
}

/// The intent of a send: its rows pending and its audit record, durable (with what was deferred)
/// before the POST leaves. False when a write failed (the engine has failed closed).
asio::awaitable<bool> write_intent(engine::impl& engine, std::vector<state::action_row> rows,
                                   boost::json::object record) {
    std::vector<state::row_write> writes{{state::row_write::kind::pending, std::move(rows), {}, {}, {}}};
    std::vector<boost::json::object> records;
    records.push_back(std::move(record));
    co_return co_await engine.commit(std::move(writes), std::move(records));
}

template <class T>
call_answer answer_of(const s1::call_result<T>& r, outcome result) {
    call_answer a;
    a.result = result;
    a.http_status = r.http_status();
    a.request_id = r.request_id();
    for (const auto& attempt : r.attempts) a.duration_ms += attempt.duration.count();
    if (!r.ok()) a.error = r.error.message;
    if (r.value) a.affected = r.value->affected;
    return a;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
    to.insert(to.end(), from.begin(), from.end());
}

/// One batch being carried out: the decisions of batch.hpp turned into ledger rows, audit
/// records and the outcome the run reports.
class batch_driver {
public:
    batch_driver(engine::impl& engine, const run_identity& id, console_session& session, batch_job& job)
        : engine_(engine), id_(id), job_(job), detail_(detail_of(session, job)) {}

    /// The rows as of this batch: the ledger keeps what a later reconciliation needs.
    std::vector<state::action_row> rows(const std::vector<std::string>& threats) const {
        return rows_for(id_, job_, threats, detail_);
    }

    /// Records a decided step: the ledger first, then the audit (the record says what the ledger
    /// now holds). False when a write failed (the engine has failed closed).
    asio::awaitable<bool> record_answer(const call_identity& who, const s1::call_result<s1::action_response>& sent,
                                        const batch_step& step, batch_outcome& out) {
        bool ok = true;
        if (!step.done.empty()) {
            ok = co_await accept(step.done, out) && co_await record(who, sent, step.done, outcome::success, {});
            append(out.done, step.done);
        }
        // Skipped is the platform's final word (retrying would repeat it): done in the ledger.
        for (const auto& [reason, threats] : step.skipped) {
            ok = ok && co_await settle(threats, true, {}) &&
                 co_await record(who, sent, threats, outcome::skipped, reason);
            append(out.skipped, threats);
        }
        for (const auto& [reason, threats] : step.failed) {
            ok = ok && co_await settle(threats, false, reason) &&
                 co_await record(who, sent, threats, outcome::failure, reason);
            append(out.failed, threats);
            log_warn("action failed",
                     {{"playbook", id_.playbook}, {"run", id_.run}, {"action", job_.action_name}, {"error", reason}});
        }
        std::vector<std::string> unknown = step.reconcile;
        append(unknown, step.give_up);
        if (!unknown.empty()) ok = ok && co_await record(who, sent, unknown, outcome::unknown, step.why);
        if (!step.give_up.empty()) {
            append(out.failed, step.give_up);
            reconcile_counts counts;
            counts.absent = step.give_up;
            counts.note =
                "marked failed: a target: filter call cannot be checked per threat; the next run evaluates the "
                "match again";
            const std::string why = "outcome unknown (target: filter)";
            ok = ok && co_await settle(step.give_up, false, why) && co_await reconciled(counts);
        }
        co_return ok;
    }

    /// After a read: done, given up, left pending; what is resent is recorded by the next send.
    asio::awaitable<bool> record_read(const batch_step& step, int attempts, batch_outcome& out) {
        reconcile_counts counts;
        counts.done = step.done;
        counts.unknown = step.pending;
        counts.absent = step.resend.empty() ? step.give_up : step.resend;
        counts.note = !step.resend.empty() ? "resending where the effect is absent"
                      : !step.give_up.empty()
                          ? "marked failed: the effect is absent after " + std::to_string(attempts) + " sends"
                      : !step.pending.empty() ? "left pending: " + (step.why.empty() ? "not found" : step.why)
                                              : "";
        const std::string why = "effect absent after an unknown outcome";
        bool ok = co_await accept(step.done, out);
        ok = ok && co_await settle(step.give_up, false, why);
        ok = ok && co_await reconciled(counts);
        append(out.done, step.done);
        append(out.unknown, step.pending);
        append(out.failed, step.give_up);
        out.reconciled += step.done.size();
        co_return ok;
    }

    // A batch's results are deferred: they become durable with the next write (the next batch's
    // intent, in the same transaction and the same sync). Until then their rows stay pending,
    // which is what a crash meanwhile leaves to reconciliation: read, never resent blindly.

    /// Marks `threats` done as accepted by the console: a mitigation or isolation is then
    /// followed until the agent carries it out.
    asio::awaitable<bool> accept(const std::vector<std::string>& threats, batch_outcome& out) {
        if (threats.empty()) co_return true;
        if (job_.confirm_within) out.followed += threats.size();
        engine_.defer(engine_.accepted(rows(threats), job_.confirm_within));
        co_return engine_.ready();
    }

    /// Marks `threats` done, or failed with `why`.
    asio::awaitable<bool> settle(const std::vector<std::string>& threats, bool done, const std::string& why) {
        if (threats.empty()) co_return true;
        using kind = state::row_write::kind;
        engine_.defer(state::row_write{done ? kind::done : kind::failed, rows(threats), done ? "" : why, {}, {}});
        co_return engine_.ready();
    }

private:
    asio::awaitable<bool> record(const call_identity& who, const s1::call_result<s1::action_response>& sent,
                                 const std::vector<std::string>& threats, outcome result, const std::string& why) {
        call_identity group = who;
        group.threat_ids = threats;
        auto answer = answer_of(sent, result);
        if (result == outcome::failure || result == outcome::unknown)
            answer.error = why;
        else
            answer.reason = why;
        engine_.defer(result_event(id_, group, answer));
        co_return engine_.ready();
    }

    asio::awaitable<bool> reconciled(const reconcile_counts& counts) {
        engine_.defer(reconciled_event(id_, job_.action_name, counts));
        co_return engine_.ready();
    }

    engine::impl& engine_;
    const run_identity& id_;
    batch_job& job_;
    row_detail detail_;
};

/// POSTs `request`. With `next` (the next batch, never sent yet), its intent is written while
/// the POST is in flight: its syncs and the ledger's work leave the path from one POST to the
/// next. That commit also takes the results deferred before it; this batch's own result rides
/// with the one after. `next->intent_written` says whether the intent is durable.
asio::awaitable<s1::call_result<s1::action_response>> post_beside(engine::impl& engine, const run_identity& id,
                                                                  console_session& session,
                                                                  const s1::action_result& request, batch_job* next) {
    if (next == nullptr) co_return co_await session.client->post_action(request);
    const batch_driver next_driver(engine, id, session, *next);
    auto rows = next_driver.rows(next->call.threat_ids);
    auto record = intent_event(id, identity_of(*next, next->call.threat_ids, next->attempts_before + 1));
    using namespace asio::experimental::awaitable_operators;
    // Named locals, not temporaries inside co_await: GCC 12 destroys those twice.
    auto post = session.client->post_action(request);
    auto intent = write_intent(engine, std::move(rows), std::move(record));
    auto both = std::move(post) && std::move(intent);
    auto [sent, durable] = co_await std::move(both);
    next->intent_written = durable;
    co_return std::move(sent);
}

/// The call that sends again to the threats a read shows without the effect (isolate: their
/// agents, as the read shows). nullopt when the batch ends here: nothing is left to send, the
/// request is refused (those threats fail), or recording that failed (`out.fatal`).
asio::awaitable<std::optional<planned_call>> call_again(batch_driver& driver, const batch_job& job,
                                                        const batch_step& step, const effect_read& read,
                                                        batch_outcome& out) {
    std::vector<std::string> no_agent;
    auto again =
        make_call(*job.action, job.scope, detail::targets_of(step.resend, read.threats), job.call.note_text, no_agent);
    const std::string no_agent_why = "the threat has no agent id to isolate";
    if (!co_await driver.settle(no_agent, false, no_agent_why)) {
        out.fatal = true;
        co_return std::nullopt;
    }
    append(out.failed, no_agent);
    if (!again && no_agent.size() == step.resend.size()) co_return std::nullopt;  // nothing left to send
    if (!again) {
        const std::string refused = "refused: " + again.error().message();
        if (!co_await driver.settle(step.resend, false, refused)) out.fatal = true;
        append(out.failed, step.resend);
        co_return std::nullopt;
    }
    co_return std::move(*again);
}

}  // namespace

std::vector<call_target> detail::targets_of(const std::vector<std::string>& threat_ids,
                                            const std::vector<s1::threat_record>& read) {
    std::unordered_map<s1::object_id, s1::object_id> agent_of;
    for (const auto& t : read) agent_of.emplace(t.id, t.agent_id);
    std::vector<call_target> out;
    for (const auto& threat : threat_ids) {
        const auto id = s1::parse_object_id(threat).value_or(0);
        const auto agent = agent_of.find(id);
        out.push_back({id, agent == agent_of.end() ? 0 : agent->second});
    }
    return out;
}

asio::awaitable<effect_read> engine::impl::read_effect(console_session& session, const effect& expected,
                                                       const filter::threat_filter& scope,
                                                       const std::vector<std::string>& threat_ids,
                                                       const baseline_map* baselines) {
    effect_read out;
    const filter::threat_filter f = batch_filter(scope, threat_ids);
    // Named locals, not temporaries inside co_await: GCC 12 destroys those twice.
    std::function<bool(s1::threat_page&)> keep = [&out](s1::threat_page& page) {
        std::move(page.threats.begin(), page.threats.end(), std::back_inserter(out.threats));
        return true;
    };
    auto listing = session.client->for_each_page(f, std::move(keep), s1::page_request{});
    auto listed = co_await std::move(listing);
    if (!listed.ok()) {
        out.error = listed.error.message;
        co_return out;
    }
    if (expected.what == effect::kind::note) {
        // One GET of notes per threat (the API lists notes of one threat): a few readers at once,
        // so that reading back a batch of 100 takes the read rate limit's time, not 100 round
        // trips. Every reader runs on this coroutine's executor: `next` needs no lock.
        std::size_t next = 0;
        auto reader = [&]() -> asio::awaitable<void> {
            while (next < out.threats.size()) {
                const auto threat = out.threats[next++].id;
                auto notes = co_await session.client->list_notes(threat);
                if (notes.ok()) out.notes[s1::to_string_id(threat)] = std::move(*notes.value);
            }
        };
        using namespace asio::experimental::awaitable_operators;
        auto readers = reader() && reader() && reader() && reader();  // named: see `listing` above
        co_await std::move(readers);
    }
    out.ok = true;
    auto notes_of = [&out](const std::string& id) -> const std::vector<std::string>* {
        const auto found = out.notes.find(id);
        return found == out.notes.end() ? nullptr : &found->second;
    };
    out.split = split_by_effect(expected, threat_ids, out.threats, notes_of, baselines);
    co_return out;
}

asio::awaitable<batch_outcome> engine::impl::act_on_batch(const run_identity& id, console_session& session,
                                                          batch_job job, batch_job* ahead) {
    batch_outcome out;
    batch_driver driver(*this, id, session, job);
    batch_facts facts;
    facts.threats = job.call.threat_ids;
    facts.attempts = job.attempts_before;
    facts.max_attempts = std::max(1, current->config.retry.max_attempts);
    facts.can_resend = job.action != nullptr;
    facts.per_threat = !job.filter_target;
    for (;;) {
        // An intent written ahead goes on even while stopping: the client then sends nothing and
        // its rows are marked failed (known unsent), not left pending for a reconciliation.
        const bool written = std::exchange(job.intent_written, false);
        if ((stopping && !written) || !ready() || fenced() || facts.attempts >= facts.max_attempts) {
            // Nothing more starts. Rows sent before stay pending: reconciliation reads them. Failed
            // closed, or a lost lock, is fatal, so that the run ends failed (and `once` exits 1).
            if (out.calls > 0 || job.attempts_before > 0 || written) append(out.unknown, facts.threats);
            out.fatal = !ready() || fenced();
            co_return out;
        }
        ++facts.attempts;
        facts.targets = job.call.agent_ids.empty() ? job.call.threat_ids.size() : job.call.agent_ids.size();
        const call_identity who = identity_of(job, facts.threats, facts.attempts);
        // Both durable before anything is sent, with the results of the batch before (one
        // transaction, one sync); either failing sends nothing (fail closed).
        if (!written) {
            auto rows = driver.rows(facts.threats);  // named: see `listing` in read_effect
            auto record = intent_event(id, who);
            auto intent = write_intent(*this, std::move(rows), std::move(record));
            if (!co_await std::move(intent)) {
                out.fatal = true;
                co_return out;
            }
        }
        // The intent committed on the session that holds the cluster's lock; if that session was
        // found lost meanwhile, nothing leaves: the row stays pending for whoever decides next.
        if (fenced()) {
            append(out.unknown, facts.threats);
            out.fatal = true;
            co_return out;
        }
        const s1::action_result built = job.call.request;
        auto* next = std::exchange(ahead, nullptr);  // only beside the first POST
        if (stopping || !writes_ahead()) next = nullptr;
        auto posting = post_beside(*this, id, session, built, next);  // named: see `listing`
        auto sent = co_await std::move(posting);
        if (!sent.attempts.empty()) ++out.calls;  // one that left (not one the client refused)
        const post_answer answer{sent.status, sent.value ? &*sent.value : nullptr, sent.error.message};
        const batch_step answered = decide(facts, answer);
        if (!co_await driver.record_answer(who, sent, answered, out)) {
            out.fatal = true;
            co_return out;
        }
        if (fenced()) {
            // The lock was lost meanwhile: the run ends failed; an unknown outcome stays pending
            // for whoever decides next (read back, never resent blindly).
            append(out.unknown, answered.reconcile);
            out.fatal = true;
            co_return out;
        }
        if (answered.reconcile.empty()) co_return out;

        // The console may or may not have applied it: find out before anything is sent again.
        facts.threats = answered.reconcile;
        const effect_read read = co_await read_effect(session, job.expected, job.scope, facts.threats, &job.baselines);
        const threats_read reading{read.ok, read.error, read.split};
        const batch_step step = decide(facts, reading);
        if (!co_await driver.record_read(step, facts.attempts, out)) {
            out.fatal = true;
            co_return out;
        }
        if (step.resend.empty()) co_return out;

        auto again = co_await call_again(driver, job, step, read, out);
        if (!again) co_return out;
        job.call = std::move(*again);
        facts.threats = job.call.threat_ids;
    }
}

}  // namespace s1pilot::engine
