#pragma once
// Threats between the store and the API's JSON shape (reference/example-threat-page.json):
// written for GET /threats and the admin dump, read from --dataset files and POST /_sim/threats.

#include <boost/json/fwd.hpp>

#include <string>

#include "json_writer.hpp"
#include "store.hpp"

namespace s1sim {

/// Writes threat `index` as the API shows it. A generated threat is written from the store
/// (write_modelled_threat). A loaded one is written as it was loaded, with what changed in the
/// store's rendering since then laid over it (DESIGN §8: a loaded dataset round-trips): every
/// field of the loaded JSON, modelled or not, comes back unchanged apart from the effects of
/// actions; a field it lacked stays absent until an action sets it.
void write_threat(json_writer& out, const threat_store& store, std::uint32_t index);

/// The store's own rendering of threat `index`: threatInfo (threatId == id), agentRealtimeInfo,
/// agentDetectionInfo with cloudProviders, containerInfo, kubernetesInfo, mitigationStatus[].
void write_modelled_threat(json_writer& out, const threat_store& store, std::uint32_t index);

/// Adds one threat object (GET /threats shape) to the store, replacing a threat with the same
/// id (its id is stored in `*id` when given). The object is kept as given (write_threat).
/// Returns an empty string on success, else what is wrong (e.g. `id is missing`).
std::string load_threat(threat_store& store, const boost::json::object& threat, s1pilot::core::timestamp now,
                        std::uint64_t* id = nullptr);

/// Takes the store's current rendering of loaded threat `index` as what its JSON stands for:
/// later differences are effects of actions. load_threat does it for the threat it adds; a
/// batch of loads does it again for all its threats once the batch is in, because a later
/// threat of the batch may carry newer facts about a shared agent (agentRealtimeInfo), which
/// are not an action's effect.
void settle_loaded_threat(threat_store& store, std::uint32_t index);

/// The three-way merge write_threat uses: `original` with every change from `baseline` to
/// `current` applied. Objects merge member by member (a member that changed is merged, or added
/// when `original` lacks it; members gone from `current` are removed; unchanged ones stay as
/// `original` has them, present or not); an array that only grew keeps `original`'s elements,
/// merged, and gains the new ones; anything else that changed is `current`'s value.
boost::json::value overlay_changes(const boost::json::value& original, const boost::json::value& baseline,
                                   const boost::json::value& current);

/// Adds agent tags (`{"<agentId>": ["key=value", ...]}`); unknown agents are created.
void load_agent_tags(threat_store& store, const boost::json::object& tags);

}  // namespace s1sim
