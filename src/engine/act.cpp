// Exactly once per (playbook, action, threat): the durable intent before the POST, the result
// after it, and reading the console back whenever the outcome of a POST is unknown.

#include "s1pilot/core/error.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/use_awaitable.hpp>

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
    std::vector<state::action_row> rows;
    rows.reserve(threat_ids.size());
    for (const auto& threat : threat_ids) {
        const auto baseline = job.baselines.find(threat);
        if (baseline == job.baselines.end()) {
            rows.push_back({id.playbook, job.ledger_key, threat, id.run, job.batch_id, shared});
            continue;
        }
        row_detail own = detail;
        own.baseline = baseline->second;
        rows.push_back({id.playbook, job.ledger_key, threat, id.run, job.batch_id, encode_detail(own)});
    }
    return rows;
}

template <class T>
call_answer answer_of(const s1::call_result<T>& r, outcome result) {
    call_answer a;
    a.result = result;
    a.http_status = r.http_status();
    a.request_id = r.request_id();
    for (const auto& attempt : r.attempts) a.duration_ms += attempt.duration.count();
    if (!r.ok()) a.error = r.error.message;
    return a;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
    to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

void engine::impl::fail_closed(const std::string& why) {
    if (not_ready.empty()) {
        not_ready = why;
        log_error("failing closed: no action will be sent", {{"reason", why}});
    }
}

bool engine::impl::audit(const boost::json::object& record) {
    if (services.audit == nullptr || options.plan) return true;
    auto r = services.audit->append(record);
    if (r) return true;
    fail_closed("audit log: " + r.error().message);
    return false;
}

bool engine::impl::mark_pending(const std::vector<state::action_row>& rows) {
    auto r = services.ledger->mark_pending(rows);
    if (!r) fail_closed("ledger: " + r.error().message);
    return r.has_value();
}

bool engine::impl::mark_done(const std::vector<state::action_row>& rows) {
    if (rows.empty()) return true;
    auto r = services.ledger->mark_done(rows);
    if (!r) fail_closed("ledger: " + r.error().message);
    return r.has_value();
}

bool engine::impl::mark_failed(const std::vector<state::action_row>& rows, std::string_view reason) {
    if (rows.empty()) return true;
    auto r = services.ledger->mark_failed(rows, reason);
    if (!r) fail_closed("ledger: " + r.error().message);
    return r.has_value();
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
        for (const auto& t : out.threats) {
            auto notes = co_await session.client->list_notes(t.id);
            if (notes.ok()) out.notes[s1::to_string_id(t.id)] = std::move(*notes.value);
        }
    }
    out.ok = true;
    out.split = split_by_effect(
        expected, threat_ids, out.threats,
        [&out](const std::string& id) -> const std::vector<std::string>* {
            const auto found = out.notes.find(id);
            return found == out.notes.end() ? nullptr : &found->second;
        },
        baselines);
    co_return out;
}

asio::awaitable<batch_outcome> engine::impl::act_on_batch(const run_identity& id, console_session& session,
                                                          batch_job job) {
    batch_outcome out;
    const int max_attempts = std::max(1, config.retry.max_attempts);
    const row_detail detail{session.config->name, job.scope, job.call.note_text, std::nullopt};
    planned_call call = std::move(job.call);
    std::vector<std::string> ids = call.threat_ids;
    for (int attempt = 1;; ++attempt) {
        if (stopping || !ready()) {
            // Nothing more starts. Rows sent before stay pending: start-up reconciles them. Failed
            // closed is fatal, so that the run ends failed (and `once` exits 1), not ok.
            if (attempt > 1) append(out.unknown, ids);
            out.fatal = !ready();
            co_return out;
        }
        const auto rows = rows_for(id, job, ids, detail);
        call_identity who{job.action_name, "POST", call.request.target, ids, call.agent_ids, job.batch_id, attempt};
        // Both durable before anything is sent; either failing sends nothing (fail closed).
        if (!mark_pending(rows) || !audit(intent_event(id, who))) {
            out.fatal = true;
            co_return out;
        }
        const s1::action_result built = call.request;
        auto sent = co_await session.client->post_action(built);
        ++out.calls;

        // A 2xx that carries errors says nothing certain about what was applied: read first.
        const bool answered_with_errors = sent.status == s1::call_status::success && !sent.value->errors.empty();
        if (sent.status == s1::call_status::success && !answered_with_errors) {
            const answer_split split = split_by_answer(ids, *sent.value);
            // One action.result per outcome group, each naming its threats.
            auto record = [&](const std::vector<std::string>& threats, outcome result, std::string why) {
                call_identity group = who;
                group.threat_ids = threats;
                auto answer = answer_of(sent, result);
                answer.affected = sent.value->affected;
                if (result == outcome::failure)
                    answer.error = std::move(why);
                else
                    answer.reason = std::move(why);
                return audit(result_event(id, group, answer));
            };
            bool ok = true;
            if (!split.done.empty() || (split.skipped.empty() && split.failed.empty())) {
                ok = mark_done(rows_for(id, job, split.done, detail)) && record(split.done, outcome::success, {});
                append(out.done, split.done);
            }
            // Skipped is the platform's final word (retrying would repeat it): done in the ledger.
            for (const auto& [reason, threats] : split.skipped) {
                ok = ok && mark_done(rows_for(id, job, threats, detail)) && record(threats, outcome::skipped, reason);
                append(out.skipped, threats);
            }
            for (const auto& [reason, threats] : split.failed) {
                ok = ok && mark_failed(rows_for(id, job, threats, detail), reason) &&
                     record(threats, outcome::failure, reason);
                append(out.failed, threats);
                log_warn("action failed",
                         {{"playbook", id.playbook}, {"run", id.run}, {"action", job.action_name}, {"error", reason}});
            }
            out.fatal = !ok;
            co_return out;
        }
        if (sent.status == s1::call_status::failed) {
            const auto answer = answer_of(sent, outcome::failure);
            out.fatal = !mark_failed(rows, answer.error) || !audit(result_event(id, who, answer));
            log_warn(
                "action failed",
                {{"playbook", id.playbook}, {"run", id.run}, {"action", job.action_name}, {"error", answer.error}});
            append(out.failed, ids);
            co_return out;
        }

        // The console may or may not have applied it: find out before anything is sent again.
        auto unknown_answer = answer_of(sent, outcome::unknown);
        if (answered_with_errors) {
            unknown_answer.error = "the answer reported errors:";
            for (const auto& e : sent.value->errors) unknown_answer.error += " " + s1::to_string(e) + ";";
            unknown_answer.error.pop_back();
        }
        if (!audit(result_event(id, who, unknown_answer))) {
            out.fatal = true;
            co_return out;
        }
        reconcile_counts counts;
        if (job.filter_target) {
            counts.absent = ids;
            counts.note =
                "marked failed: a target: filter call cannot be checked per threat; the next run "
                "evaluates the match again";
            out.fatal = !mark_failed(rows, "outcome unknown (target: filter)") ||
                        !audit(reconciled_event(id, job.action_name, counts));
            append(out.failed, ids);
            co_return out;
        }
        const effect_read read = co_await read_effect(session, job.expected, job.scope, ids, &job.baselines);
        if (!read.ok) {
            counts.unknown = ids;
            counts.note = "left pending: reading the threats failed: " + read.error;
            out.fatal = !audit(reconciled_event(id, job.action_name, counts));
            append(out.unknown, ids);
            co_return out;
        }
        counts.done = read.split.done;
        counts.absent = read.split.resend;
        counts.unknown = read.split.unknown;
        const bool resend = !counts.absent.empty() && attempt < max_attempts && job.action != nullptr;
        counts.note = counts.absent.empty() ? ""
                      : resend              ? "resending where the effect is absent"
                               : "marked failed: the effect is absent after " + std::to_string(attempt) + " sends";
        bool ok = mark_done(rows_for(id, job, counts.done, detail));
        if (!resend)
            ok = ok && mark_failed(rows_for(id, job, counts.absent, detail), "effect absent after an unknown outcome");
        ok = ok && audit(reconciled_event(id, job.action_name, counts));
        append(out.done, counts.done);
        append(out.unknown, counts.unknown);
        out.reconciled += counts.done.size();
        if (!resend) append(out.failed, counts.absent);
        if (!ok) {
            out.fatal = true;
            co_return out;
        }
        if (!resend) co_return out;

        // Again, for the threats that show no effect; isolate posts their agents.
        ids = counts.absent;
        call.threat_ids = ids;
        filter::threat_filter f;
        if (std::holds_alternative<config::isolate_action>(*job.action)) {
            std::unordered_map<s1::object_id, s1::object_id> agent_of;
            for (const auto& t : read.threats) agent_of.emplace(t.id, t.agent_id);
            call.agent_ids.clear();
            for (const auto& threat : ids) {
                const auto agent = agent_of[s1::parse_object_id(threat).value_or(0)];
                const auto text = s1::to_string_id(agent);
                if (agent != 0 && std::find(call.agent_ids.begin(), call.agent_ids.end(), text) == call.agent_ids.end())
                    call.agent_ids.push_back(text);
            }
            f = agent_filter(job.scope, call.agent_ids);
        } else {
            f = batch_filter(job.scope, ids);
        }
        auto rebuilt = build_request(*job.action, f, call.note_text);
        if (!rebuilt) {
            out.fatal = !mark_failed(rows_for(id, job, ids, detail), "refused: " + rebuilt.error().message());
            append(out.failed, ids);
            co_return out;
        }
        call.request = std::move(*rebuilt);
    }
}

}  // namespace s1pilot::engine
