#pragma once
// The scheduler's decisions as pure code: when a polled playbook first runs, and how triggers
// that arrive while a run of the playbook is going are coalesced into one next run.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace s1pilot::engine {

/// The delay before a polled playbook's first run: a random splay in [0, min(every, max_splay))
/// so that playbooks loaded together do not all fire at once. `unit_random` is in [0, 1).
std::chrono::milliseconds first_delay(std::chrono::milliseconds every, std::chrono::milliseconds max_splay,
                                      double unit_random);

/// A trigger of one playbook: a whole run, or one restricted to some threats (a webhook event).
struct trigger {
    std::optional<std::vector<std::string>> threat_ids;  ///< nullopt: the whole match
    std::string source = "manual";                       ///< schedule | manual | webhook | once | ...
};

/// One run of a playbook at a time. A trigger arriving during a run is remembered, merged with
/// any other that arrived meanwhile (a whole run absorbs restricted ones; restricted ones unite
/// their ids), and started once the run ends.
class trigger_gate {
public:
    /// True: start a run now (the gate is now running). False: coalesced into the next run.
    bool arrive(const trigger& t);
    /// Takes the gate for work beside the runs (reconciling rows of the playbook that another
    /// instance left pending): true when idle (the gate is now running, until finish()), false
    /// when a run is going (nothing is queued: the caller comes back later).
    bool try_enter();
    /// The running run ended. Returns the merged trigger to run next (the gate stays running),
    /// or nullopt (the gate is idle).
    std::optional<trigger> finish();
    bool running() const noexcept { return running_; }

private:
    bool running_ = false;
    std::optional<trigger> next_;
};

}  // namespace s1pilot::engine
