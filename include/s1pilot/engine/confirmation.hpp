#pragma once
// Confirmation as pure decisions (DESIGN.md §4): a 200 to a mitigation or an isolation means the
// console accepted it; the agent carries it out later, and not at all while it is offline. These
// functions judge one fresh read of a threat against what was accepted, and say when to read it
// again. No I/O: the engine's follow-up loop (confirm.cpp) reads and records what they decide.

#include "s1pilot/engine/effects.hpp"
#include "s1pilot/state/ledger.hpp"

#include <chrono>
#include <string>

namespace s1pilot::engine {

/// Mitigations and isolations are followed until the agent carries them out; incidents,
/// verdicts and notes are confirmed by their answer.
bool needs_confirmation(const effect& e) noexcept;

/// What one read says of one accepted action.
struct confirmation_check {
    state::confirmation_state state = state::confirmation_state::sent;  ///< sent: still waiting
    std::string last_status;  ///< `pending`, `success`, `failed`, `disconnecting`, `not returned`, ...
    bool agent_offline = false;
};

/// Judges a fresh read (`threat` null: the console did not return it) at `now`: a mitigation is
/// confirmed by its mitigationStatus[] entry beyond `baseline` turning `success`, confirmed
/// failed by `failed`/`partial`; an isolation by the agent `disconnected`. Still waiting at or
/// past `confirm_by` is unconfirmed.
confirmation_check judge_confirmation(const effect& e, const s1::threat_record* threat,
                                      const mitigation_baseline* baseline, core::timestamp now,
                                      core::timestamp confirm_by);

/// The follow-up's backoff: the first read 2 s after the answer, then doubling up to 60 s, and
/// the last one at confirm_by, so that a late confirmation is still seen.
core::timestamp next_confirmation_check(int checks_done, core::timestamp now, core::timestamp confirm_by);

}  // namespace s1pilot::engine
