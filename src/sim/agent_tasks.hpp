#pragma once
// Agents carry actions out after the console accepted them (DESIGN §8): a mitigation's
// mitigationStatus[] entry is `pending` until its agent has done it, an isolation leaves the agent
// `disconnecting` until then, and an offline agent does nothing until it comes back.
//
// Nothing runs on a timer. Every request first settles what has come due on the simulator's
// clock (settle()), so a read, a filter and an action all see one state, and a test moves time
// with a manual clock instead of sleeping. Not thread-safe: the simulator serialises access.

#include <chrono>
#include <cstdint>
#include <vector>

#include "store.hpp"

namespace s1sim {

struct agent_settings {
    /// From the console accepting an action (or the agent coming back online) to the agent
    /// having done it. 0: at once, as s1sim always did.
    std::chrono::milliseconds delay{0};
    /// The fraction of agents held offline (0..1), drawn per agent id from `seed`.
    double offline_fraction = 0;
    std::uint64_t seed = 1;
};

/// What a mitigation changes besides its entry once it succeeds.
enum class mitigation_effect : std::uint8_t {
    none,       ///< un-quarantine, rollback-remediation
    mitigates,  ///< kill, quarantine, remediate: threatInfo.mitigationStatus becomes `mitigated`
    isolates,   ///< network-quarantine: the agent ends `disconnected`
};

class agent_tasks {
public:
    explicit agent_tasks(agent_settings settings) : settings_(settings) {}

    const agent_settings& settings() const noexcept { return settings_; }

    /// Holds agents offline after the store was built or threats were loaded. With an offline
    /// fraction, every agent from `first_new_agent` on is drawn: drawn ones are held (and
    /// inactive); of the others, generated agents become active (so `agentIsActive: false` means
    /// offline, exactly the fraction asked for) and loaded ones that the file shows inactive are
    /// held too. Agents already held stay inactive whatever a later load says of them.
    void hold_agents(threat_store& store, std::uint32_t first_new_agent, bool generated) const;

    /// The console accepted a mitigation of threat `threat`: appends its entry, `pending` until
    /// the agent is done, or settled at once when the delay is 0 and the agent is online.
    void issue_mitigation(threat_store& store, std::uint32_t threat, string_id action, mitigation_effect effect,
                          bool ends_failed, micros now);
    /// The console accepted an isolation (`connect` false) or its release. A later command to the
    /// same agent replaces one it has not carried out yet.
    void issue_network(threat_store& store, std::uint32_t agent, bool connect, micros now);

    /// Carries out, in the order they came due, every task due at or before `now`; each takes
    /// effect at its due time (lastUpdate, mitigationEndedAt, updatedAt). True when a task came
    /// due (the store may have changed), false when nothing did.
    bool settle(threat_store& store, micros now);

    /// Brings an agent back online (its waiting tasks are due one delay from `now`) or takes it
    /// offline (its tasks wait for it).
    void set_online(threat_store& store, std::uint32_t agent, bool online, micros now);

    /// Forgets every task (the store they refer to is being replaced).
    void clear() noexcept;
    /// Tasks not carried out yet.
    std::size_t pending() const noexcept { return tasks_.size(); }

private:
    static constexpr micros waiting = INT64_MAX;  // due: when the agent comes back

    enum class task_kind : std::uint8_t { mitigation, connect, disconnect };
    struct task {
        micros due = waiting;
        std::uint64_t order = 0;  // issue order: tasks due at the same time settle in it
        task_kind kind = task_kind::mitigation;
        mitigation_effect effect = mitigation_effect::none;
        bool ends_failed = false;
        std::uint32_t agent = 0;   // network tasks
        std::uint32_t threat = 0;  // mitigation tasks
        std::uint32_t entry = 0;   // mitigation tasks: index into threat_store::mitigations
    };

    std::uint32_t agent_of(const threat_store& store, const task& t) const;
    micros due_from(const threat_store& store, std::uint32_t agent, micros now) const;
    void finish(threat_store& store, const task& t);
    void schedule(task t);
    void recompute_next_due() noexcept;

    agent_settings settings_;
    std::vector<task> tasks_;
    micros next_due_ = waiting;
    std::uint64_t next_order_ = 0;
};

}  // namespace s1sim
