// Leadership's decisions (leadership.hpp): plain functions of their inputs.

#include "s1pilot/engine/leadership.hpp"

namespace s1pilot::engine {

std::int64_t cluster_lock_key(std::string_view cluster) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits
    auto mix = [&hash](std::string_view text) {
        for (const unsigned char c : text) {
            hash ^= c;
            hash *= 0x100000001b3ull;
        }
    };
    mix("s1pilot:");
    mix(cluster);
    return static_cast<std::int64_t>(hash);
}

std::string_view to_string(lease_role role) noexcept {
    switch (role) {
        case lease_role::active: return "active";
        case lease_role::standby: return "standby";
        case lease_role::taking_over: return "taking over";
    }
    return "standby";
}

lease_step next_lease_step(const lease_state& state, bool lost_term_busy) noexcept {
    if (!state.connected) return lease_step::reconnect;
    if (state.holding) return lease_step::check;
    return lost_term_busy ? lease_step::wait : lease_step::try_lock;
}

std::pair<lease_state, lease_change> after_lease_outcome(const lease_state& state, lease_outcome outcome) noexcept {
    lease_state next = state;
    switch (outcome) {
        case lease_outcome::lock_taken:
            next.holding = true;
            next.connected = true;
            return {next, state.holding ? lease_change::none : lease_change::took_lock};
        case lease_outcome::lock_busy:
            next.holding = false;
            return {next, state.holding ? lease_change::lost_lock : lease_change::none};
        case lease_outcome::session_ok: return {next, lease_change::none};
        case lease_outcome::session_lost:
            next.holding = false;
            next.connected = false;
            return {next, state.holding ? lease_change::lost_lock : lease_change::none};
        case lease_outcome::reconnected:
            // A new session holds nothing, whatever the old one did.
            next.holding = false;
            next.connected = true;
            return {next, state.holding ? lease_change::lost_lock : lease_change::none};
        case lease_outcome::reconnect_failed:
            next.holding = false;
            next.connected = false;
            return {next, state.holding ? lease_change::lost_lock : lease_change::none};
    }
    return {next, lease_change::none};
}

std::chrono::milliseconds lease_wait(lease_step step, std::chrono::milliseconds check_every,
                                     std::chrono::milliseconds retry) noexcept {
    return step == lease_step::check ? check_every : retry;
}

pending_split split_pending(std::vector<state::ledger_entry> entries,
                            const std::function<bool(std::string_view run_id)>& own, core::timestamp now,
                            std::chrono::milliseconds wait) {
    pending_split out;
    for (auto& e : entries) {
        if (own && own(e.row.run_id)) {
            out.own.push_back(std::move(e));
            continue;
        }
        const auto due = e.updated_at + std::chrono::duration_cast<std::chrono::microseconds>(wait);
        if (now >= due) {
            out.due.push_back(std::move(e));
            continue;
        }
        if (!out.next_due || due < *out.next_due) out.next_due = due;
        out.not_yet.push_back(std::move(e));
    }
    return out;
}

}  // namespace s1pilot::engine
