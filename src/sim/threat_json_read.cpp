// Reads threats in the API's shape into the store (--dataset files, POST /_sim/threats).

#include <boost/json.hpp>

#include <cstring>

#include "threat_json.hpp"

namespace s1sim {
namespace {

namespace json = boost::json;

const json::object& object_at(const json::object& o, std::string_view key) {
    static const json::object empty;
    auto* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? v->get_object() : empty;
}

// A string member as a string_view; null when absent, null or not a string.
const json::string* string_at(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? &v->get_string() : nullptr;
}

class reader {
public:
    explicit reader(threat_store& store) : store_(store) {}

    string_id interned(const json::object& o, std::string_view key) {
        auto* s = string_at(o, key);
        return s != nullptr ? store_.strings.intern(*s) : null_string;
    }
    string_id unique(const json::object& o, std::string_view key) {
        auto* s = string_at(o, key);
        return s != nullptr ? store_.strings.add(*s) : null_string;
    }
    std::uint64_t id(const json::object& o, std::string_view key) {
        auto* v = o.if_contains(key);
        std::uint64_t out = 0;
        if (v == nullptr) return 0;
        if (v->is_string()) parse_id(v->get_string(), out);
        if (v->is_int64() && v->get_int64() > 0) out = static_cast<std::uint64_t>(v->get_int64());
        if (v->is_uint64()) out = v->get_uint64();
        return out;
    }
    bool flag(const json::object& o, std::string_view key) {
        auto* v = o.if_contains(key);
        return v != nullptr && v->is_bool() && v->get_bool();
    }
    micros time(const json::object& o, std::string_view key, micros fallback) {
        auto* s = string_at(o, key);
        if (s == nullptr) return fallback;
        auto t = s1pilot::core::parse_timestamp(*s);
        return t ? to_micros(*t) : fallback;
    }
    // A list of strings; a single string counts as a one-element list.
    std::uint32_t list(const json::object& o, std::string_view key) {
        auto* v = o.if_contains(key);
        std::vector<string_id> items;
        if (v != nullptr && v->is_array()) {
            for (const auto& item : v->get_array())
                if (item.is_string()) items.push_back(store_.strings.intern(item.get_string()));
        } else if (v != nullptr && v->is_string()) {
            items.push_back(store_.strings.intern(v->get_string()));
        }
        return store_.lists.intern(items);
    }

    std::uint32_t cloud(const json::object& providers) {
        for (const auto& [name, value] : providers) {
            if (!value.is_object()) continue;
            const auto& c = value.get_object();
            cloud_record r{};
            r.provider = store_.strings.intern(name);
            r.account = interned(c, "cloudAccount");
            r.image = interned(c, "cloudImage");
            r.instance_id = unique(c, "cloudInstanceId");
            r.instance_size = interned(c, "cloudInstanceSize");
            r.location = interned(c, "cloudLocation");
            r.network = interned(c, "cloudNetwork");
            r.aws_role = interned(c, "awsRole");
            r.gcp_service_account = interned(c, "gcpServiceAccount");
            r.azure_resource_group = interned(c, "azureResourceGroup");
            r.aws_security_groups = list(c, "awsSecurityGroups");
            r.aws_subnet_ids = list(c, "awsSubnetIds");
            store_.clouds.push_back(r);
            return static_cast<std::uint32_t>(store_.clouds.size() - 1);  // one provider per agent
        }
        return 0;
    }

    std::uint32_t agent(const json::object& realtime, const json::object& detection) {
        std::uint32_t index = store_.agent_index(id(realtime, "agentId"));
        agent_record& a = store_.agents[index];
        a.account_id = id(realtime, "accountId");
        a.site_id = id(realtime, "siteId");
        a.group_id = id(realtime, "groupId");
        a.uuid = interned(realtime, "agentUuid");
        a.computer_name = interned(realtime, "agentComputerName");
        a.domain = interned(realtime, "agentDomain");
        a.os_type = interned(realtime, "agentOsType");
        a.os_name = interned(realtime, "agentOsName");
        a.os_revision = interned(realtime, "agentOsRevision");
        a.os_arch = interned(realtime, "agentOsArch");
        a.machine_type = interned(realtime, "agentMachineType");
        a.version = interned(realtime, "agentVersion");
        a.account_name = interned(realtime, "accountName");
        a.site_name = interned(realtime, "siteName");
        a.group_name = interned(realtime, "groupName");
        a.network_status = interned(realtime, "agentNetworkStatus");
        a.is_active = !realtime.contains("agentIsActive") || flag(realtime, "agentIsActive");
        a.ip_v4 = interned(detection, "agentIpV4");
        a.external_ip = interned(detection, "externalIp");
        a.last_user = interned(detection, "agentLastLoggedInUserName");
        a.cloud = cloud(object_at(detection, "cloudProviders"));
        return index;
    }

    std::uint32_t workload(const json::object& container, const json::object& k8s) {
        workload_record w{};
        w.container_id = interned(container, "id");
        w.container_name = interned(container, "name");
        w.container_image = interned(container, "image");
        w.container_labels = list(container, "labels");
        w.k8s_cluster = interned(k8s, "cluster");
        w.k8s_node = interned(k8s, "node");
        w.k8s_pod = interned(k8s, "pod");
        w.k8s_namespace = interned(k8s, "namespace");
        w.k8s_controller = interned(k8s, "controllerName");
        w.k8s_controller_kind = interned(k8s, "controllerKind");
        w.k8s_controller_labels = list(k8s, "controllerLabels");
        w.k8s_namespace_labels = list(k8s, "namespaceLabels");
        w.k8s_node_labels = list(k8s, "nodeLabels");
        w.k8s_pod_labels = list(k8s, "podLabels");
        const workload_record none{};
        if (std::memcmp(&w, &none, sizeof w) == 0) return 0;
        store_.workloads.push_back(w);
        return static_cast<std::uint32_t>(store_.workloads.size() - 1);
    }

    std::uint32_t engines(const json::object& info) {
        std::vector<string_id> keys;
        if (auto* v = info.if_contains("detectionEngines"); v != nullptr && v->is_array())
            for (const auto& e : v->get_array())
                if (e.is_object())
                    if (auto* k = string_at(e.get_object(), "key")) keys.push_back(store_.strings.intern(*k));
        return store_.lists.intern(keys);
    }

private:
    threat_store& store_;
};

}  // namespace

std::string load_threat(threat_store& store, const json::object& threat, s1pilot::core::timestamp now,
                        std::uint64_t* id) {
    reader r(store);
    const auto& info = object_at(threat, "threatInfo");
    threat_record t{};
    t.id = r.id(threat, "id");
    if (t.id == 0) t.id = r.id(info, "threatId");
    if (t.id == 0) return "a threat has no `id` (a decimal string)";
    if (id != nullptr) *id = t.id;
    const micros fallback = to_micros(now);
    t.collection_id = r.id(info, "collectionId");
    t.created_at = r.time(info, "createdAt", fallback);
    t.updated_at = r.time(info, "updatedAt", t.created_at);
    t.identified_at = r.time(info, "identifiedAt", t.created_at);
    t.agent = r.agent(object_at(threat, "agentRealtimeInfo"), object_at(threat, "agentDetectionInfo"));
    t.classification = r.interned(info, "classification");
    t.classification_source = r.interned(info, "classificationSource");
    t.confidence_level = r.interned(info, "confidenceLevel");
    t.mitigation_status = r.interned(info, "mitigationStatus");
    t.incident_status = r.interned(info, "incidentStatus");
    t.analyst_verdict = r.interned(info, "analystVerdict");
    t.initiated_by = r.interned(info, "initiatedBy");
    t.detection_type = r.interned(info, "detectionType");
    t.engines = r.engines(info);
    t.threat_name = r.unique(info, "threatName");
    t.file_path = r.unique(info, "filePath");
    t.publisher_name = r.interned(info, "publisherName");
    t.process_user = r.interned(info, "processUser");
    t.originator_process = r.interned(info, "originatorProcess");
    t.command_line = r.unique(info, "maliciousProcessArguments");
    t.storyline = r.unique(info, "storyline");
    t.sha1 = r.unique(info, "sha1");
    t.sha256 = r.unique(info, "sha256");
    t.md5 = r.unique(info, "md5");
    t.initiating_username = r.interned(info, "initiatingUsername");
    t.external_ticket_id = r.interned(info, "externalTicketId");
    const auto& detection = object_at(threat, "agentDetectionInfo");
    t.detection_agent_version = r.interned(detection, "agentVersion");
    t.detection_agent_domain = r.interned(detection, "agentDomain");
    t.workload = r.workload(object_at(threat, "containerInfo"), object_at(threat, "kubernetesInfo"));
    if (auto* size = info.if_contains("fileSize"); size != nullptr && size->is_int64())
        t.file_size = static_cast<std::uint32_t>(size->get_int64());
    t.flags = static_cast<std::uint8_t>((r.flag(info, "mitigatedPreemptively") ? flag_mitigated_preemptively : 0) |
                                        (r.flag(info, "pendingActions") ? flag_pending_actions : 0) |
                                        (r.flag(info, "failedActions") ? flag_failed_actions : 0) |
                                        (r.flag(info, "rebootRequired") ? flag_reboot_required : 0) |
                                        (r.flag(info, "isFileless") ? flag_file_less : 0));
    std::uint32_t index = store.add(t);
    // A replaced threat keeps no stale history: the mitigation list is rebuilt from the JSON.
    store.threats[index].first_mitigation = 0;
    if (auto* list = threat.if_contains("mitigationStatus"); list != nullptr && list->is_array()) {
        for (const auto& m : list->get_array()) {
            if (!m.is_object()) continue;
            const auto& entry = m.get_object();
            const micros at = r.time(entry, "lastUpdate", t.updated_at);
            store.append_mitigation(index, r.interned(entry, "action"), r.interned(entry, "status"), at,
                                    r.time(entry, "mitigationStartedAt", at));
        }
    }
    store.keep_loaded(index, threat);
    settle_loaded_threat(store, index);
    return {};
}

void load_agent_tags(threat_store& store, const json::object& tags) {
    for (const auto& [agent_id, values] : tags) {
        std::uint64_t id = 0;
        if (!parse_id(agent_id, id) || !values.is_array()) continue;
        std::vector<string_id> items;
        for (const auto& v : values.get_array())
            if (v.is_string()) items.push_back(store.strings.intern(v.get_string()));
        store.agents[store.agent_index(id)].tags = store.lists.intern(items);
    }
}

}  // namespace s1sim
