#pragma once
// The one table of SentinelOne threat filter keys: every key of both seed documents (Mitigate
// Threats, Update Threat Incident), its value type, its allowed values and the threat attribute
// it selects. Validation, query/JSON serialisation, evaluation (s1sim), the playbook JSON Schema
// and the docs are all driven from this table.

#include <cstdint>
#include <span>
#include <string_view>

namespace s1pilot::filter {

/// The type of a key's value, as the API takes it in a JSON filter body.
enum class value_type : std::uint8_t {
    string_list,  ///< array of strings; comma-separated in a query string
    string,       ///< one string
    boolean,      ///< true | false
    time,         ///< a UTC time; in playbooks also a negative duration (`-24h`) meaning now minus
    number,       ///< a non-negative integer (`limit`)
};

/// How a key selects threats.
enum class match_kind : std::uint8_t {
    in_list,      ///< the attribute (any of its values) is one of the given values
    not_in_list,  ///< `...Nin`: no value of the attribute is one of the given values
    contains,     ///< `__contains`: a value contains any given string, case-insensitively
    time_gt,      ///< `__gt`
    time_gte,     ///< `__gte`
    time_lt,      ///< `__lt`
    time_lte,     ///< `__lte`
    flag,         ///< a boolean attribute equals the given boolean
    resolved,     ///< `resolved`: (incidentStatus == resolved) equals the given boolean
    has_any,      ///< `noteExists`, `hasAgentTags`: (attribute has a value) equals the boolean
    agent_tags,   ///< `agentTagsData`: JSON object, tag key -> values (`<key>Nin` excludes)
    full_text,    ///< `query`: case-insensitive substring over the query attributes
    equals,       ///< `displayName`: the attribute equals the string
    limit,        ///< `limit`: at most this many threats (applied by the caller)
    no_effect,    ///< `countsFor`: reporting only
    tenant,       ///< `tenant`: a tenant-wide scope request; selects nothing by itself
};

/// Threat attributes that keys select on. A `threat_view` (evaluate.hpp) yields each one's
/// values as strings; `attribute_path` names where it lives in the API's threat JSON.
enum class attribute : std::uint8_t {
    none,
    id,
    agent_id,
    account_id,
    site_id,
    group_id,
    collection_id,
    storyline,
    sha1,
    external_ticket_id,
    classification,
    classification_source,
    confidence_level,
    mitigation_status,
    incident_status,
    analyst_verdict,
    detection_engine_keys,
    initiated_by,
    os_type,
    os_name,
    os_arch,
    machine_type,
    agent_version,
    cloud_provider_names,
    created_at,
    updated_at,
    mitigated_preemptively,
    pending_actions,
    failed_actions,
    reboot_required,
    external_ticket_exists,
    agent_is_active,
    threat_name,
    file_path,
    publisher_name,
    command_line,
    originator_process,
    initiating_username,
    computer_name,
    agent_uuid,
    detection_agent_version,
    detection_agent_domain,
    cloud_account,
    cloud_image,
    cloud_instance_id,
    cloud_instance_size,
    cloud_location,
    cloud_network,
    aws_role,
    aws_security_groups,
    aws_subnet_ids,
    gcp_service_account,
    azure_resource_group,
    container_name,
    container_image,
    container_labels,
    k8s_cluster,
    k8s_node,
    k8s_node_labels,
    k8s_namespace,
    k8s_namespace_labels,
    k8s_controller,
    k8s_controller_labels,
    k8s_pod,
    k8s_pod_labels,
    notes,       ///< one value per note text (not part of the threat JSON; the store adds it)
    agent_tags,  ///< one `key=value` per agent tag
    count_,      ///< number of attributes; not an attribute
};

/// Which seed document lists a key.
enum seed_mask : std::uint8_t { seed_mitigate = 1, seed_incident = 2, seed_both = 3 };

struct key_spec {
    std::string_view name;  ///< wire name, e.g. `osTypesNin`
    value_type type;
    match_kind kind;
    attribute attr;                             ///< `none` for keys that select on no single attribute
    std::span<const std::string_view> allowed;  ///< empty: any value
    bool open_set;                              ///< `allowed` are the values seen so far; others only warn
    bool scope;                                 ///< one of ids, agentIds, accountIds, siteIds, groupIds
    std::uint8_t seeds;                         ///< seed_mask
    std::string_view description;
};

/// Every key, in a stable order (alphabetical by name).
std::span<const key_spec> keys() noexcept;

/// The key of that exact (case-sensitive) wire name, or nullptr.
const key_spec* find_key(std::string_view name) noexcept;

/// The known key nearest to `name` by edit distance (case-insensitive), or an empty view
/// when nothing is close enough to be a plausible misspelling.
std::string_view nearest_key(std::string_view name) noexcept;

/// Where an attribute lives in the API's threat JSON, e.g. `agentRealtimeInfo.agentId`,
/// `threatInfo.detectionEngines[].key`, `agentDetectionInfo.cloudProviders.*.cloudAccount`.
std::string_view attribute_path(attribute a) noexcept;

/// The attributes `query` searches (reference §4).
std::span<const attribute> full_text_attributes() noexcept;

/// The scope keys that an action's filter carries over from the match: agentIds, accountIds,
/// siteIds, groupIds (not `ids`, which the action replaces).
std::span<const std::string_view> carried_scope_keys() noexcept;

}  // namespace s1pilot::filter
