#include "s1pilot/filter/keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "filter_test_support.hpp"

using namespace s1pilot::filter;
using s1pilot::filter::test::key;

TEST(FilterKeys, SortedAndFoundByExactName) {
    auto all = keys();
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; }));
    for (const auto& k : all) EXPECT_EQ(find_key(k.name), &k);
    EXPECT_EQ(find_key("siteids"), nullptr);  // case-sensitive
    EXPECT_EQ(find_key(""), nullptr);
    EXPECT_EQ(find_key("zzz"), nullptr);
    EXPECT_EQ(find_key("siteIds "), nullptr);
}

TEST(FilterKeys, SuffixesDecideTheMatchKind) {
    for (const auto& k : keys()) {
        std::string_view n = k.name;
        SCOPED_TRACE(std::string(n));
        if (n.ends_with("__contains")) {
            EXPECT_EQ(k.kind, match_kind::contains);
        } else if (n.ends_with("Nin")) {
            EXPECT_EQ(k.kind, match_kind::not_in_list);
        } else if (n.ends_with("__gt")) {
            EXPECT_EQ(k.kind, match_kind::time_gt);
        } else if (n.ends_with("__gte")) {
            EXPECT_EQ(k.kind, match_kind::time_gte);
        } else if (n.ends_with("__lt")) {
            EXPECT_EQ(k.kind, match_kind::time_lt);
        } else if (n.ends_with("__lte")) {
            EXPECT_EQ(k.kind, match_kind::time_lte);
        } else if (k.type == value_type::string_list) {
            EXPECT_EQ(k.kind, match_kind::in_list);
        }
        bool time_kind = k.kind == match_kind::time_gt || k.kind == match_kind::time_gte ||
                         k.kind == match_kind::time_lt || k.kind == match_kind::time_lte;
        EXPECT_EQ(time_kind, k.type == value_type::time);
        // Every list key selects on an attribute with a JSON path.
        if (k.type == value_type::string_list) {
            EXPECT_FALSE(attribute_path(k.attr).empty());
        }
    }
    EXPECT_EQ(key("resolved").kind, match_kind::resolved);
    EXPECT_EQ(key("noteExists").kind, match_kind::has_any);
    EXPECT_EQ(key("noteExists").attr, attribute::notes);
    EXPECT_EQ(key("hasAgentTags").kind, match_kind::has_any);
    EXPECT_EQ(key("hasAgentTags").attr, attribute::agent_tags);
    EXPECT_EQ(key("agentTagsData").kind, match_kind::agent_tags);
    EXPECT_EQ(key("agentTagsData").type, value_type::string);
    EXPECT_EQ(key("query").kind, match_kind::full_text);
    EXPECT_EQ(key("displayName").kind, match_kind::equals);
    EXPECT_EQ(key("displayName").attr, attribute::threat_name);
    EXPECT_EQ(key("limit").kind, match_kind::limit);
    EXPECT_EQ(key("countsFor").kind, match_kind::no_effect);
    EXPECT_EQ(key("tenant").kind, match_kind::tenant);
    EXPECT_EQ(key("rebootRequired").kind, match_kind::flag);
    EXPECT_EQ(key("agentIsActive").attr, attribute::agent_is_active);
}

TEST(FilterKeys, KeysOfOneFieldShareTheirAttribute) {
    auto same = [](std::vector<std::string_view> names, attribute a) {
        for (auto n : names) EXPECT_EQ(key(n).attr, a) << n;
    };
    same({"engines", "enginesNin", "detectionEngines", "detectionEnginesNin"}, attribute::detection_engine_keys);
    same({"contentHashes", "contentHash__contains"}, attribute::sha1);
    same({"storylines", "storyline__contains"}, attribute::storyline);
    same({"externalTicketIds", "externalTicketId__contains"}, attribute::external_ticket_id);
    same({"agentVersions", "agentVersionsNin", "realtimeAgentVersion__contains"}, attribute::agent_version);
    same({"createdAt__gt", "createdAt__gte", "createdAt__lt", "createdAt__lte"}, attribute::created_at);
    same({"updatedAt__gt", "updatedAt__gte", "updatedAt__lt", "updatedAt__lte"}, attribute::updated_at);
    same({"cloudProvider", "cloudProviderNin"}, attribute::cloud_provider_names);
    same({"resolved", "incidentStatuses", "incidentStatusesNin"}, attribute::incident_status);
    same({"threatDetails__contains", "displayName"}, attribute::threat_name);
}

TEST(FilterKeys, ClosedSetsListReferenceEnumerations) {
    auto allowed = [](std::string_view name) {
        auto a = key(name).allowed;
        return std::vector<std::string>(a.begin(), a.end());
    };
    using list = std::vector<std::string>;
    EXPECT_EQ(allowed("confidenceLevels"), (list{"malicious", "suspicious", "n/a"}));
    EXPECT_EQ(allowed("mitigationStatuses"), (list{"not_mitigated", "mitigated", "marked_as_benign"}));
    EXPECT_EQ(allowed("incidentStatuses"), (list{"unresolved", "in_progress", "resolved"}));
    EXPECT_EQ(allowed("analystVerdicts"), (list{"undefined", "true_positive", "false_positive", "suspicious"}));
    EXPECT_EQ(allowed("classificationSources"), (list{"Cloud", "Behavioral", "Static", "Engine"}));
    EXPECT_EQ(allowed("osTypes"), (list{"windows", "macos", "linux", "windows_legacy"}));
    EXPECT_EQ(allowed("osArchs"), (list{"32 bit", "64 bit", "ARM64"}));
    EXPECT_EQ(allowed("agentMachineTypes"), (list{"unknown", "desktop", "laptop", "server", "kubernetes node",
                                                  "storage", "kubernetes pod", "ecs task"}));
    EXPECT_EQ(allowed("engines").size(), 18u);
    EXPECT_EQ(allowed("initiatedBy").size(), 11u);
    EXPECT_EQ(allowed("classifications"), (list{"Malware", "Ransomware", "Trojan", "Infostealer", "Manual", "PUA",
                                                "Exploit", "Hacktool", "Backdoor", "Worm"}));

    std::set<std::string_view> closed{"classificationSources",
                                      "classificationSourcesNin",
                                      "confidenceLevels",
                                      "confidenceLevelsNin",
                                      "mitigationStatuses",
                                      "mitigationStatusesNin",
                                      "incidentStatuses",
                                      "incidentStatusesNin",
                                      "analystVerdicts",
                                      "analystVerdictsNin",
                                      "engines",
                                      "enginesNin",
                                      "detectionEngines",
                                      "detectionEnginesNin",
                                      "initiatedBy",
                                      "initiatedByNin",
                                      "osTypes",
                                      "osTypesNin",
                                      "osArchs",
                                      "agentMachineTypes",
                                      "agentMachineTypesNin"};
    std::set<std::string_view> open{"classifications", "classificationsNin"};
    for (const auto& k : keys()) {
        bool expect_closed = closed.contains(k.name), expect_open = open.contains(k.name);
        EXPECT_EQ(!k.allowed.empty(), expect_closed || expect_open) << k.name;
        EXPECT_EQ(k.open_set, expect_open) << k.name;
    }
    // A Nin key allows what its positive key allows.
    for (const auto& k : keys()) {
        if (!k.name.ends_with("Nin")) continue;
        const key_spec* positive = find_key(k.name.substr(0, k.name.size() - 3));
        ASSERT_NE(positive, nullptr) << k.name;
        EXPECT_TRUE(std::ranges::equal(positive->allowed, k.allowed)) << k.name;
    }
}

TEST(FilterKeys, ScopeKeysAndCarriedScope) {
    std::set<std::string_view> scope;
    for (const auto& k : keys())
        if (k.scope) scope.insert(k.name);
    EXPECT_EQ(scope, (std::set<std::string_view>{"ids", "agentIds", "accountIds", "siteIds", "groupIds"}));
    auto carried = carried_scope_keys();
    EXPECT_EQ(std::vector<std::string_view>(carried.begin(), carried.end()),
              (std::vector<std::string_view>{"agentIds", "accountIds", "siteIds", "groupIds"}));
}

TEST(FilterKeys, NearestKeySuggestsPlausibleMisspellings) {
    EXPECT_EQ(nearest_key("siteId"), "siteIds");
    EXPECT_EQ(nearest_key("siteids"), "siteIds");  // case only
    EXPECT_EQ(nearest_key("SITEIDS"), "siteIds");
    EXPECT_EQ(nearest_key("classification"), "classifications");
    EXPECT_EQ(nearest_key("confidenceLevel"), "confidenceLevels");
    EXPECT_EQ(nearest_key("createdAt_gte"), "createdAt__gte");
    EXPECT_EQ(nearest_key("createdAt__ge"), "createdAt__gt");  // a tie with __gte: the first in table order
    EXPECT_EQ(nearest_key("filePath_contain"), "filePath__contains");
    EXPECT_EQ(nearest_key("mitigationStatusNin"), "mitigationStatusesNin");    // 2 edits, length 19
    EXPECT_EQ(nearest_key("k8sPodLabelsContains"), "k8sPodLabels__contains");  // 2 edits, case ignored
}

TEST(FilterKeys, NearestKeyStaysQuietForUnrelatedWords) {
    EXPECT_EQ(nearest_key("severity"), "");
    EXPECT_EQ(nearest_key("foo"), "");
    EXPECT_EQ(nearest_key(""), "");
    EXPECT_EQ(nearest_key("x"), "");
    EXPECT_EQ(nearest_key("tenants"), "tenant");
    EXPECT_EQ(nearest_key("lmt"), "limit");  // 2 edits on a short word: still a misspelling
    EXPECT_EQ(nearest_key("lm"), "");        // 3 edits: too far
}

TEST(FilterKeys, AttributePathsFollowTheThreatObject) {
    EXPECT_EQ(attribute_path(attribute::id), "id");
    EXPECT_EQ(attribute_path(attribute::agent_id), "agentRealtimeInfo.agentId");
    EXPECT_EQ(attribute_path(attribute::site_id), "agentRealtimeInfo.siteId");
    EXPECT_EQ(attribute_path(attribute::detection_engine_keys), "threatInfo.detectionEngines[].key");
    EXPECT_EQ(attribute_path(attribute::cloud_account), "agentDetectionInfo.cloudProviders.*.cloudAccount");
    EXPECT_EQ(attribute_path(attribute::aws_security_groups),
              "agentDetectionInfo.cloudProviders.*.awsSecurityGroups[]");
    EXPECT_EQ(attribute_path(attribute::cloud_provider_names), "agentDetectionInfo.cloudProviders.*~");
    EXPECT_EQ(attribute_path(attribute::command_line), "threatInfo.maliciousProcessArguments");
    EXPECT_EQ(attribute_path(attribute::os_arch), "agentRealtimeInfo.agentOsArch");
    EXPECT_EQ(attribute_path(attribute::container_image), "containerInfo.image");
    EXPECT_EQ(attribute_path(attribute::container_labels), "containerInfo.labels");
    EXPECT_EQ(attribute_path(attribute::k8s_cluster), "kubernetesInfo.cluster");
    EXPECT_EQ(attribute_path(attribute::k8s_controller), "kubernetesInfo.controllerName");
    EXPECT_EQ(attribute_path(attribute::k8s_pod_labels), "kubernetesInfo.podLabels");
    EXPECT_EQ(attribute_path(attribute::detection_agent_domain), "agentDetectionInfo.agentDomain");
    EXPECT_EQ(attribute_path(attribute::notes), "");
    EXPECT_EQ(attribute_path(attribute::agent_tags), "");
    EXPECT_EQ(attribute_path(attribute::none), "");
    EXPECT_EQ(attribute_path(attribute::count_), "");
    // Every other attribute has a path.
    for (int i = 1; i < static_cast<int>(attribute::notes); ++i)
        EXPECT_FALSE(attribute_path(static_cast<attribute>(i)).empty()) << i;
}

TEST(FilterKeys, FullTextAttributesAreThoseOfTheReference) {
    auto a = full_text_attributes();
    std::set<attribute> got(a.begin(), a.end());
    EXPECT_EQ(got.size(), a.size()) << "no duplicates";
    std::set<attribute> expected{attribute::threat_name,
                                 attribute::sha1,
                                 attribute::computer_name,
                                 attribute::file_path,
                                 attribute::agent_uuid,
                                 attribute::detection_agent_version,
                                 attribute::agent_version,
                                 attribute::detection_agent_domain,
                                 attribute::command_line,
                                 attribute::initiating_username,
                                 attribute::storyline,
                                 attribute::originator_process,
                                 attribute::k8s_cluster,
                                 attribute::k8s_node,
                                 attribute::k8s_node_labels,
                                 attribute::k8s_namespace,
                                 attribute::k8s_namespace_labels,
                                 attribute::k8s_controller,
                                 attribute::k8s_controller_labels,
                                 attribute::k8s_pod,
                                 attribute::k8s_pod_labels,
                                 attribute::container_name,
                                 attribute::container_image,
                                 attribute::container_labels,
                                 attribute::external_ticket_id};
    EXPECT_EQ(got, expected);
}
