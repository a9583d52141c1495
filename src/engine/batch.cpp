// The batch state machine: every rule of "exactly once" that depends on what came back.

#include "s1pilot/engine/batch.hpp"

#include <algorithm>

namespace s1pilot::engine {

namespace {

const s1::action_detail* detail_of(const s1::action_response& response, const std::string& threat) {
    const auto found = std::find_if(response.details.begin(), response.details.end(),
                                    [&](const s1::action_detail& d) { return d.threat_id == threat; });
    return found == response.details.end() ? nullptr : &*found;
}

std::string skipped_reason(const s1::action_detail& entry) {
    std::string reason;
    for (const auto& s : entry.skipped) {
        if (!reason.empty()) reason += "; ";
        reason += (s.action.empty() ? "" : s.action + ": ") + (s.reason.empty() ? "skipped" : s.reason);
    }
    return reason;
}

bool refused_result(const std::string& result) {
    return result == "missing_permissions" || result == "conditions_not_met";
}

std::string errors_text(const std::vector<s1::api_error>& errors) {
    std::string text = "the answer reported errors:";
    for (const auto& e : errors) text += " " + s1::to_string(e) + ";";
    text.pop_back();
    return text;
}

/// The effect is unknown for `threats`: read them back, or, where that is impossible (target:
/// filter), give up so that the next run evaluates the match afresh.
void unknown(batch_step& step, const batch_facts& batch, const std::vector<std::string>& threats, std::string why) {
    if (threats.empty()) return;
    auto& into = batch.per_threat ? step.reconcile : step.give_up;
    into.insert(into.end(), threats.begin(), threats.end());
    step.why = std::move(why);
}

}  // namespace

batch_step decide(const batch_facts& batch, const post_answer& answer) {
    batch_step step;
    if (answer.status == s1::call_status::failed) {
        step.failed[answer.error.empty() ? std::string("the call failed") : answer.error] = batch.threats;
        return step;
    }
    if (answer.status == s1::call_status::reconcile_needed || answer.response == nullptr) {
        unknown(step, batch, batch.threats,
                answer.error.empty() ? std::string("the outcome of the call is unknown") : answer.error);
        return step;
    }
    const s1::action_response& response = *answer.response;
    // A 2xx that carries errors says nothing certain about what was applied.
    if (!response.errors.empty()) {
        unknown(step, batch, batch.threats, errors_text(response.errors));
        return step;
    }
    std::vector<std::string> unlisted;
    for (const auto& threat : batch.threats) {
        const s1::action_detail* entry = detail_of(response, threat);
        if (entry == nullptr)
            unlisted.push_back(threat);
        else if (!entry->skipped.empty())
            step.skipped[skipped_reason(*entry)].push_back(threat);  // the platform's final word
        else if (refused_result(entry->result))
            step.failed[entry->result].push_back(threat);
        else
            step.done.push_back(threat);
    }
    if (unlisted.empty()) return step;
    // No per-threat word for these: `affected` must account for every id that was posted.
    const bool covered = response.affected > 0 && static_cast<std::size_t>(response.affected) >= batch.targets;
    if (covered) {
        step.done.insert(step.done.end(), unlisted.begin(), unlisted.end());
    } else {
        unknown(step, batch, unlisted,
                "the console affected " + std::to_string(response.affected) + " of " + std::to_string(batch.targets) +
                    " targets");
    }
    return step;
}

batch_step decide(const batch_facts& batch, const threats_read& read) {
    batch_step step;
    if (!read.ok) {
        step.pending = batch.threats;
        step.why = "reading the threats failed: " + read.error;
        return step;
    }
    step.done = read.split.done;
    step.pending = read.split.unknown;
    if (batch.can_resend && batch.attempts < batch.max_attempts)
        step.resend = read.split.resend;
    else
        step.give_up = read.split.resend;
    return step;
}

}  // namespace s1pilot::engine
