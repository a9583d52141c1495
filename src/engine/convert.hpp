#pragma once
// The playbook's action vocabulary (config) in the API client's terms (s1). Two enum sets on
// purpose: config validates what a person writes, s1 is what goes on the wire. Both follow the
// order of the console's words in filter/vocabulary.hpp, so one maps onto the other by position;
// the static_asserts keep the three in step.

#include "s1pilot/config/playbook.hpp"
#include "s1pilot/filter/vocabulary.hpp"
#include "s1pilot/s1/vocabulary.hpp"

namespace s1pilot::engine::detail {

static_assert(static_cast<int>(config::mitigation::network_quarantine) ==
                  static_cast<int>(s1::mitigation_action::network_quarantine) &&
              static_cast<int>(config::incident_status::resolved) == static_cast<int>(s1::incident_status::resolved) &&
              static_cast<int>(config::analyst_verdict::suspicious) ==
                  static_cast<int>(s1::analyst_verdict::suspicious));

inline s1::mitigation_action to_s1(config::mitigation m) {
    return static_cast<s1::mitigation_action>(m);
}
inline s1::incident_status to_s1(config::incident_status s) {
    return static_cast<s1::incident_status>(s);
}
inline s1::analyst_verdict to_s1(config::analyst_verdict v) {
    return static_cast<s1::analyst_verdict>(v);
}

}  // namespace s1pilot::engine::detail
