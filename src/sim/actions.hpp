#pragma once
// The action endpoints of reference §3 and their effects on the stored threats.

#include "s1pilot/filter/filter.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent_tasks.hpp"
#include "faults.hpp"
#include "rng.hpp"
#include "store.hpp"

namespace s1sim {

/// How much a mitigation's answer says (`s1sim --answers`). `detailed`: `affected` and a
/// `details[]` entry per threat (reports, skipped with a reason). `minimal`: `{"data":{"affected":N}}`
/// alone, as the console's recorded answer in seed 000. Incident and verdict answers carry
/// their `details[]` in both styles (seed 002 lists them); notes, external ticket ids and agent
/// actions answer `affected` alone in both.
enum class answer_style : std::uint8_t { detailed, minimal };

/// `detailed` | `minimal`, as the command line and GET /_sim/answers write them.
std::string_view to_string(answer_style style) noexcept;
/// Parses `detailed` | `minimal`.
std::optional<answer_style> parse_answer_style(std::string_view text) noexcept;

struct action_result {
    unsigned status = 200;
    std::string body;          ///< when 200: the response JSON
    std::string error_detail;  ///< when 400: what is wrong, naming the field
};

/// What an action needs besides the store and the request: the time, how to answer, and the
/// agents that carry mitigations and isolations out (with the faults that make some fail).
struct action_context {
    micros now = 0;
    answer_style answers = answer_style::detailed;
    agent_tasks& agents;
    const fault_config& faults;  ///< mitigation_failed
    rng& fault_rng;
};

/// `endpoint` is the path after `/threats/`: `mitigate/<action>`, `incident`, `analyst-verdict`,
/// `notes`, `external-ticket-id`. Threats are selected by `filter` (its `limit` caps them, in
/// store order) and changed as the console would: affected counts only threats actually changed
/// and permitted (a mitigation counts when the console accepted it, before the agent did it).
/// Returns 404 for an unknown endpoint, 400 for invalid `data`.
action_result run_threat_action(threat_store& store, std::string_view endpoint,
                                const s1pilot::filter::threat_filter& filter, const boost::json::object& data,
                                action_context& context);

/// `/agents/actions/connect|disconnect`: the filter selects agents (`ids` are agent ids); each
/// selected agent goes connecting/disconnecting and then connected/disconnected as its agent
/// carries the command out (agent_tasks). `affected` is the number of agents the command was
/// issued to.
action_result run_agent_action(threat_store& store, bool connect, const s1pilot::filter::threat_filter& filter,
                               action_context& context);

/// True for the `/threats/...` action endpoints run_threat_action knows (for 404 vs 405).
bool is_threat_action(std::string_view endpoint) noexcept;

}  // namespace s1sim
