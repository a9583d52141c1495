#include "s1pilot/filter/evaluate.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "filter_test_support.hpp"

using namespace s1pilot;
using namespace s1pilot::filter;
using namespace std::chrono_literals;
using s1pilot::filter::test::at;
using s1pilot::filter::test::key;

namespace {

using strings = std::vector<std::string>;

strings values_of(const threat_view& view, attribute a) {
    std::vector<std::string_view> out;
    view.values(a, out);
    return strings(out.begin(), out.end());
}

class FilterEvaluate : public ::testing::Test {
protected:
    boost::json::object threat = test::example_threat();
    boost::json::object& info() { return threat.at("threatInfo").as_object(); }
    boost::json::object& realtime() { return threat.at("agentRealtimeInfo").as_object(); }

    // Does a filter of one term select the threat? Checks compiled_filter agrees with matches().
    bool selects(std::string_view name, value v, const strings* notes = nullptr, const strings* tags = nullptr) {
        threat_filter f;
        f.set(key(name), std::move(v));
        return selects(f, notes, tags);
    }
    bool selects(const threat_filter& f, const strings* notes = nullptr, const strings* tags = nullptr) {
        json_threat_view view(threat, notes, tags);
        bool direct = matches(f, view);
        EXPECT_EQ(compiled_filter(f).matches(view), direct);
        return direct;
    }
};

}  // namespace

// ---- json_threat_view -----------------------------------------------------------------------

TEST_F(FilterEvaluate, ViewReadsTheExampleThreat) {
    json_threat_view view(threat);
    EXPECT_EQ(values_of(view, attribute::id), strings{"1596270471532451327"});
    EXPECT_EQ(values_of(view, attribute::agent_id), strings{"1559342436290084702"});
    EXPECT_EQ(values_of(view, attribute::account_id), strings{"1364475734557453411"});
    EXPECT_EQ(values_of(view, attribute::site_id), strings{"1364475734565842019"});
    EXPECT_EQ(values_of(view, attribute::group_id), strings{"1364475734574230628"});
    EXPECT_EQ(values_of(view, attribute::classification), strings{"Malware"});
    EXPECT_EQ(values_of(view, attribute::detection_engine_keys), strings{"sentinelone_cloud"});
    EXPECT_EQ(values_of(view, attribute::os_type), strings{"windows"});
    EXPECT_EQ(values_of(view, attribute::created_at), strings{"2022-12-20T15:51:17.514437Z"});
    EXPECT_EQ(values_of(view, attribute::agent_is_active), strings{"true"});
    EXPECT_EQ(values_of(view, attribute::reboot_required), strings{"false"});
    EXPECT_EQ(values_of(view, attribute::command_line), strings{R"("C:\Users\jdoe\Downloads\invoice_8812.exe")"});
    EXPECT_EQ(values_of(view, attribute::detection_agent_domain), strings{"ACME"});
    EXPECT_EQ(values_of(view, attribute::publisher_name), strings{""});
    // null or absent: no values
    EXPECT_TRUE(values_of(view, attribute::initiating_username).empty());
    EXPECT_TRUE(values_of(view, attribute::external_ticket_id).empty());
    EXPECT_TRUE(values_of(view, attribute::os_arch).empty());
    EXPECT_TRUE(values_of(view, attribute::container_name).empty());
    EXPECT_TRUE(values_of(view, attribute::k8s_pod_labels).empty());
    EXPECT_TRUE(values_of(view, attribute::cloud_provider_names).empty());
    EXPECT_TRUE(values_of(view, attribute::cloud_account).empty());
    EXPECT_TRUE(values_of(view, attribute::notes).empty());
    EXPECT_TRUE(values_of(view, attribute::agent_tags).empty());
    EXPECT_TRUE(values_of(view, attribute::none).empty());
}

TEST_F(FilterEvaluate, ViewWalksWildcardsListsNumbersAndSideData) {
    threat["agentDetectionInfo"].as_object()["cloudProviders"] = boost::json::parse(
        R"({"AWS":{"cloudAccount":"123456789012","awsSecurityGroups":["sg-1","sg-2"],"awsSubnetIds":"subnet-9"},
            "Azure":{"azureResourceGroup":"rg-prod","cloudAccount":null}})");
    info()["detectionEngines"] = boost::json::parse(R"([{"key":"reputation"},{"key":"pup","title":"PUP"},{}])");
    threat["containerInfo"].as_object()["labels"] = boost::json::parse(R"(["app=web","tier=front"])");
    threat["kubernetesInfo"].as_object()["cluster"] = "prod-eu";
    threat["id"] = 1596270471532451327;
    info()["threatName"] = 2.5;
    strings notes{"first", "second"}, tags{"env=prod"};
    json_threat_view view(threat, &notes, &tags);
    EXPECT_EQ(values_of(view, attribute::cloud_provider_names), (strings{"AWS", "Azure"}));
    EXPECT_EQ(values_of(view, attribute::cloud_account), strings{"123456789012"});
    EXPECT_EQ(values_of(view, attribute::aws_security_groups), (strings{"sg-1", "sg-2"}));
    EXPECT_EQ(values_of(view, attribute::aws_subnet_ids), strings{"subnet-9"});  // one value where a list is usual
    EXPECT_EQ(values_of(view, attribute::azure_resource_group), strings{"rg-prod"});
    EXPECT_EQ(values_of(view, attribute::detection_engine_keys), (strings{"reputation", "pup"}));
    EXPECT_EQ(values_of(view, attribute::container_labels), (strings{"app=web", "tier=front"}));
    EXPECT_EQ(values_of(view, attribute::k8s_cluster), strings{"prod-eu"});
    EXPECT_EQ(values_of(view, attribute::id), strings{"1596270471532451327"});
    EXPECT_EQ(values_of(view, attribute::threat_name), strings{"2.5"});
    EXPECT_EQ(values_of(view, attribute::notes), notes);
    EXPECT_EQ(values_of(view, attribute::agent_tags), tags);
    // values() appends; earlier views stay valid
    std::vector<std::string_view> out;
    view.values(attribute::id, out);
    view.values(attribute::threat_name, out);
    EXPECT_EQ(strings(out.begin(), out.end()), (strings{"1596270471532451327", "2.5"}));
}

// ---- matches, one key family at a time ------------------------------------------------------

TEST_F(FilterEvaluate, InListIsExactAndAnyValue) {
    EXPECT_TRUE(selects("siteIds", string_list{"1", "1364475734565842019"}));
    EXPECT_FALSE(selects("siteIds", string_list{"1364475734565842018"}));
    EXPECT_TRUE(selects("ids", string_list{"1596270471532451327"}));
    EXPECT_TRUE(selects("agentIds", string_list{"1559342436290084702"}));
    EXPECT_TRUE(selects("accountIds", string_list{"1364475734557453411"}));
    EXPECT_TRUE(selects("groupIds", string_list{"1364475734574230628"}));
    EXPECT_TRUE(selects("classifications", string_list{"Malware"}));
    EXPECT_FALSE(selects("classifications", string_list{"malware"}));  // exact
    EXPECT_TRUE(selects("confidenceLevels", string_list{"malicious"}));
    EXPECT_TRUE(selects("mitigationStatuses", string_list{"mitigated"}));
    EXPECT_TRUE(selects("incidentStatuses", string_list{"unresolved"}));
    EXPECT_TRUE(selects("analystVerdicts", string_list{"undefined"}));
    EXPECT_TRUE(selects("classificationSources", string_list{"Static"}));
    EXPECT_TRUE(selects("initiatedBy", string_list{"agent_policy"}));
    EXPECT_TRUE(selects("agentMachineTypes", string_list{"desktop"}));
    EXPECT_TRUE(selects("osNames", string_list{"Windows 10 Pro"}));
    EXPECT_TRUE(selects("agentVersions", string_list{"22.3.4.612"}));
    EXPECT_TRUE(selects("contentHashes", string_list{"3395856ce81f2b7382dee72602f798b642f14140"}));
    EXPECT_TRUE(selects("storylines", string_list{"A8F6CB4CB9AE09A1"}));
    EXPECT_TRUE(selects("collectionIds", string_list{"1596270471658280448"}));
    EXPECT_TRUE(selects("engines", string_list{"sentinelone_cloud"}));
    EXPECT_FALSE(selects("detectionEngines", string_list{"reputation"}));
    info()["detectionEngines"] = boost::json::parse(R"([{"key":"reputation"},{"key":"pup"}])");
    EXPECT_TRUE(selects("detectionEngines", string_list{"pup"}));
    // no value: an in-list term does not match
    EXPECT_FALSE(selects("osArchs", string_list{"64 bit"}));
    EXPECT_FALSE(selects("externalTicketIds", string_list{"INC-1"}));
    EXPECT_FALSE(selects("cloudProvider", string_list{"AWS"}));
    realtime()["agentOsArch"] = "64 bit";
    EXPECT_TRUE(selects("osArchs", string_list{"64 bit"}));
}

TEST_F(FilterEvaluate, NotInListExcludesAndAbsentPasses) {
    EXPECT_TRUE(selects("osTypesNin", string_list{"linux", "macos"}));
    EXPECT_FALSE(selects("osTypesNin", string_list{"linux", "windows"}));
    EXPECT_FALSE(selects("classificationsNin", string_list{"Malware"}));
    EXPECT_FALSE(selects("enginesNin", string_list{"sentinelone_cloud"}));
    EXPECT_TRUE(selects("cloudProviderNin", string_list{"AWS"}));  // no cloud provider at all
    threat["agentDetectionInfo"].as_object()["cloudProviders"] = boost::json::parse(R"({"AWS":{},"GCP":{}})");
    EXPECT_FALSE(selects("cloudProviderNin", string_list{"GCP"}));
    EXPECT_TRUE(selects("cloudProviderNin", string_list{"Azure"}));
    info()["detectionEngines"] = boost::json::parse(R"([{"key":"reputation"},{"key":"pup"}])");
    EXPECT_FALSE(selects("detectionEnginesNin", string_list{"pup"}));  // any value excluded: out
}

TEST_F(FilterEvaluate, ContainsIgnoresCaseAndTakesAnyNeedle) {
    EXPECT_TRUE(selects("filePath__contains", string_list{"DOWNLOADS\\INVOICE"}));
    EXPECT_TRUE(selects("filePath__contains", string_list{"nothing", "harddiskvolume3"}));
    EXPECT_FALSE(selects("filePath__contains", string_list{"Desktop"}));
    EXPECT_TRUE(selects("threatDetails__contains", string_list{"8812.EXE"}));
    EXPECT_TRUE(selects("computerName__contains", string_list{"8cme"}));
    EXPECT_TRUE(selects("uuid__contains", string_list{"A8744D2A"}));
    EXPECT_TRUE(selects("commandLineArguments__contains", string_list{"c:\\users"}));
    EXPECT_TRUE(selects("originatedProcess__contains", string_list{"EXPLORER"}));
    EXPECT_TRUE(selects("contentHash__contains", string_list{"3395856CE8"}));
    EXPECT_TRUE(selects("storyline__contains", string_list{"cb4c"}));
    EXPECT_TRUE(selects("realtimeAgentVersion__contains", string_list{"22.3"}));
    EXPECT_TRUE(selects("detectionAgentVersion__contains", string_list{".612"}));
    EXPECT_TRUE(selects("detectionAgentDomain__contains", string_list{"acm"}));
    EXPECT_TRUE(selects("publisherName__contains", string_list{"x", ""}));     // "" is in every string
    EXPECT_FALSE(selects("initiatedByUsername__contains", string_list{"j"}));  // null
    EXPECT_FALSE(selects("externalTicketId__contains", string_list{"INC"}));
    EXPECT_FALSE(selects("containerName__contains", string_list{"web"}));
    EXPECT_FALSE(selects("filePath__contains", string_list{"invoice_8812.exe_and_more_than_the_path_holds_"
                                                           "___________________________________________________"
                                                           "___________________________________________________"}));
}

TEST_F(FilterEvaluate, ContainsOverCloudContainerAndKubernetesFields) {
    threat["agentDetectionInfo"].as_object()["cloudProviders"] = boost::json::parse(
        R"({"AWS":{"cloudAccount":"123456789012","cloudImage":"ami-0abc","cloudInstanceId":"i-0123",
                   "cloudInstanceSize":"t3.large","cloudLocation":"eu-west-1","cloudNetwork":"vpc-77",
                   "awsRole":"arn:aws:iam::1:role/Web","awsSecurityGroups":["sg-1","sg-DB"],
                   "awsSubnetIds":["subnet-9"]},
            "GCP":{"gcpServiceAccount":"svc@proj.iam"},"Azure":{"azureResourceGroup":"RG-Prod"}})");
    threat["containerInfo"] =
        boost::json::parse(R"({"name":"web-1","image":"nginx:1.25","labels":["app=web"],"id":"c1"})");
    threat["kubernetesInfo"] = boost::json::parse(
        R"({"cluster":"prod-eu","node":"node-7","nodeLabels":"zone=a","namespace":"shop",
            "namespaceLabels":["team=pay"],"controllerName":"checkout","controllerLabels":"tier=front",
            "pod":"checkout-5d9","podLabels":["version=3"]})");
    std::vector<std::pair<std::string_view, std::string>> hits{
        {"cloudAccount__contains", "56789"},        {"cloudImage__contains", "AMI-"},
        {"cloudInstanceId__contains", "i-01"},      {"cloudInstanceSize__contains", "large"},
        {"cloudLocation__contains", "west"},        {"cloudNetwork__contains", "vpc"},
        {"awsRole__contains", "role/web"},          {"awsSecurityGroups__contains", "db"},
        {"awsSubnetIds__contains", "subnet"},       {"gcpServiceAccount__contains", "@PROJ"},
        {"azureResourceGroup__contains", "prod"},   {"containerName__contains", "WEB"},
        {"containerImageName__contains", "nginx"},  {"containerLabels__contains", "app="},
        {"k8sClusterName__contains", "eu"},         {"k8sNodeName__contains", "node-7"},
        {"k8sNodeLabels__contains", "zone"},        {"k8sNamespaceName__contains", "shop"},
        {"k8sNamespaceLabels__contains", "pay"},    {"k8sControllerName__contains", "checkout"},
        {"k8sControllerLabels__contains", "front"}, {"k8sPodName__contains", "5d9"},
        {"k8sPodLabels__contains", "version"}};
    for (const auto& [name, needle] : hits) {
        EXPECT_TRUE(selects(name, string_list{needle})) << name;
        EXPECT_FALSE(selects(name, string_list{"no-such-text"})) << name;
    }
    EXPECT_TRUE(selects("cloudProvider", string_list{"GCP"}));
    EXPECT_TRUE(selects("query", std::string("CHECKOUT-5")));
}

TEST_F(FilterEvaluate, TimesCompareByMicroseconds) {
    auto created = at("2022-12-20T15:51:17.514437Z");
    EXPECT_FALSE(selects("createdAt__gt", created));
    EXPECT_TRUE(selects("createdAt__gte", created));
    EXPECT_FALSE(selects("createdAt__lt", created));
    EXPECT_TRUE(selects("createdAt__lte", created));
    EXPECT_TRUE(selects("createdAt__gt", created - 1us));
    EXPECT_FALSE(selects("createdAt__gte", created + 1us));
    EXPECT_TRUE(selects("createdAt__lt", created + 1us));
    EXPECT_FALSE(selects("createdAt__lte", created - 1us));
    EXPECT_TRUE(selects("updatedAt__gt", at("2022-12-20T15:51:18Z")));
    EXPECT_TRUE(selects("updatedAt__gte", at("2022-12-20T15:51:18.612345Z")));
    EXPECT_TRUE(selects("updatedAt__lt", at("2022-12-21")));
    EXPECT_FALSE(selects("updatedAt__lte", at("2022-12-20T15:51:18.612344Z")));
    for (const char* bad : {"yesterday", "2022-12-20 15:51:17", ""}) {
        info()["createdAt"] = bad;
        for (auto name : {"createdAt__gt", "createdAt__gte", "createdAt__lt", "createdAt__lte"})
            EXPECT_FALSE(selects(name, created)) << name << " " << bad;
    }
    info().erase("updatedAt");
    EXPECT_FALSE(selects("updatedAt__lt", at("2099-01-01")));
    EXPECT_FALSE(selects("updatedAt__gt", at("1999-01-01")));
}

TEST_F(FilterEvaluate, FlagsCompareAsBooleansAndNeedAValue) {
    for (auto name :
         {"mitigatedPreemptively", "pendingActions", "failedActions", "rebootRequired", "externalTicketExists"}) {
        EXPECT_TRUE(selects(name, false)) << name;
        EXPECT_FALSE(selects(name, true)) << name;
    }
    EXPECT_TRUE(selects("agentIsActive", true));
    EXPECT_FALSE(selects("agentIsActive", false));
    info()["failedActions"] = true;
    EXPECT_TRUE(selects("failedActions", true));
    info()["pendingActions"] = nullptr;
    EXPECT_FALSE(selects("pendingActions", true));
    EXPECT_FALSE(selects("pendingActions", false));
}

TEST_F(FilterEvaluate, ResolvedIsIncidentStatusResolved) {
    EXPECT_TRUE(selects("resolved", false));
    EXPECT_FALSE(selects("resolved", true));
    info()["incidentStatus"] = "resolved";
    EXPECT_TRUE(selects("resolved", true));
    EXPECT_FALSE(selects("resolved", false));
    info()["incidentStatus"] = "in_progress";
    EXPECT_TRUE(selects("resolved", false));
}

TEST_F(FilterEvaluate, NoteExistsAndHasAgentTags) {
    strings none, some{"Contained by s1pilot"}, tags{"env=prod"};
    EXPECT_TRUE(selects("noteExists", false));  // not known: no notes
    EXPECT_TRUE(selects("noteExists", false, &none));
    EXPECT_FALSE(selects("noteExists", true, &none));
    EXPECT_TRUE(selects("noteExists", true, &some));
    EXPECT_FALSE(selects("noteExists", false, &some));
    EXPECT_TRUE(selects("hasAgentTags", false, nullptr, &none));
    EXPECT_FALSE(selects("hasAgentTags", false, nullptr, &tags));
    EXPECT_TRUE(selects("hasAgentTags", true, nullptr, &tags));
    EXPECT_FALSE(selects("hasAgentTags", true, &some, nullptr));  // notes are not tags
}

TEST_F(FilterEvaluate, AgentTagsDataNeedsEveryKeyAndHonoursNin) {
    strings tags{"env=prod", "owner=alice", "note=a=b"};
    auto with = [&](std::string json) { return selects("agentTagsData", std::move(json), nullptr, &tags); };
    EXPECT_TRUE(with(R"({"env":["prod","staging"]})"));
    EXPECT_FALSE(with(R"({"env":["dev"]})"));
    EXPECT_FALSE(with(R"({"env":["Prod"]})"));
    EXPECT_TRUE(with(R"({"env":["prod"],"owner":["alice"]})"));
    EXPECT_FALSE(with(R"({"env":["prod"],"owner":["bob"]})"));
    EXPECT_TRUE(with(R"({"ownerNin":["bob"]})"));
    EXPECT_FALSE(with(R"({"ownerNin":["alice","bob"]})"));
    EXPECT_FALSE(with(R"({"region":["eu"]})"));  // the agent has no such tag
    EXPECT_TRUE(with(R"({"regionNin":["eu"]})"));
    EXPECT_TRUE(with(R"({"note":["a=b"]})"));  // the first `=` separates key and value
    EXPECT_TRUE(with(R"({"env":["prod"],"ownerNin":["bob"]})"));
    EXPECT_FALSE(with("not json"));  // an invalid filter selects nothing
    EXPECT_FALSE(selects("agentTagsData", std::string(R"({"envNin":["dev"],"env":["prod"]})")));  // no tags known
    EXPECT_TRUE(selects("agentTagsData", std::string(R"({"envNin":["dev"]})")));
}

TEST_F(FilterEvaluate, QuerySearchesTheFullTextAttributesOnly) {
    EXPECT_TRUE(selects("query", std::string("8cme2kf")));               // computer name
    EXPECT_TRUE(selects("query", std::string("INVOICE_8812")));          // threat name, path
    EXPECT_TRUE(selects("query", std::string("a8f6cb4c")));              // storyline
    EXPECT_TRUE(selects("query", std::string("Explorer.exe")));          // originating process
    EXPECT_TRUE(selects("query", std::string("3395856ce81f")));          // hash
    EXPECT_TRUE(selects("query", std::string("acme")));                  // detection agent domain
    EXPECT_TRUE(selects("query", std::string("f431b0a1")));              // uuid
    EXPECT_FALSE(selects("query", std::string("Malware")));              // classification is not searched
    EXPECT_FALSE(selects("query", std::string("1364475734565842019")));  // nor site id
    EXPECT_FALSE(selects("query", std::string("ransom")));
    info()["externalTicketId"] = "INC-4711";
    EXPECT_TRUE(selects("query", std::string("inc-47")));
}

TEST_F(FilterEvaluate, DisplayNameEqualsThreatNameIgnoringCase) {
    EXPECT_TRUE(selects("displayName", std::string("invoice_8812.exe")));
    EXPECT_TRUE(selects("displayName", std::string("INVOICE_8812.EXE")));
    EXPECT_FALSE(selects("displayName", std::string("invoice")));
    EXPECT_FALSE(selects("displayName", std::string("invoice_8812.exe ")));
}

TEST_F(FilterEvaluate, LimitCountsForAndTenantSelectNothing) {
    threat_filter f;
    f.set(key("limit"), std::int64_t{1});
    f.set(key("countsFor"), std::string("osTypes"));
    f.set(key("tenant"), true);
    EXPECT_TRUE(selects(f));
    f.set(key("tenant"), false);
    EXPECT_TRUE(selects(f));
    f.set(key("siteIds"), string_list{"other"});
    EXPECT_FALSE(selects(f));
    EXPECT_TRUE(selects(threat_filter{}));  // the empty filter selects everything: callers refuse it
}

TEST_F(FilterEvaluate, EveryTermMustHold) {
    threat_filter f;
    f.set(key("query"), std::string("invoice"));
    f.set(key("siteIds"), string_list{"1364475734565842019"});
    f.set(key("classifications"), string_list{"Malware", "Ransomware"});
    f.set(key("confidenceLevels"), string_list{"malicious"});
    f.set(key("createdAt__gte"), at("2022-12-01"));
    f.set(key("resolved"), false);
    EXPECT_TRUE(selects(f));
    f.set(key("mitigationStatuses"), string_list{"not_mitigated"});
    EXPECT_FALSE(selects(f));
    f.erase("mitigationStatuses");
    f.set(key("query"), std::string("absent"));  // the expensive term, checked last, fails
    EXPECT_FALSE(selects(f));
}

TEST_F(FilterEvaluate, ACompiledFilterIsReusableAndCopyable) {
    threat_filter f;
    f.set(key("osTypes"), string_list{"windows", "linux"});
    f.set(key("filePath__contains"), string_list{"Invoice"});
    compiled_filter c(f);
    compiled_filter copy = c;
    json_threat_view view(threat);
    EXPECT_TRUE(c.matches(view));
    EXPECT_TRUE(copy.matches(view));
    realtime()["agentOsType"] = "macos";
    EXPECT_FALSE(c.matches(json_threat_view(threat)));
    compiled_filter moved = std::move(copy);
    EXPECT_FALSE(moved.matches(json_threat_view(threat)));
}

TEST_F(FilterEvaluate, RelativeTimesMustBeResolvedFirst) {
    threat_filter f;
    f.set(key("createdAt__gte"), relative_time{-24h});
    json_threat_view view(threat);
    EXPECT_THROW(matches(f, view), std::logic_error);
    EXPECT_THROW(compiled_filter{f}, std::logic_error);
    // Resolved against a "now" one day after the threat was created, -24h admits it exactly.
    EXPECT_TRUE(matches(f.resolved(at("2022-12-21T15:51:17.514437Z")), view));
    EXPECT_FALSE(matches(f.resolved(at("2022-12-21T15:51:17.514438Z")), view));
}
