#pragma once
// Threats between the store and the API's JSON shape (reference/example-threat-page.json):
// written for GET /threats and the admin dump, read from --dataset files and POST /_sim/threats.

#include <boost/json/fwd.hpp>

#include <string>

#include "json_writer.hpp"
#include "store.hpp"

namespace s1sim {

/// Writes threat `index` as the API shows it: threatInfo (threatId == id), agentRealtimeInfo,
/// agentDetectionInfo with cloudProviders, containerInfo, kubernetesInfo, mitigationStatus[].
void write_threat(json_writer& out, const threat_store& store, std::uint32_t index);

/// Adds one threat object (GET /threats shape) to the store, replacing a threat with the same
/// id (its id is stored in `*id` when given). Fields the simulator does not model are dropped. Returns an empty string
/// on success, else what is wrong (e.g. `id is missing`).
std::string load_threat(threat_store& store, const boost::json::object& threat, s1pilot::core::timestamp now,
                        std::uint64_t* id = nullptr);

/// Adds agent tags (`{"<agentId>": ["key=value", ...]}`); unknown agents are created.
void load_agent_tags(threat_store& store, const boost::json::object& tags);

}  // namespace s1sim
