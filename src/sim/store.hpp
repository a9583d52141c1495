#pragma once
// The simulator's threat store: threats, the agents they were detected on, notes and the
// mitigation history, held compactly (interned strings, fixed-width ids and times) so that a
// million threats fit in a few hundred MiB. Not thread-safe: the simulator serialises access.

#include "s1pilot/core/time.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "string_pool.hpp"

namespace s1sim {

using micros = std::int64_t;  ///< microseconds since the Unix epoch (UTC)

inline micros to_micros(s1pilot::core::timestamp t) {
    return t.time_since_epoch().count();
}
inline s1pilot::core::timestamp from_micros(micros m) {
    return s1pilot::core::timestamp{std::chrono::microseconds{m}};
}

/// The API's text of a time, `2024-04-30T12:34:56.123456Z` (core::format_timestamp's), written
/// into `out` without allocating: a page of threats writes about ten thousand of them.
struct micros_text {
    char data[32];
    std::size_t size;
    std::string_view view() const noexcept { return {data, size}; }
};
micros_text format_micros(micros m) noexcept;

/// Where an agent runs in a cloud (agentDetectionInfo.cloudProviders.<provider>).
struct cloud_record {
    string_id provider, account, image, instance_id, instance_size, location, network, aws_role, gcp_service_account,
        azure_resource_group;
    std::uint32_t aws_security_groups, aws_subnet_ids;  // list_pool ids
};

/// containerInfo and kubernetesInfo of a threat on a container workload.
struct workload_record {
    string_id container_id, container_name, container_image, k8s_cluster, k8s_node, k8s_pod, k8s_namespace,
        k8s_controller, k8s_controller_kind;
    std::uint32_t container_labels, k8s_node_labels, k8s_namespace_labels, k8s_controller_labels,
        k8s_pod_labels;  // list_pool ids
};

/// An agent as the console knows it now (agentRealtimeInfo): shared by all its threats, so that
/// disconnecting it shows on every one of them.
struct agent_record {
    std::uint64_t agent_id = 0, account_id = 0, site_id = 0, group_id = 0;
    string_id uuid = 0, computer_name = 0, domain = 0, os_type = 0, os_name = 0, os_revision = 0, os_arch = 0,
              machine_type = 0, version = 0, account_name = 0, site_name = 0, group_name = 0, ip_v4 = 0,
              external_ip = 0, network_status = 0, last_user = 0;
    std::uint32_t tags = 0;   // list_pool id of "key=value" strings
    std::uint32_t cloud = 0;  // index into threat_store::clouds (0 = not in a cloud)
    bool is_active = true;
    /// s1sim holds the agent offline (--agents-offline, POST /_sim/agents/<id>/offline): it
    /// carries out nothing until it comes back. Kept apart from is_active because a dataset's
    /// inactive agents act as they always did unless --agents-offline takes them over.
    bool held_offline = false;
};

enum threat_flags : std::uint8_t {
    flag_mitigated_preemptively = 1,
    flag_pending_actions = 2,
    flag_failed_actions = 4,
    flag_reboot_required = 8,
    flag_file_less = 16,
};

/// One entry of a threat's mitigationStatus[] list, chained through `next`.
struct mitigation_record {
    micros at = 0;          ///< lastUpdate, and mitigationEndedAt once the entry is no longer pending
    micros started_at = 0;  ///< mitigationStartedAt: when the console accepted the action
    string_id action = 0, status = 0;
    std::uint32_t next = 0;  // index into threat_store::mitigations; 0 = end
};

struct threat_record {
    std::uint64_t id = 0, collection_id = 0;
    micros created_at = 0, updated_at = 0, identified_at = 0;
    std::uint32_t agent = 0;  // index into threat_store::agents
    string_id classification = 0, classification_source = 0, confidence_level = 0, mitigation_status = 0,
              incident_status = 0, analyst_verdict = 0, initiated_by = 0, detection_type = 0;
    std::uint32_t engines = 0;  // list_pool id of engine keys (titles come from engine_title)
    string_id threat_name = 0, file_path = 0, publisher_name = 0, process_user = 0, originator_process = 0,
              command_line = 0, storyline = 0, sha1 = 0, sha256 = 0, md5 = 0, initiating_username = 0,
              external_ticket_id = 0, detection_agent_version = 0, detection_agent_domain = 0;
    std::uint32_t workload = 0;          // index into threat_store::workloads (0 = none)
    std::uint32_t first_mitigation = 0;  // index into threat_store::mitigations (0 = none)
    std::uint32_t file_size = 0;
    std::uint8_t flags = 0;
    bool has_notes = false;
};

/// A threat that was loaded (--dataset, POST /_sim/threats) rather than generated: its JSON as
/// given, and the simulator's own rendering of it once loaded. GET /threats serves `original`
/// with only what changed in the rendering since `baseline` laid over it (threat_json.hpp), so
/// fields the store does not model come back unchanged.
struct loaded_threat {
    boost::json::object original;
    boost::json::object baseline;  ///< empty until set_loaded_baseline
};

struct note_record {
    std::uint64_t id;
    std::string text;
    micros created_at;
};

/// The console's display title of an engine key (`sentinelone_cloud` -> `SentinelOne Cloud`).
std::string_view engine_title(std::string_view key) noexcept;

class threat_store {
public:
    threat_store();

    string_pool strings;
    list_pool lists;
    std::vector<agent_record> agents{1};  // index 0 unused: "no agent"
    std::vector<cloud_record> clouds{1};  // index 0 unused
    std::vector<workload_record> workloads{1};
    std::vector<mitigation_record> mitigations{1};
    std::vector<threat_record> threats;  // in insertion order

    /// Adds a threat; a threat with an id already present replaces it. Returns its index.
    std::uint32_t add(const threat_record& t);
    /// The index of the threat with that id, if any.
    const std::uint32_t* find(std::uint64_t id) const;
    /// The index of the agent with that id, creating an empty one when unknown.
    std::uint32_t agent_index(std::uint64_t agent_id);
    const std::uint32_t* find_agent(std::uint64_t agent_id) const;

    /// Appends an entry to the threat's mitigationStatus[]; returns the entry's index.
    std::uint32_t append_mitigation(std::uint32_t threat, string_id action, string_id status, micros at,
                                    micros started_at);
    /// True when entry `entry` is in threat `threat`'s list (a reloaded threat drops its old ones).
    bool has_mitigation(std::uint32_t threat, std::uint32_t entry) const;
    void add_note(std::uint32_t threat, std::string text, micros at);
    const std::vector<note_record>* notes(std::uint32_t threat) const;

    /// Keeps the JSON a threat was loaded from (replacing what an earlier load of it kept).
    /// Generated threats keep none: a million of them pay nothing for this.
    void keep_loaded(std::uint32_t threat, boost::json::object original);
    void set_loaded_baseline(std::uint32_t threat, boost::json::object baseline);
    /// What threat `threat` was loaded from, or nullptr for a generated threat.
    const loaded_threat* loaded(std::uint32_t threat) const;

    /// The threats' indices ordered by (createdAt, id) or by id, ascending: a cursor page starts
    /// where its cursor points instead of sorting every match. Neither key changes after a
    /// threat is added, so an order is built on first use and again only after add().
    const std::vector<std::uint32_t>& by_created_at() const;
    const std::vector<std::uint32_t>& by_id() const;

    /// Ids for notes and other console objects created at run time; unique within the store.
    std::uint64_t next_object_id() { return ++object_id_; }

    /// A rough count of the bytes held, for the benchmark and `GET /_sim/stats`.
    std::size_t memory_bytes() const;

    // Frequently used interned values, resolved once.
    struct well_known {
        string_id mitigated, not_mitigated, marked_as_benign, unresolved, in_progress, resolved, windows,
            windows_legacy, macos, linux_, connected, disconnected, success, pending, failed, partial, connecting,
            disconnecting;
    } known{};

private:
    std::unordered_map<std::uint64_t, std::uint32_t> by_id_;
    std::unordered_map<std::uint64_t, std::uint32_t> agent_by_id_;
    std::unordered_map<std::uint32_t, std::vector<note_record>> notes_;
    std::unordered_map<std::uint32_t, loaded_threat> loaded_;
    mutable std::vector<std::uint32_t> by_created_at_, by_id_order_;  // empty: to be built
    std::size_t loaded_bytes_ = 0;  // a rough count of what loaded_ holds
    std::uint64_t object_id_ = 1700000000000000000ULL;
};

/// Decimal text of an id (the API writes every id as a string).
std::string id_text(std::uint64_t id);
/// Parses a decimal id as the API writes it; nullopt-like 0 plus false on anything else.
bool parse_id(std::string_view text, std::uint64_t& out) noexcept;

}  // namespace s1sim
