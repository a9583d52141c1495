#include "s1pilot/filter/keys.hpp"

#include "s1pilot/filter/vocabulary.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace s1pilot::filter {
namespace {

// Allowed values (reference §5). Order is the order error messages list them in.
constexpr std::array<std::string_view, 10> classification_values{
    "Malware", "Ransomware", "Trojan", "Infostealer", "Manual", "PUA", "Exploit", "Hacktool", "Backdoor", "Worm"};
constexpr std::array<std::string_view, 4> classification_source_values{"Cloud", "Behavioral", "Static", "Engine"};
constexpr std::array<std::string_view, 3> confidence_level_values{"malicious", "suspicious", "n/a"};
constexpr auto mitigation_status_values = vocabulary::mitigation_states;
constexpr auto incident_status_values = vocabulary::incident_statuses;
constexpr auto analyst_verdict_values = vocabulary::analyst_verdicts;
constexpr std::array<std::string_view, 18> engine_values{"reputation",
                                                         "sentinelone_cloud",
                                                         "cloud_detection",
                                                         "user_blacklist",
                                                         "pre_execution",
                                                         "pre_execution_suspicious",
                                                         "executables",
                                                         "data_files",
                                                         "exploits",
                                                         "penetration",
                                                         "pup",
                                                         "lateral_movement",
                                                         "remote_shell",
                                                         "manual",
                                                         "application_control",
                                                         "threat_intelligence",
                                                         "watchtower_cloud_detection",
                                                         "driver_blocking"};
constexpr std::array<std::string_view, 11> initiated_by_values{"agent_policy",
                                                               "full_disk_scan",
                                                               "sentinelctl",
                                                               "dv_command",
                                                               "console_api",
                                                               "on_demand_scan",
                                                               "star_active",
                                                               "star_manual",
                                                               "cloud_detection",
                                                               "threat_intelligence",
                                                               "watchtower_cloud_detection"};
constexpr std::array<std::string_view, 4> os_type_values{"windows", "macos", "linux", "windows_legacy"};
constexpr std::array<std::string_view, 3> os_arch_values{"32 bit", "64 bit", "ARM64"};
constexpr std::array<std::string_view, 8> machine_type_values{
    "unknown", "desktop", "laptop", "server", "kubernetes node", "storage", "kubernetes pod", "ecs task"};

// Table builders: one per key family, so that each row reads as "name, attribute, description".
constexpr key_spec make(std::string_view name, value_type type, match_kind kind, attribute attr,
                        std::string_view description) {
    return key_spec{name, type, kind, attr, {}, false, false, seed_both, description};
}
constexpr key_spec list_key(std::string_view name, attribute attr, std::string_view description) {
    return make(name, value_type::string_list, match_kind::in_list, attr, description);
}
constexpr key_spec nin_key(std::string_view name, attribute attr, std::string_view description) {
    return make(name, value_type::string_list, match_kind::not_in_list, attr, description);
}
constexpr key_spec contains_key(std::string_view name, attribute attr, std::string_view description) {
    return make(name, value_type::string_list, match_kind::contains, attr, description);
}
constexpr key_spec time_key(std::string_view name, match_kind kind, attribute attr, std::string_view description) {
    return make(name, value_type::time, kind, attr, description);
}
constexpr key_spec flag_key(std::string_view name, attribute attr, std::string_view description) {
    return make(name, value_type::boolean, match_kind::flag, attr, description);
}
template <std::size_t N>
constexpr key_spec closed_values(key_spec k, const std::array<std::string_view, N>& values) {
    k.allowed = values;
    return k;
}
template <std::size_t N>
constexpr key_spec open_values(key_spec k, const std::array<std::string_view, N>& values) {
    k.allowed = values;
    k.open_set = true;
    return k;
}
constexpr key_spec scope(key_spec k) {
    k.scope = true;
    return k;
}
constexpr key_spec incident_seed_only(key_spec k) {
    k.seeds = seed_incident;
    return k;
}

using enum attribute;

// Every key of both seeds, sorted by name (byte order: find_key binary-searches). Descriptions
// follow seed 002's wording, which has one for every key.
constexpr std::array table{
    scope(list_key("accountIds", account_id, "List of account IDs to filter by")),
    scope(list_key("agentIds", agent_id, "List of agent IDs")),
    flag_key("agentIsActive", agent_is_active, "Include agents currently connected to the management console"),
    closed_values(list_key("agentMachineTypes", machine_type, "Include agent machine types"), machine_type_values),
    closed_values(nin_key("agentMachineTypesNin", machine_type, "Excluded agent machine types"), machine_type_values),
    incident_seed_only(make("agentTagsData", value_type::string, match_kind::agent_tags, attribute::agent_tags,
                            "Filter threats by the tags assigned to the related agent, given as JSON: each key is a "
                            "tag key, each value a list of tag values; a key with the Nin suffix excludes values")),
    list_key("agentVersions", agent_version, "Include agent versions"),
    nin_key("agentVersionsNin", agent_version, "Excluded agent versions"),
    closed_values(list_key("analystVerdicts", analyst_verdict, "Filter threats by a specific analyst verdict"),
                  analyst_verdict_values),
    closed_values(nin_key("analystVerdictsNin", analyst_verdict, "Exclude threats with specific analyst verdicts"),
                  analyst_verdict_values),
    contains_key("awsRole__contains", aws_role, "Free text filter by AWS role (supports multiple values)"),
    contains_key("awsSecurityGroups__contains", aws_security_groups,
                 "Free text filter by AWS security groups (supports multiple values)"),
    contains_key("awsSubnetIds__contains", aws_subnet_ids,
                 "Free text filter by AWS subnet IDs (supports multiple values)"),
    contains_key("azureResourceGroup__contains", azure_resource_group,
                 "Free text filter by Azure resource group (supports multiple values)"),
    closed_values(list_key("classificationSources", classification_source, "Classification sources list"),
                  classification_source_values),
    closed_values(nin_key("classificationSourcesNin", classification_source, "Classification sources list to exclude"),
                  classification_source_values),
    open_values(list_key("classifications", classification, "List of threat classifications to search"),
                classification_values),
    open_values(nin_key("classificationsNin", classification, "List of threat classifications not to search"),
                classification_values),
    contains_key("cloudAccount__contains", cloud_account,
                 "Free text filter by cloud account (supports multiple values)"),
    contains_key("cloudImage__contains", cloud_image, "Free text filter by cloud image (supports multiple values)"),
    contains_key("cloudInstanceId__contains", cloud_instance_id,
                 "Free text filter by cloud instance ID (supports multiple values)"),
    contains_key("cloudInstanceSize__contains", cloud_instance_size,
                 "Free text filter by cloud instance size (supports multiple values)"),
    contains_key("cloudLocation__contains", cloud_location,
                 "Free text filter by cloud location (supports multiple values)"),
    contains_key("cloudNetwork__contains", cloud_network,
                 "Free text filter by cloud network (supports multiple values)"),
    list_key("cloudProvider", cloud_provider_names, "Agents from which cloud provider"),
    nin_key("cloudProviderNin", cloud_provider_names, "Exclude agents from these cloud providers"),
    list_key("collectionIds", collection_id, "List of collection IDs to search"),
    contains_key("commandLineArguments__contains", command_line,
                 "Free text filter by threat command line arguments (supports multiple values)"),
    contains_key("computerName__contains", computer_name,
                 "Free text filter by computer name (supports multiple values)"),
    closed_values(list_key("confidenceLevels", confidence_level, "Filter threats by a specific confidence level"),
                  confidence_level_values),
    closed_values(nin_key("confidenceLevelsNin", confidence_level, "Exclude threats with specific confidence levels"),
                  confidence_level_values),
    contains_key("containerImageName__contains", container_image,
                 "Free text filter by the endpoint container image name (supports multiple values)"),
    contains_key("containerLabels__contains", container_labels,
                 "Free text filter by the endpoint container labels (supports multiple values)"),
    contains_key("containerName__contains", container_name,
                 "Free text filter by the endpoint container name (supports multiple values)"),
    contains_key("contentHash__contains", sha1, "Free text filter by file content hash (supports multiple values)"),
    list_key("contentHashes", sha1, "List of SHA-1 hashes to search for"),
    make("countsFor", value_type::string, match_kind::no_effect, none,
         "Comma-separated list of fields to be shown (reporting only; no effect on selection)"),
    time_key("createdAt__gt", match_kind::time_gt, created_at, "Created at greater than"),
    time_key("createdAt__gte", match_kind::time_gte, created_at, "Created at greater or equal than"),
    time_key("createdAt__lt", match_kind::time_lt, created_at, "Created at lesser than"),
    time_key("createdAt__lte", match_kind::time_lte, created_at, "Created at lesser or equal than"),
    contains_key("detectionAgentDomain__contains", detection_agent_domain,
                 "Free text filter by agent domain at detection time (supports multiple values)"),
    contains_key("detectionAgentVersion__contains", detection_agent_version,
                 "Free text filter by agent version at detection time (supports multiple values)"),
    closed_values(list_key("detectionEngines", detection_engine_keys, "Included engines"), engine_values),
    closed_values(nin_key("detectionEnginesNin", detection_engine_keys, "Excluded engines"), engine_values),
    make("displayName", value_type::string, match_kind::equals, threat_name, "Display name"),
    closed_values(list_key("engines", detection_engine_keys, "Included engines"), engine_values),
    closed_values(nin_key("enginesNin", detection_engine_keys, "Excluded engines"), engine_values),
    flag_key("externalTicketExists", external_ticket_exists, "The threat contains a ticket number"),
    contains_key("externalTicketId__contains", external_ticket_id,
                 "Free text filter by the threat external ticket ID (supports multiple values)"),
    list_key("externalTicketIds", external_ticket_id, "External ticket ID for the threat"),
    flag_key("failedActions", failed_actions, "At least one action failed on the threat"),
    contains_key("filePath__contains", file_path, "Free text filter by file path (supports multiple values)"),
    contains_key("gcpServiceAccount__contains", gcp_service_account,
                 "Free text filter by GCP service account (supports multiple values)"),
    scope(list_key("groupIds", group_id, "List of group IDs to filter by")),
    incident_seed_only(make("hasAgentTags", value_type::boolean, match_kind::has_any, attribute::agent_tags,
                            "Include only threats whose agent is assigned any tags if true, or none if false")),
    scope(list_key("ids", id, "List of threat IDs")),
    closed_values(list_key("incidentStatuses", incident_status, "Filter threats by a specific incident status"),
                  incident_status_values),
    closed_values(nin_key("incidentStatusesNin", incident_status, "Exclude threats with specific incident statuses"),
                  incident_status_values),
    closed_values(list_key("initiatedBy", initiated_by, "Only include threats from specific initiating sources"),
                  initiated_by_values),
    closed_values(nin_key("initiatedByNin", initiated_by, "Exclude threats with specific initiating sources"),
                  initiated_by_values),
    contains_key("initiatedByUsername__contains", initiating_username,
                 "Free text filter by the username that initiated that threat (supports multiple values)"),
    contains_key("k8sClusterName__contains", k8s_cluster,
                 "Free text filter by the endpoint Kubernetes cluster name (supports multiple values)"),
    contains_key("k8sControllerLabels__contains", k8s_controller_labels,
                 "Free text filter by the endpoint Kubernetes controller labels (supports multiple values)"),
    contains_key("k8sControllerName__contains", k8s_controller,
                 "Free text filter by the endpoint Kubernetes controller name (supports multiple values)"),
    contains_key("k8sNamespaceLabels__contains", k8s_namespace_labels,
                 "Free text filter by the endpoint Kubernetes namespace labels (supports multiple values)"),
    contains_key("k8sNamespaceName__contains", k8s_namespace,
                 "Free text filter by the endpoint Kubernetes namespace name (supports multiple values)"),
    contains_key("k8sNodeLabels__contains", k8s_node_labels,
                 "Free text filter by the endpoint Kubernetes node labels (supports multiple values)"),
    contains_key("k8sNodeName__contains", k8s_node,
                 "Free text filter by the endpoint Kubernetes node name (supports multiple values)"),
    contains_key("k8sPodLabels__contains", k8s_pod_labels,
                 "Free text filter by the endpoint Kubernetes pod labels (supports multiple values)"),
    contains_key("k8sPodName__contains", k8s_pod,
                 "Free text filter by the endpoint Kubernetes pod name (supports multiple values)"),
    make("limit", value_type::number, match_kind::limit, none, "Limit: at most this many threats are affected"),
    flag_key("mitigatedPreemptively", mitigated_preemptively,
             "If the threat was detected pre-execution (true) or post-execution (false)"),
    closed_values(list_key("mitigationStatuses", mitigation_status, "Filter threats by a specific status"),
                  mitigation_status_values),
    closed_values(nin_key("mitigationStatusesNin", mitigation_status, "Filter threats not by a specific status"),
                  mitigation_status_values),
    make("noteExists", value_type::boolean, match_kind::has_any, notes, "The threat contains at least one note"),
    contains_key("originatedProcess__contains", originator_process,
                 "Free text filter by the originated process name of the threat (supports multiple values)"),
    closed_values(list_key("osArchs", os_arch, "Included OS architectures"), os_arch_values),
    list_key("osNames", os_name, "OS names"),
    nin_key("osNamesNin", os_name, "OS names to exclude"),
    closed_values(list_key("osTypes", os_type, "Included OS types"), os_type_values),
    closed_values(nin_key("osTypesNin", os_type, "Excluded OS types"), os_type_values),
    flag_key("pendingActions", pending_actions, "At least one action is pending for the agent for the threat"),
    contains_key("publisherName__contains", publisher_name,
                 "Free text filter by threat's publisher name (supports multiple values)"),
    make("query", value_type::string, match_kind::full_text, none,
         "Full text search over threat details, content hash, computer name, file path, UUID, agent versions, "
         "detection agent domain, command line arguments, initiating username, storyline, originated process, "
         "Kubernetes and container fields, external ticket ID"),
    contains_key("realtimeAgentVersion__contains", agent_version,
                 "Free text filter by agent version at current time (supports multiple values)"),
    flag_key("rebootRequired", reboot_required,
             "A reboot is required on any endpoint for at least one action on the threat"),
    make("resolved", value_type::boolean, match_kind::resolved, incident_status,
         "Used for backward compatibility with API 2.0 (true: incident status is resolved)"),
    scope(list_key("siteIds", site_id, "List of site IDs to filter by")),
    contains_key("storyline__contains", storyline, "Free text filter by threat storyline (supports multiple values)"),
    list_key("storylines", storyline, "List of agent context (storyline) to search for"),
    make("tenant", value_type::boolean, match_kind::tenant, none, "Indicates a tenant scope request"),
    contains_key("threatDetails__contains", threat_name,
                 "Free text filter by threat details (supports multiple values)"),
    time_key("updatedAt__gt", match_kind::time_gt, updated_at, "Updated at greater than"),
    time_key("updatedAt__gte", match_kind::time_gte, updated_at, "Updated at greater or equal than"),
    time_key("updatedAt__lt", match_kind::time_lt, updated_at, "Updated at lesser than"),
    time_key("updatedAt__lte", match_kind::time_lte, updated_at, "Updated at lesser or equal than"),
    contains_key("uuid__contains", agent_uuid, "Free text filter by agent UUID (supports multiple values)"),
};

static_assert(std::is_sorted(table.begin(), table.end(),
                             [](const key_spec& a, const key_spec& b) { return a.name < b.name; }),
              "the key table must stay sorted by name: find_key binary-searches it");

// Path syntax: `.` separates object members; `name[]` is every element of the array `name`;
// `*` is every member value of an object; `*~` is every member name (JSONPath-Plus notation).
// Notes and agent tags are not in the threat object (they come from /threats/{id}/notes and the
// agent), so they have no path; the store passes them to the view separately.
constexpr std::array<std::string_view, static_cast<std::size_t>(attribute::count_)> paths{
    "",                                                         // none
    "id",                                                       // id
    "agentRealtimeInfo.agentId",                                // agent_id
    "agentRealtimeInfo.accountId",                              // account_id
    "agentRealtimeInfo.siteId",                                 // site_id
    "agentRealtimeInfo.groupId",                                // group_id
    "threatInfo.collectionId",                                  // collection_id
    "threatInfo.storyline",                                     // storyline
    "threatInfo.sha1",                                          // sha1
    "threatInfo.externalTicketId",                              // external_ticket_id
    "threatInfo.classification",                                // classification
    "threatInfo.classificationSource",                          // classification_source
    "threatInfo.confidenceLevel",                               // confidence_level
    "threatInfo.mitigationStatus",                              // mitigation_status
    "threatInfo.incidentStatus",                                // incident_status
    "threatInfo.analystVerdict",                                // analyst_verdict
    "threatInfo.detectionEngines[].key",                        // detection_engine_keys
    "threatInfo.initiatedBy",                                   // initiated_by
    "agentRealtimeInfo.agentOsType",                            // os_type
    "agentRealtimeInfo.agentOsName",                            // os_name
    "agentRealtimeInfo.agentOsArch",                            // os_arch
    "agentRealtimeInfo.agentMachineType",                       // machine_type
    "agentRealtimeInfo.agentVersion",                           // agent_version
    "agentDetectionInfo.cloudProviders.*~",                     // cloud_provider_names
    "threatInfo.createdAt",                                     // created_at
    "threatInfo.updatedAt",                                     // updated_at
    "threatInfo.mitigatedPreemptively",                         // mitigated_preemptively
    "threatInfo.pendingActions",                                // pending_actions
    "threatInfo.failedActions",                                 // failed_actions
    "threatInfo.rebootRequired",                                // reboot_required
    "threatInfo.externalTicketExists",                          // external_ticket_exists
    "agentRealtimeInfo.agentIsActive",                          // agent_is_active
    "threatInfo.threatName",                                    // threat_name
    "threatInfo.filePath",                                      // file_path
    "threatInfo.publisherName",                                 // publisher_name
    "threatInfo.maliciousProcessArguments",                     // command_line
    "threatInfo.originatorProcess",                             // originator_process
    "threatInfo.initiatingUsername",                            // initiating_username
    "agentRealtimeInfo.agentComputerName",                      // computer_name
    "agentRealtimeInfo.agentUuid",                              // agent_uuid
    "agentDetectionInfo.agentVersion",                          // detection_agent_version
    "agentDetectionInfo.agentDomain",                           // detection_agent_domain
    "agentDetectionInfo.cloudProviders.*.cloudAccount",         // cloud_account
    "agentDetectionInfo.cloudProviders.*.cloudImage",           // cloud_image
    "agentDetectionInfo.cloudProviders.*.cloudInstanceId",      // cloud_instance_id
    "agentDetectionInfo.cloudProviders.*.cloudInstanceSize",    // cloud_instance_size
    "agentDetectionInfo.cloudProviders.*.cloudLocation",        // cloud_location
    "agentDetectionInfo.cloudProviders.*.cloudNetwork",         // cloud_network
    "agentDetectionInfo.cloudProviders.*.awsRole",              // aws_role
    "agentDetectionInfo.cloudProviders.*.awsSecurityGroups[]",  // aws_security_groups
    "agentDetectionInfo.cloudProviders.*.awsSubnetIds[]",       // aws_subnet_ids
    "agentDetectionInfo.cloudProviders.*.gcpServiceAccount",    // gcp_service_account
    "agentDetectionInfo.cloudProviders.*.azureResourceGroup",   // azure_resource_group
    "containerInfo.name",                                       // container_name
    "containerInfo.image",                                      // container_image
    "containerInfo.labels",                                     // container_labels
    "kubernetesInfo.cluster",                                   // k8s_cluster
    "kubernetesInfo.node",                                      // k8s_node
    "kubernetesInfo.nodeLabels",                                // k8s_node_labels
    "kubernetesInfo.namespace",                                 // k8s_namespace
    "kubernetesInfo.namespaceLabels",                           // k8s_namespace_labels
    "kubernetesInfo.controllerName",                            // k8s_controller
    "kubernetesInfo.controllerLabels",                          // k8s_controller_labels
    "kubernetesInfo.pod",                                       // k8s_pod
    "kubernetesInfo.podLabels",                                 // k8s_pod_labels
    "",                                                         // notes
    "",                                                         // agent_tags
};

// Reference §4 `query` and seed 002's description of it, in that order.
constexpr std::array full_text_list{threat_name,
                                    sha1,
                                    computer_name,
                                    file_path,
                                    agent_uuid,
                                    detection_agent_version,
                                    agent_version,
                                    detection_agent_domain,
                                    command_line,
                                    initiating_username,
                                    storyline,
                                    originator_process,
                                    k8s_cluster,
                                    k8s_node,
                                    k8s_node_labels,
                                    k8s_namespace,
                                    k8s_namespace_labels,
                                    k8s_controller,
                                    k8s_controller_labels,
                                    k8s_pod,
                                    k8s_pod_labels,
                                    container_name,
                                    container_image,
                                    container_labels,
                                    external_ticket_id};

constexpr std::array<std::string_view, 4> carried{"agentIds", "accountIds", "siteIds", "groupIds"};

constexpr char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Case-insensitive Levenshtein distance with one row on the stack. Key names are short; a
// longer key (none exists) would only be skipped.
constexpr std::size_t max_key_length = 63;

std::size_t edit_distance(std::string_view a, std::string_view key) noexcept {
    std::array<std::size_t, max_key_length + 1> row{};
    for (std::size_t j = 0; j <= key.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= key.size(); ++j) {
            std::size_t above = row[j];
            std::size_t substitution = diagonal + (lower(a[i - 1]) == lower(key[j - 1]) ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
            diagonal = above;
        }
    }
    return row[key.size()];
}

}  // namespace

std::span<const key_spec> keys() noexcept {
    return table;
}

const key_spec* find_key(std::string_view name) noexcept {
    auto it = std::lower_bound(table.begin(), table.end(), name,
                               [](const key_spec& k, std::string_view n) { return k.name < n; });
    return it != table.end() && it->name == name ? &*it : nullptr;
}

std::string_view nearest_key(std::string_view name) noexcept {
    // A third of the length lets long keys with several typos match, while two typos in a
    // short word still count as a misspelling rather than a different word.
    std::size_t threshold = std::max<std::size_t>(2, name.size() / 3);
    std::string_view best;
    std::size_t best_distance = threshold + 1;
    for (const auto& k : table) {
        if (k.name.size() > max_key_length) continue;
        std::size_t gap = k.name.size() > name.size() ? k.name.size() - name.size() : name.size() - k.name.size();
        if (gap >= best_distance) continue;  // the distance is at least the length difference
        std::size_t d = edit_distance(name, k.name);
        if (d < best_distance) {
            best_distance = d;
            best = k.name;
        }
    }
    return best;
}

std::string_view attribute_path(attribute a) noexcept {
    auto i = static_cast<std::size_t>(a);
    return i < paths.size() ? paths[i] : std::string_view{};
}

std::span<const attribute> full_text_attributes() noexcept {
    return full_text_list;
}

std::span<const std::string_view> carried_scope_keys() noexcept {
    return carried;
}

}  // namespace s1pilot::filter
