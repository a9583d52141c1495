#pragma once
// The console's words for threat states and the actions that change them, spelt once (reference
// §3–§4). The filter table's enumerations, the API client's enums, the playbook format and the
// simulator all take their words from here, so a word cannot drift between them. Each list is in
// the order of the enums that index it (s1::incident_status, s1::analyst_verdict, ...).

#include <array>
#include <string_view>

namespace s1pilot::filter::vocabulary {

/// `incidentStatus` (filter key incidentStatuses; POST /threats/incident).
inline constexpr std::array<std::string_view, 3> incident_statuses{"unresolved", "in_progress", "resolved"};
/// `analystVerdict` (filter key analystVerdicts; POST /threats/analyst-verdict and /incident).
inline constexpr std::array<std::string_view, 4> analyst_verdicts{"undefined", "true_positive", "false_positive",
                                                                  "suspicious"};
/// `mitigationStatus` of a threat (filter key mitigationStatuses).
inline constexpr std::array<std::string_view, 3> mitigation_states{"not_mitigated", "mitigated", "marked_as_benign"};
/// The mitigation endpoints, `POST /threats/mitigate/<action>`: also the playbook's words.
inline constexpr std::array<std::string_view, 6> mitigation_endpoints{
    "kill", "quarantine", "remediate", "rollback-remediation", "un-quarantine", "network-quarantine"};

}  // namespace s1pilot::filter::vocabulary
