#pragma once
// The playbook's action vocabulary (config) in the API client's terms (s1). Two enum sets on
// purpose: config validates what a person writes, s1 is what goes on the wire.

#include "s1pilot/config/playbook.hpp"
#include "s1pilot/s1/vocabulary.hpp"

namespace s1pilot::engine::detail {

inline s1::mitigation_action to_s1(config::mitigation m) {
    switch (m) {
        case config::mitigation::kill: return s1::mitigation_action::kill;
        case config::mitigation::quarantine: return s1::mitigation_action::quarantine;
        case config::mitigation::remediate: return s1::mitigation_action::remediate;
        case config::mitigation::rollback_remediation: return s1::mitigation_action::rollback_remediation;
        case config::mitigation::un_quarantine: return s1::mitigation_action::un_quarantine;
        case config::mitigation::network_quarantine: return s1::mitigation_action::network_quarantine;
    }
    return s1::mitigation_action::kill;
}

inline s1::incident_status to_s1(config::incident_status s) {
    switch (s) {
        case config::incident_status::unresolved: return s1::incident_status::unresolved;
        case config::incident_status::in_progress: return s1::incident_status::in_progress;
        case config::incident_status::resolved: return s1::incident_status::resolved;
    }
    return s1::incident_status::unresolved;
}

inline s1::analyst_verdict to_s1(config::analyst_verdict v) {
    switch (v) {
        case config::analyst_verdict::undefined: return s1::analyst_verdict::undefined;
        case config::analyst_verdict::true_positive: return s1::analyst_verdict::true_positive;
        case config::analyst_verdict::false_positive: return s1::analyst_verdict::false_positive;
        case config::analyst_verdict::suspicious: return s1::analyst_verdict::suspicious;
    }
    return s1::analyst_verdict::undefined;
}

}  // namespace s1pilot::engine::detail
