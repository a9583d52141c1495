// Serialises stored threats in the API's shape, field for field as the example page shows them.

#include <cctype>

#include "threat_json.hpp"

namespace s1sim {
namespace {

// `not_mitigated` -> `Not Mitigated`, the console's *Description fields. Written into `out`, a
// buffer the writer reuses, so a page allocates nothing for them.
std::string_view describe(std::string_view value, std::string& out) {
    out.clear();
    bool start = true;
    for (char c : value) {
        if (c == '_' || c == ' ') {
            out += ' ';
            start = true;
        } else {
            out += start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
            start = false;
        }
    }
    return out;
}

std::string_view extension_of(std::string_view path, std::string& out) {
    out.clear();
    auto slash = path.find_last_of("\\/");
    auto dot = path.rfind('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return out;
    out.assign(path.substr(dot + 1));
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view extension_type(std::string_view ext) {
    if (ext == "EXE" || ext == "DLL" || ext == "SYS" || ext == "ELF" || ext == "DMG" || ext == "APP" || ext == "SO")
        return "Executable";
    if (ext == "PS1" || ext == "VBS" || ext == "JS" || ext == "SH" || ext == "PY" || ext == "BAT") return "Script";
    if (ext == "DOCX" || ext == "XLSM" || ext == "PDF" || ext == "DOC") return "Document";
    return ext.empty() ? "None" : "Unknown";
}

class threat_writer {
public:
    threat_writer(json_writer& out, const threat_store& store) : out_(out), store_(store) {}

    void str(std::string_view name, string_id id) {
        if (id == null_string)
            out_.member_null(name);
        else
            out_.member(name, store_.strings.get(id));
    }
    void id(std::string_view name, std::uint64_t value) {
        if (value == 0)
            out_.member_null(name);
        else
            out_.key(name).quoted_number(value);
    }
    void time(std::string_view name, micros t) { out_.member(name, format_micros(t).view()); }
    void list(std::string_view name, std::uint32_t list) {
        if (list == 0) {
            out_.member_null(name);
            return;
        }
        out_.key(name).begin_array();
        for (string_id s : store_.lists.get(list)) out_.string(store_.strings.get(s));
        out_.end_array();
    }
    std::string_view text(string_id id) const { return store_.strings.get(id); }

    void agent_detection(const threat_record& t, const agent_record& a) {
        out_.key("agentDetectionInfo").begin_object();
        id("accountId", a.account_id);
        str("accountName", a.account_name);
        out_.member("agentDetectionState", "full_mode");
        str("agentDomain", t.detection_agent_domain);
        str("agentIpV4", a.ip_v4);
        out_.member_null("agentIpV6");
        out_.member_null("agentLastLoggedInUpn").member_null("agentLastLoggedInUserMail");
        str("agentLastLoggedInUserName", a.last_user);
        out_.member("agentMitigationMode", "protect");
        str("agentOsName", a.os_name);
        str("agentOsRevision", a.os_revision);
        str("agentUuid", a.uuid);
        str("agentVersion", t.detection_agent_version);
        out_.key("cloudProviders").begin_object();
        if (a.cloud != 0) {
            const cloud_record& c = store_.clouds[a.cloud];
            out_.key(text(c.provider)).begin_object();
            str("awsRole", c.aws_role);
            list("awsSecurityGroups", c.aws_security_groups);
            list("awsSubnetIds", c.aws_subnet_ids);
            str("azureResourceGroup", c.azure_resource_group);
            str("cloudAccount", c.account);
            str("cloudImage", c.image);
            str("cloudInstanceId", c.instance_id);
            str("cloudInstanceSize", c.instance_size);
            str("cloudLocation", c.location);
            str("cloudNetwork", c.network);
            str("gcpServiceAccount", c.gcp_service_account);
            out_.end_object();
        }
        out_.end_object();
        str("externalIp", a.external_ip);
        id("groupId", a.group_id);
        str("groupName", a.group_name);
        id("siteId", a.site_id);
        str("siteName", a.site_name);
        out_.end_object();
    }

    void agent_realtime(const threat_record& t, const agent_record& a) {
        out_.key("agentRealtimeInfo").begin_object();
        id("accountId", a.account_id);
        str("accountName", a.account_name);
        out_.member_number("activeThreats", t.mitigation_status == store_.known.not_mitigated ? 1 : 0);
        str("agentComputerName", a.computer_name);
        out_.member_null("agentDecommissionedAt");
        str("agentDomain", a.domain);
        id("agentId", a.agent_id);
        out_.member_bool("agentInfected", t.mitigation_status == store_.known.not_mitigated);
        out_.member_bool("agentIsActive", a.is_active).member_bool("agentIsDecommissioned", false);
        str("agentMachineType", a.machine_type);
        out_.member("agentMitigationMode", "protect");
        str("agentNetworkStatus", a.network_status);
        str("agentOsArch", a.os_arch);
        str("agentOsName", a.os_name);
        str("agentOsRevision", a.os_revision);
        str("agentOsType", a.os_type);
        str("agentUuid", a.uuid);
        str("agentVersion", a.version);
        id("groupId", a.group_id);
        str("groupName", a.group_name);
        out_.member("operationalState", "na");
        out_.member_bool("rebootRequired", t.flags & flag_reboot_required);
        id("siteId", a.site_id);
        str("siteName", a.site_name);
        out_.member_null("storageName").member_null("storageType");
        out_.key("userActionsNeeded").begin_array().end_array();
        out_.end_object();
    }

    void workload(const threat_record& t) {
        const workload_record empty{};
        const workload_record& w = t.workload != 0 ? store_.workloads[t.workload] : empty;
        out_.key("containerInfo").begin_object();
        str("id", w.container_id);
        str("image", w.container_image);
        out_.member_null("isContainerQuarantine");
        list("labels", w.container_labels);
        str("name", w.container_name);
        out_.end_object();
        out_.key("kubernetesInfo").begin_object();
        str("cluster", w.k8s_cluster);
        str("controllerKind", w.k8s_controller_kind);
        list("controllerLabels", w.k8s_controller_labels);
        str("controllerName", w.k8s_controller);
        out_.member_null("isContainerQuarantine");
        str("namespace", w.k8s_namespace);
        list("namespaceLabels", w.k8s_namespace_labels);
        str("node", w.k8s_node);
        list("nodeLabels", w.k8s_node_labels);
        str("pod", w.k8s_pod);
        list("podLabels", w.k8s_pod_labels);
        out_.end_object();
    }

    void mitigations(const threat_record& t) {
        out_.key("mitigationStatus").begin_array();
        for (std::uint32_t i = t.first_mitigation; i != 0; i = store_.mitigations[i].next) {
            const mitigation_record& m = store_.mitigations[i];
            const bool ok = m.status == store_.known.success, pending = m.status == store_.known.pending;
            out_.begin_object();
            str("action", m.action);
            out_.key("actionsCounters").begin_object();
            out_.member_number("failed", ok || pending ? 0 : 1).member_number("notFound", 0);
            out_.member_number("pendingReboot", 0).member_number("success", ok ? 1 : 0).member_number("total", 1);
            out_.end_object();
            out_.member_bool("agentSupportsReport", true).member_bool("groupNotFound", false);
            time("lastUpdate", m.at);
            out_.member_null("latestReport");
            // The agent has not finished a pending entry: it has no end yet.
            if (pending)
                out_.member_null("mitigationEndedAt");
            else
                time("mitigationEndedAt", m.at);
            time("mitigationStartedAt", m.started_at);
            str("status", m.status);
            out_.end_object();
        }
        out_.end_array();
    }

    void threat_info(const threat_record& t) {
        auto path = text(t.file_path);
        auto ext = extension_of(path, extension_);
        out_.key("threatInfo").begin_object();
        str("analystVerdict", t.analyst_verdict);
        out_.member("analystVerdictDescription", description(text(t.analyst_verdict)));
        out_.member_bool("automaticallyResolved", false).member_null("browserType").member("certificateId", "");
        str("classification", t.classification);
        str("classificationSource", t.classification_source);
        out_.member("cloudFilesHashVerdict", text(t.confidence_level) == "malicious" ? "black" : "provider_unknown");
        id("collectionId", t.collection_id);
        str("confidenceLevel", t.confidence_level);
        time("createdAt", t.created_at);
        const auto& engines = store_.lists.get(t.engines);
        out_.key("detectionEngines").begin_array();
        for (string_id e : engines)
            out_.begin_object().member("key", text(e)).member("title", engine_title(text(e))).end_object();
        out_.end_array();
        str("detectionType", t.detection_type);
        out_.key("engines").begin_array();
        for (string_id e : engines) out_.string(engine_title(text(e)));
        out_.end_array();
        out_.member_bool("externalTicketExists", !text(t.external_ticket_id).empty());
        str("externalTicketId", t.external_ticket_id);
        out_.member_bool("failedActions", t.flags & flag_failed_actions);
        out_.member("fileExtension", ext).member("fileExtensionType", extension_type(ext));
        str("filePath", t.file_path);
        out_.member_number("fileSize", t.file_size).member("fileVerificationType", "NotSigned");
        time("identifiedAt", t.identified_at);
        str("incidentStatus", t.incident_status);
        out_.member("incidentStatusDescription", description(text(t.incident_status)));
        str("initiatedBy", t.initiated_by);
        out_.member("initiatedByDescription", description(text(t.initiated_by)));
        out_.member_null("initiatingUserId");
        str("initiatingUsername", t.initiating_username);
        out_.member_bool("isFileless", t.flags & flag_file_less).member_bool("isValidCertificate", false);
        str("maliciousProcessArguments", t.command_line);
        str("md5", t.md5);
        out_.member_bool("mitigatedPreemptively", t.flags & flag_mitigated_preemptively);
        str("mitigationStatus", t.mitigation_status);
        out_.member("mitigationStatusDescription", description(text(t.mitigation_status)));
        str("originatorProcess", t.originator_process);
        out_.member_bool("pendingActions", t.flags & flag_pending_actions);
        str("processUser", t.process_user);
        str("publisherName", t.publisher_name);
        out_.member_bool("reachedEventsLimit", false);
        out_.member_bool("rebootRequired", t.flags & flag_reboot_required);
        str("sha1", t.sha1);
        str("sha256", t.sha256);
        str("storyline", t.storyline);
        id("threatId", t.id);
        str("threatName", t.threat_name);
        time("updatedAt", t.updated_at);
        out_.end_object();
    }

private:
    std::string_view description(std::string_view value) { return describe(value, description_); }

    json_writer& out_;
    const threat_store& store_;
    std::string description_, extension_;  // reused buffers
};

}  // namespace

void write_modelled_threat(json_writer& out, const threat_store& store, std::uint32_t index) {
    const threat_record& t = store.threats[index];
    const agent_record& a = store.agents[t.agent];
    threat_writer w(out, store);
    out.begin_object();
    w.id("id", t.id);
    w.agent_detection(t, a);
    w.agent_realtime(t, a);
    w.workload(t);
    out.key("indicators").begin_array().end_array();
    w.mitigations(t);
    w.threat_info(t);
    out.key("whiteningOptions").begin_array().string("hash").string("path").end_array();
    out.end_object();
}

}  // namespace s1sim
