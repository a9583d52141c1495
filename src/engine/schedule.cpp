// Splay and coalescing: the scheduler's pure parts.

#include "s1pilot/engine/schedule.hpp"

#include <algorithm>
#include <unordered_set>

namespace s1pilot::engine {

std::chrono::milliseconds first_delay(std::chrono::milliseconds every, std::chrono::milliseconds max_splay,
                                      double unit_random) {
    const auto span = std::max(std::min(every, max_splay), std::chrono::milliseconds(0));
    const double r = std::clamp(unit_random, 0.0, 1.0);
    const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(span.count()) * r));
    return delay >= span && span.count() > 0 ? span - std::chrono::milliseconds(1) : delay;
}

bool trigger_gate::arrive(const trigger& t) {
    if (!running_) {
        running_ = true;
        return true;
    }
    if (!next_) {
        next_ = t;
        return false;
    }
    if (!next_->threat_ids) return false;  // a whole run is already due: it covers this one
    if (!t.threat_ids) {
        next_ = t;
        return false;
    }
    std::unordered_set<std::string> seen(next_->threat_ids->begin(), next_->threat_ids->end());
    for (const auto& id : *t.threat_ids) {
        if (seen.insert(id).second) next_->threat_ids->push_back(id);
    }
    return false;
}

bool trigger_gate::try_enter() {
    if (running_) return false;
    running_ = true;
    return true;
}

std::optional<trigger> trigger_gate::finish() {
    if (!next_) {
        running_ = false;
        return std::nullopt;
    }
    auto out = std::move(next_);
    next_.reset();
    return out;
}

}  // namespace s1pilot::engine
