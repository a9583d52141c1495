#pragma once
// A threat as the later steps of a run need it (ledger, limit, act, reconcile), and one page of
// GET /threats. Compact on purpose: a resolve may hold hundreds of thousands of them
// (PERFORMANCE.md B6), so ids are numbers and statuses are one-byte enums.

#include "s1pilot/core/time.hpp"
#include "s1pilot/s1/vocabulary.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::s1 {

/// A SentinelOne object id (threat, agent, account, site, group): a decimal number of up to
/// 19 digits on the wire. 0 means absent.
using object_id = std::uint64_t;

/// Digits only, no sign or leading zero, fits 64 bits; anything else gives nullopt.
std::optional<object_id> parse_object_id(std::string_view text) noexcept;
/// The decimal form, as the API writes it.
std::string to_string_id(object_id id);

struct mitigation_entry {
    std::optional<mitigation_action> action;  ///< nullopt: a name this version does not know
    std::optional<mitigation_result> status;
    std::optional<core::timestamp> last_update;  ///< `lastUpdate`, in the console's clock
    bool operator==(const mitigation_entry&) const = default;
};

struct threat_record {
    object_id id = 0;
    object_id agent_id = 0;  ///< agentRealtimeInfo.*
    object_id account_id = 0;
    object_id site_id = 0;
    object_id group_id = 0;
    std::optional<core::timestamp> created_at;  ///< threatInfo.*
    std::optional<core::timestamp> updated_at;
    std::optional<mitigation_state> mitigation;  ///< threatInfo.mitigationStatus
    std::optional<incident_status> incident;     ///< threatInfo.incidentStatus
    std::optional<analyst_verdict> verdict;      ///< threatInfo.analystVerdict
    std::optional<network_status> network;       ///< agentRealtimeInfo.agentNetworkStatus
    std::optional<bool> agent_active;            ///< agentRealtimeInfo.agentIsActive: false while the agent is offline
    std::optional<os_type> os;                   ///< agentRealtimeInfo.agentOsType
    std::vector<mitigation_entry> mitigations;   ///< mitigationStatus[], in the API's order
    // Free text for note placeholders ({{threat_name}}, ...). Short values stay in the string's
    // own storage; a run keeps them only when a note needs them.
    std::string threat_name;     ///< threatInfo.threatName
    std::string classification;  ///< threatInfo.classification
    std::string computer_name;   ///< agentRealtimeInfo.agentComputerName

    /// True when mitigationStatus[] has an entry for `action` with status success.
    bool has_mitigation(mitigation_action action) const noexcept;
    bool operator==(const threat_record&) const = default;
};

struct threat_page {
    std::vector<threat_record> threats;
    std::optional<std::string> next_cursor;  ///< nullopt on the last page
    std::int64_t total_items = 0;            ///< pagination.totalItems; meaningful for countOnly only
};

}  // namespace s1pilot::s1
