#include "agent_tasks.hpp"

#include <algorithm>

#include "rng.hpp"

namespace s1sim {
namespace {

// pendingActions and failedActions as the console derives them from the entries. `partial` is a
// failure for the analyst too (DESIGN §4: confirmed failed).
void refresh_action_flags(threat_store& store, std::uint32_t threat) {
    bool pending = false, failed = false;
    for (std::uint32_t i = store.threats[threat].first_mitigation; i != 0; i = store.mitigations[i].next) {
        const string_id status = store.mitigations[i].status;
        pending = pending || status == store.known.pending;
        failed = failed || status == store.known.failed || status == store.known.partial;
    }
    auto& flags = store.threats[threat].flags;
    flags = static_cast<std::uint8_t>((flags & ~(flag_pending_actions | flag_failed_actions)) |
                                      (pending ? flag_pending_actions : 0) | (failed ? flag_failed_actions : 0));
}

// What a settled mitigation changes besides its entry.
void apply_effect(threat_store& store, std::uint32_t threat, mitigation_effect effect, bool failed) {
    threat_record& t = store.threats[threat];
    if (effect == mitigation_effect::mitigates && !failed) t.mitigation_status = store.known.mitigated;
    if (effect != mitigation_effect::isolates) return;
    string_id& network = store.agents[t.agent].network_status;
    if (!failed)
        network = store.known.disconnected;
    else if (network == store.known.disconnecting)
        network = store.known.connected;  // a failed isolation leaves the agent on the network it never left
}

// The same agents are offline on every run with the same seed, whatever order they were loaded in.
bool drawn_offline(std::uint64_t seed, std::uint64_t agent_id, double fraction) {
    return rng(seed ^ (agent_id * 0x9e3779b97f4a7c15ULL)).unit() < fraction;
}

}  // namespace

void agent_tasks::hold_agents(threat_store& store, std::uint32_t first_new_agent, bool generated) const {
    for (std::uint32_t a = 1; a < store.agents.size(); ++a) {
        agent_record& agent = store.agents[a];
        if (a >= first_new_agent && settings_.offline_fraction > 0) {
            if (drawn_offline(settings_.seed, agent.agent_id, settings_.offline_fraction))
                agent.held_offline = true;
            else if (generated)
                agent.is_active = true;
            else if (!agent.is_active)
                agent.held_offline = true;  // a recorded inactive agent is offline too
        }
        if (agent.held_offline) agent.is_active = false;
    }
}

std::uint32_t agent_tasks::agent_of(const threat_store& store, const task& t) const {
    return t.kind == task_kind::mitigation ? store.threats[t.threat].agent : t.agent;
}

micros agent_tasks::due_from(const threat_store& store, std::uint32_t agent, micros now) const {
    if (store.agents[agent].held_offline) return waiting;
    return now + std::chrono::duration_cast<std::chrono::microseconds>(settings_.delay).count();
}

void agent_tasks::issue_mitigation(threat_store& store, std::uint32_t threat, string_id action,
                                   mitigation_effect effect, bool ends_failed, micros now) {
    threat_record& t = store.threats[threat];
    t.updated_at = now;
    const micros due = due_from(store, t.agent, now);
    if (due <= now) {
        // Delay 0 on an online agent: done as the console accepts it, exactly as before agents
        // were modelled. A success leaves the flags alone (a generated threat's are its own).
        const string_id status = ends_failed ? store.known.failed : store.known.success;
        store.append_mitigation(threat, action, status, now, now);
        apply_effect(store, threat, effect, ends_failed);
        if (ends_failed) refresh_action_flags(store, threat);
        return;
    }
    task pending;
    pending.due = due;
    pending.kind = task_kind::mitigation;
    pending.effect = effect;
    pending.ends_failed = ends_failed;
    pending.threat = threat;
    pending.entry = store.append_mitigation(threat, action, store.known.pending, now, now);
    if (effect == mitigation_effect::isolates) store.agents[t.agent].network_status = store.known.disconnecting;
    refresh_action_flags(store, threat);
    schedule(pending);
}

void agent_tasks::issue_network(threat_store& store, std::uint32_t agent, bool connect, micros now) {
    std::erase_if(tasks_, [&](const task& t) { return t.kind != task_kind::mitigation && t.agent == agent; });
    recompute_next_due();
    agent_record& record = store.agents[agent];
    const micros due = due_from(store, agent, now);
    if (due <= now) {
        record.network_status = connect ? store.known.connected : store.known.disconnected;
        return;
    }
    record.network_status = connect ? store.known.connecting : store.known.disconnecting;
    task pending;
    pending.due = due;
    pending.kind = connect ? task_kind::connect : task_kind::disconnect;
    pending.agent = agent;
    schedule(pending);
}

bool agent_tasks::settle(threat_store& store, micros now) {
    if (next_due_ > now) return false;  // the common case: nothing came due since the last request
    std::vector<task> due;
    std::erase_if(tasks_, [&](const task& t) {
        if (t.due > now) return false;
        due.push_back(t);
        return true;
    });
    std::sort(due.begin(), due.end(),
              [](const task& a, const task& b) { return a.due != b.due ? a.due < b.due : a.order < b.order; });
    for (task& t : due) {
        if (store.agents[agent_of(store, t)].held_offline) {
            t.due = waiting;  // taken offline before it was done: waits for the agent
            tasks_.push_back(t);
        } else {
            finish(store, t);
        }
    }
    recompute_next_due();
    return !due.empty();
}

void agent_tasks::finish(threat_store& store, const task& t) {
    if (t.kind != task_kind::mitigation) {
        store.agents[t.agent].network_status =
            t.kind == task_kind::connect ? store.known.connected : store.known.disconnected;
        return;
    }
    // A threat reloaded since (POST /_sim/threats) has a new history without this entry.
    if (!store.has_mitigation(t.threat, t.entry)) return;
    mitigation_record& entry = store.mitigations[t.entry];
    entry.status = t.ends_failed ? store.known.failed : store.known.success;
    entry.at = t.due;
    apply_effect(store, t.threat, t.effect, t.ends_failed);
    threat_record& threat = store.threats[t.threat];
    threat.updated_at = std::max(threat.updated_at, t.due);  // updatedAt polling sees the outcome
    refresh_action_flags(store, t.threat);
}

void agent_tasks::set_online(threat_store& store, std::uint32_t agent, bool online, micros now) {
    agent_record& record = store.agents[agent];
    record.held_offline = !online;
    record.is_active = online;
    for (task& t : tasks_) {
        if (agent_of(store, t) != agent) continue;
        // Back online, the agent takes the normal delay from now; offline, nothing is due.
        if (!online)
            t.due = waiting;
        else if (t.due == waiting)
            t.due = due_from(store, agent, now);
    }
    recompute_next_due();
    settle(store, now);  // its caller (POST /_sim/agents/...) counts as a change to the store anyway
}

void agent_tasks::clear() noexcept {
    tasks_.clear();
    next_due_ = waiting;
}

void agent_tasks::schedule(task t) {
    t.order = next_order_++;
    next_due_ = std::min(next_due_, t.due);
    tasks_.push_back(t);
}

void agent_tasks::recompute_next_due() noexcept {
    next_due_ = waiting;
    for (const task& t : tasks_) next_due_ = std::min(next_due_, t.due);
}

}  // namespace s1sim
