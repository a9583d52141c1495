#include "store_view.hpp"

namespace s1sim {

using s1pilot::filter::attribute;

namespace {

std::string_view bool_text(bool b) {
    return b ? "true" : "false";
}

void push(const threat_store& store, string_id id, std::vector<std::string_view>& out) {
    if (id != null_string) out.push_back(store.strings.get(id));
}

void push_list(const threat_store& store, std::uint32_t list, std::vector<std::string_view>& out) {
    for (string_id id : store.lists.get(list)) push(store, id, out);
}

// Agent-level attributes shared by the threat view (agentRealtimeInfo) and the agent view.
// Returns false when `a` is not an agent attribute.
bool agent_values(const threat_store& store, const agent_record& agent, attribute a,
                  std::vector<std::string_view>& out) {
    const cloud_record* cloud = agent.cloud != 0 ? &store.clouds[agent.cloud] : nullptr;
    auto cloud_field = [&](string_id cloud_record::*field) {
        if (cloud != nullptr) push(store, cloud->*field, out);
    };
    switch (a) {
        case attribute::os_type: push(store, agent.os_type, out); return true;
        case attribute::os_name: push(store, agent.os_name, out); return true;
        case attribute::os_arch: push(store, agent.os_arch, out); return true;
        case attribute::machine_type: push(store, agent.machine_type, out); return true;
        case attribute::agent_version: push(store, agent.version, out); return true;
        case attribute::computer_name: push(store, agent.computer_name, out); return true;
        case attribute::agent_uuid: push(store, agent.uuid, out); return true;
        case attribute::agent_is_active: out.push_back(bool_text(agent.is_active)); return true;
        case attribute::agent_tags: push_list(store, agent.tags, out); return true;
        case attribute::cloud_provider_names: cloud_field(&cloud_record::provider); return true;
        case attribute::cloud_account: cloud_field(&cloud_record::account); return true;
        case attribute::cloud_image: cloud_field(&cloud_record::image); return true;
        case attribute::cloud_instance_id: cloud_field(&cloud_record::instance_id); return true;
        case attribute::cloud_instance_size: cloud_field(&cloud_record::instance_size); return true;
        case attribute::cloud_location: cloud_field(&cloud_record::location); return true;
        case attribute::cloud_network: cloud_field(&cloud_record::network); return true;
        case attribute::aws_role: cloud_field(&cloud_record::aws_role); return true;
        case attribute::gcp_service_account: cloud_field(&cloud_record::gcp_service_account); return true;
        case attribute::azure_resource_group: cloud_field(&cloud_record::azure_resource_group); return true;
        case attribute::aws_security_groups:
            if (cloud != nullptr) push_list(store, cloud->aws_security_groups, out);
            return true;
        case attribute::aws_subnet_ids:
            if (cloud != nullptr) push_list(store, cloud->aws_subnet_ids, out);
            return true;
        default: return false;
    }
}

}  // namespace

bool is_interned(attribute a) noexcept {
    switch (a) {
        case attribute::classification:
        case attribute::classification_source:
        case attribute::confidence_level:
        case attribute::mitigation_status:
        case attribute::incident_status:
        case attribute::analyst_verdict:
        case attribute::initiated_by:
        case attribute::os_type:
        case attribute::os_name:
        case attribute::os_arch:
        case attribute::machine_type:
        case attribute::agent_version: return true;
        default: return false;
    }
}

const string_id* string_field(const threat_store& store, const threat_record& t, attribute a) {
    const agent_record& agent = store.agents[t.agent];
    switch (a) {
        case attribute::storyline: return &t.storyline;
        case attribute::sha1: return &t.sha1;
        case attribute::external_ticket_id: return &t.external_ticket_id;
        case attribute::classification: return &t.classification;
        case attribute::classification_source: return &t.classification_source;
        case attribute::confidence_level: return &t.confidence_level;
        case attribute::mitigation_status: return &t.mitigation_status;
        case attribute::incident_status: return &t.incident_status;
        case attribute::analyst_verdict: return &t.analyst_verdict;
        case attribute::initiated_by: return &t.initiated_by;
        case attribute::threat_name: return &t.threat_name;
        case attribute::file_path: return &t.file_path;
        case attribute::publisher_name: return &t.publisher_name;
        case attribute::command_line: return &t.command_line;
        case attribute::originator_process: return &t.originator_process;
        case attribute::initiating_username: return &t.initiating_username;
        case attribute::detection_agent_version: return &t.detection_agent_version;
        case attribute::detection_agent_domain: return &t.detection_agent_domain;
        case attribute::os_type: return &agent.os_type;
        case attribute::os_name: return &agent.os_name;
        case attribute::os_arch: return &agent.os_arch;
        case attribute::machine_type: return &agent.machine_type;
        case attribute::agent_version: return &agent.version;
        case attribute::computer_name: return &agent.computer_name;
        case attribute::agent_uuid: return &agent.uuid;
        default: break;
    }
    if (t.workload == 0) return nullptr;
    const workload_record& w = store.workloads[t.workload];
    switch (a) {
        case attribute::container_name: return &w.container_name;
        case attribute::container_image: return &w.container_image;
        case attribute::k8s_cluster: return &w.k8s_cluster;
        case attribute::k8s_node: return &w.k8s_node;
        case attribute::k8s_namespace: return &w.k8s_namespace;
        case attribute::k8s_controller: return &w.k8s_controller;
        case attribute::k8s_pod: return &w.k8s_pod;
        default: return nullptr;
    }
}

std::string_view store_view::scratch(attribute a, std::string text) const {
    auto& slot = scratch_[static_cast<std::size_t>(a)];
    slot = std::move(text);
    return slot;
}

void store_view::values(attribute a, std::vector<std::string_view>& out) const {
    const threat_record& t = *threat_;
    const agent_record& agent = store_.agents[t.agent];
    if (a != attribute::id && a != attribute::agent_id && agent_values(store_, agent, a, out)) return;
    if (const string_id* field = string_field(store_, t, a)) {
        push(store_, *field, out);
        return;
    }
    const workload_record* w = t.workload != 0 ? &store_.workloads[t.workload] : nullptr;
    auto labels = [&](std::uint32_t workload_record::*field) {
        if (w != nullptr) push_list(store_, w->*field, out);
    };
    switch (a) {
        case attribute::id: out.push_back(scratch(a, id_text(t.id))); break;
        case attribute::agent_id: out.push_back(scratch(a, id_text(agent.agent_id))); break;
        case attribute::account_id: out.push_back(scratch(a, id_text(agent.account_id))); break;
        case attribute::site_id: out.push_back(scratch(a, id_text(agent.site_id))); break;
        case attribute::group_id: out.push_back(scratch(a, id_text(agent.group_id))); break;
        case attribute::collection_id:
            if (t.collection_id != 0) out.push_back(scratch(a, id_text(t.collection_id)));
            break;
        case attribute::detection_engine_keys: push_list(store_, t.engines, out); break;
        case attribute::created_at:
            out.push_back(scratch(a, s1pilot::core::format_timestamp(from_micros(t.created_at))));
            break;
        case attribute::updated_at:
            out.push_back(scratch(a, s1pilot::core::format_timestamp(from_micros(t.updated_at))));
            break;
        case attribute::mitigated_preemptively: out.push_back(bool_text(t.flags & flag_mitigated_preemptively)); break;
        case attribute::pending_actions: out.push_back(bool_text(t.flags & flag_pending_actions)); break;
        case attribute::failed_actions: out.push_back(bool_text(t.flags & flag_failed_actions)); break;
        case attribute::reboot_required: out.push_back(bool_text(t.flags & flag_reboot_required)); break;
        case attribute::external_ticket_exists:
            out.push_back(bool_text(!store_.strings.get(t.external_ticket_id).empty()));
            break;
        case attribute::container_labels: labels(&workload_record::container_labels); break;
        case attribute::k8s_node_labels: labels(&workload_record::k8s_node_labels); break;
        case attribute::k8s_namespace_labels: labels(&workload_record::k8s_namespace_labels); break;
        case attribute::k8s_controller_labels: labels(&workload_record::k8s_controller_labels); break;
        case attribute::k8s_pod_labels: labels(&workload_record::k8s_pod_labels); break;
        case attribute::notes:
            if (auto* notes = store_.notes(index_))
                for (const auto& n : *notes) out.push_back(n.text);
            break;
        default: break;
    }
}

void agent_view::values(attribute a, std::vector<std::string_view>& out) const {
    const agent_record& agent = *agent_;
    auto scratch = [&](std::size_t slot, std::uint64_t id) {
        scratch_[slot] = id_text(id);
        out.push_back(scratch_[slot]);
    };
    switch (a) {
        case attribute::id:
        case attribute::agent_id: scratch(0, agent.agent_id); return;
        case attribute::account_id: scratch(1, agent.account_id); return;
        case attribute::site_id: scratch(2, agent.site_id); return;
        case attribute::group_id: scratch(3, agent.group_id); return;
        default: agent_values(store_, agent, a, out); return;
    }
}

}  // namespace s1sim
