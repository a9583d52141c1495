// Confirmation decisions: is an accepted mitigation or isolation carried out yet?

#include "s1pilot/engine/confirmation.hpp"

#include <algorithm>

namespace s1pilot::engine {

using state::confirmation_state;

bool needs_confirmation(const effect& e) noexcept {
    return e.what == effect::kind::mitigation || e.what == effect::kind::isolate;
}

namespace {

confirmation_check judge_read(const effect& e, const s1::threat_record& threat, const mitigation_baseline* baseline) {
    confirmation_check out;
    out.agent_offline = threat.agent_active == false;
    if (e.what == effect::kind::isolate) {
        out.last_status = threat.network ? std::string(s1::to_string(*threat.network)) : "unknown";
        if (threat.network == s1::network_status::disconnected) out.state = confirmation_state::confirmed;
        return out;
    }
    // The latest entry beyond the baseline is this request's (an older one, since undone, must
    // not pass for it).
    const auto entries = entries_since(e.mitigation, threat, baseline);
    const auto* entry = entries.empty() ? nullptr : entries.back();
    if (entry == nullptr) {
        out.last_status = "no entry yet";
        return out;
    }
    out.last_status = entry->status ? std::string(s1::to_string(*entry->status)) : "unknown";
    if (entry->status == s1::mitigation_result::success) out.state = confirmation_state::confirmed;
    if (entry->status == s1::mitigation_result::failed || entry->status == s1::mitigation_result::partial)
        out.state = confirmation_state::confirmed_failed;
    return out;
}

}  // namespace

confirmation_check judge_confirmation(const effect& e, const s1::threat_record* threat,
                                      const mitigation_baseline* baseline, core::timestamp now,
                                      core::timestamp confirm_by) {
    confirmation_check out;
    if (threat == nullptr)
        out.last_status = "not returned by the console";
    else
        out = judge_read(e, *threat, baseline);
    if (out.state == confirmation_state::sent && now >= confirm_by) out.state = confirmation_state::unconfirmed;
    return out;
}

core::timestamp next_confirmation_check(int checks_done, core::timestamp now, core::timestamp confirm_by) {
    using namespace std::chrono_literals;
    const auto step = std::min<std::chrono::microseconds>(60s, 2s * (1LL << std::min(checks_done, 5)));
    return std::min(now + step, confirm_by);
}

}  // namespace s1pilot::engine
