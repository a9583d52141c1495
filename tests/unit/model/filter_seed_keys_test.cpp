#include "s1pilot/filter/keys.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <string>
#include <vector>

// The key table against the two seed documents, both ways: no seed key missing, none extra,
// each with the seed's type. The lists are copied from /work/shared/seeds/ on purpose: the
// table must not be the source of its own check.

using namespace s1pilot::filter;

namespace {

struct seed_field {
    std::string name;
    std::string type;  // as the seed writes it: array, string, boolean, number
};

// clang-format off
// Seed 000 (Mitigate Threats): every filter field with its type, in the seed's order.
const std::vector<seed_field> seed_000{
    {"k8sPodLabels__contains", "array"}, {"updatedAt__gte", "string"}, {"awsSubnetIds__contains", "array"},
    {"agentMachineTypes", "array"}, {"cloudAccount__contains", "array"}, {"agentVersions", "array"},
    {"siteIds", "array"}, {"classificationSourcesNin", "array"}, {"storylines", "array"},
    {"detectionAgentVersion__contains", "array"}, {"createdAt__lt", "string"}, {"resolved", "boolean"},
    {"mitigatedPreemptively", "boolean"}, {"detectionEngines", "array"}, {"threatDetails__contains", "array"},
    {"storyline__contains", "array"}, {"agentVersionsNin", "array"}, {"originatedProcess__contains", "array"},
    {"tenant", "boolean"}, {"cloudProvider", "array"}, {"pendingActions", "boolean"}, {"agentIds", "array"},
    {"detectionAgentDomain__contains", "array"}, {"incidentStatusesNin", "array"}, {"updatedAt__gt", "string"},
    {"gcpServiceAccount__contains", "array"}, {"k8sNodeName__contains", "array"}, {"classifications", "array"},
    {"ids", "array"}, {"classificationsNin", "array"}, {"confidenceLevels", "array"},
    {"classificationSources", "array"}, {"osArchs", "array"}, {"limit", "number"},
    {"k8sClusterName__contains", "array"}, {"publisherName__contains", "array"},
    {"k8sControllerLabels__contains", "array"}, {"externalTicketId__contains", "array"},
    {"cloudInstanceSize__contains", "array"}, {"cloudInstanceId__contains", "array"},
    {"k8sNamespaceLabels__contains", "array"}, {"noteExists", "boolean"}, {"k8sNodeLabels__contains", "array"},
    {"uuid__contains", "array"}, {"updatedAt__lt", "string"}, {"osNames", "array"},
    {"azureResourceGroup__contains", "array"}, {"confidenceLevelsNin", "array"}, {"createdAt__gt", "string"},
    {"enginesNin", "array"}, {"groupIds", "array"}, {"collectionIds", "array"}, {"k8sPodName__contains", "array"},
    {"accountIds", "array"}, {"analystVerdicts", "array"}, {"k8sControllerName__contains", "array"},
    {"cloudProviderNin", "array"}, {"mitigationStatusesNin", "array"}, {"osTypes", "array"},
    {"detectionEnginesNin", "array"}, {"initiatedByNin", "array"}, {"k8sNamespaceName__contains", "array"},
    {"cloudImage__contains", "array"}, {"query", "string"}, {"containerImageName__contains", "array"},
    {"osTypesNin", "array"}, {"contentHash__contains", "array"}, {"agentMachineTypesNin", "array"},
    {"rebootRequired", "boolean"}, {"commandLineArguments__contains", "array"},
    {"realtimeAgentVersion__contains", "array"}, {"createdAt__lte", "string"},
    {"initiatedByUsername__contains", "array"}, {"failedActions", "boolean"},
    {"containerLabels__contains", "array"}, {"cloudLocation__contains", "array"}, {"mitigationStatuses", "array"},
    {"createdAt__gte", "string"}, {"awsSecurityGroups__contains", "array"}, {"agentIsActive", "boolean"},
    {"engines", "array"}, {"awsRole__contains", "array"}, {"updatedAt__lte", "string"},
    {"containerName__contains", "array"}, {"cloudNetwork__contains", "array"}, {"displayName", "string"},
    {"filePath__contains", "array"}, {"osNamesNin", "array"}, {"analystVerdictsNin", "array"},
    {"incidentStatuses", "array"}, {"countsFor", "string"}, {"externalTicketIds", "array"},
    {"contentHashes", "array"}, {"initiatedBy", "array"}, {"computerName__contains", "array"},
    {"externalTicketExists", "boolean"},
};
// Seed 002 (Update Threat Incident) as the seed writes them: lower case, `__` shown as a space.
const std::vector<seed_field> seed_002{
    {"createdat lt", "string"}, {"createdat gt", "string"}, {"updatedat gt", "string"}, {"updatedat lt", "string"},
    {"ids", "array"}, {"groupids", "array"}, {"siteids", "array"}, {"accountids", "array"},
    {"incidentstatuses", "array"}, {"classificationsources", "array"}, {"classifications", "array"},
    {"agentids", "array"}, {"ostypes", "array"}, {"enginesnin", "array"}, {"ostypesnin", "array"},
    {"containerimagename contains", "array"}, {"k8snodename contains", "array"},
    {"k8snamespacename contains", "array"}, {"analystverdicts", "array"}, {"agentisactive", "boolean"},
    {"agentmachinetypes", "array"}, {"agentmachinetypesnin", "array"}, {"agenttagsdata", "string"},
    {"agentversions", "array"}, {"agentversionsnin", "array"}, {"analystverdictsnin", "array"},
    {"awsrole contains", "array"}, {"awssecuritygroups contains", "array"}, {"awssubnetids contains", "array"},
    {"azureresourcegroup contains", "array"}, {"classificationsnin", "array"},
    {"classificationsourcesnin", "array"}, {"cloudaccount contains", "array"}, {"cloudimage contains", "array"},
    {"cloudinstanceid contains", "array"}, {"cloudinstancesize contains", "array"},
    {"cloudlocation contains", "array"}, {"cloudnetwork contains", "array"}, {"cloudprovider", "array"},
    {"cloudprovidernin", "array"}, {"collectionids", "array"}, {"commandlinearguments contains", "array"},
    {"computername contains", "array"}, {"confidencelevels", "array"}, {"confidencelevelsnin", "array"},
    {"containerlabels contains", "array"}, {"containername contains", "array"}, {"contenthash contains", "array"},
    {"contenthashes", "array"}, {"countsfor", "string"}, {"detectionagentdomain contains", "array"},
    {"detectionagentversion contains", "array"}, {"detectionengines", "array"}, {"detectionenginesnin", "array"},
    {"displayname", "string"}, {"engines", "array"}, {"externalticketexists", "boolean"},
    {"externalticketid contains", "array"}, {"externalticketids", "array"}, {"failedactions", "boolean"},
    {"filepath contains", "array"}, {"gcpserviceaccount contains", "array"}, {"hasagenttags", "boolean"},
    {"initiatedby", "array"}, {"initiatedbynin", "array"}, {"initiatedbyusername contains", "array"},
    {"k8sclustername contains", "array"}, {"k8scontrollerlabels contains", "array"},
    {"k8scontrollername contains", "array"}, {"k8snamespacelabels contains", "array"},
    {"k8snodelabels contains", "array"}, {"k8spodlabels contains", "array"}, {"k8spodname contains", "array"},
    {"limit", "number"}, {"mitigatedpreemptively", "boolean"}, {"mitigationstatuses", "array"},
    {"mitigationstatusesnin", "array"}, {"noteexists", "boolean"}, {"originatedprocess contains", "array"},
    {"osarchs", "array"}, {"osnames", "array"}, {"osnamesnin", "array"}, {"pendingactions", "boolean"},
    {"publishername contains", "array"}, {"query", "string"}, {"realtimeagentversion contains", "array"},
    {"rebootrequired", "boolean"}, {"resolved", "boolean"}, {"storyline contains", "array"},
    {"storylines", "array"}, {"tenant", "boolean"}, {"threatdetails contains", "array"}, {"uuid contains", "array"},
    {"createdat gte", "string"}, {"createdat lte", "string"}, {"updatedat gte", "string"},
    {"updatedat lte", "string"}, {"incidentstatusesnin", "array"},
};
// clang-format on

// The seed's type for a key of the table: times travel as strings.
std::string seed_type(value_type t) {
    switch (t) {
        case value_type::string_list: return "array";
        case value_type::string:
        case value_type::time: return "string";
        case value_type::boolean: return "boolean";
        case value_type::number: return "number";
    }
    return "?";
}

// Seed 002's spelling of a wire name.
std::string seed_002_spelling(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name.substr(i, 2) == "__") {
            out += ' ';
            ++i;
        } else {
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
        }
    }
    return out;
}

std::map<std::string, std::string> table_as(bool seed_002_names, std::uint8_t seed) {
    std::map<std::string, std::string> out;
    for (const auto& k : keys())
        if (k.seeds & seed) out[seed_002_names ? seed_002_spelling(k.name) : std::string(k.name)] = seed_type(k.type);
    return out;
}

std::map<std::string, std::string> as_map(const std::vector<seed_field>& fields) {
    std::map<std::string, std::string> out;
    for (const auto& f : fields) out[f.name] = f.type;
    return out;
}

}  // namespace

TEST(FilterKeys, TableHoldsExactlyTheKeysOfSeed000WithItsTypes) {
    auto seed = as_map(seed_000);
    auto table = table_as(false, seed_mitigate);
    ASSERT_EQ(seed.size(), 96u);
    for (const auto& [name, type] : seed) {
        auto it = table.find(name);
        ASSERT_NE(it, table.end()) << "missing seed 000 key " << name;
        EXPECT_EQ(it->second, type) << name;
    }
    for (const auto& [name, type] : table) EXPECT_TRUE(seed.contains(name)) << "key not in seed 000: " << name;
}

TEST(FilterKeys, TableHoldsExactlyTheKeysOfSeed002WithItsTypes) {
    auto seed = as_map(seed_002);
    auto table = table_as(true, seed_incident);
    ASSERT_EQ(seed.size(), 98u);
    for (const auto& [name, type] : seed) {
        auto it = table.find(name);
        ASSERT_NE(it, table.end()) << "missing seed 002 key " << name;
        EXPECT_EQ(it->second, type) << name;
    }
    for (const auto& [name, type] : table) EXPECT_TRUE(seed.contains(name)) << "key not in seed 002: " << name;
}

TEST(FilterKeys, EveryKeyComesFromASeedAndOnlySeed002AddsTags) {
    EXPECT_EQ(keys().size(), 98u);
    for (const auto& k : keys()) {
        bool only_002 = k.name == "agentTagsData" || k.name == "hasAgentTags";
        EXPECT_EQ(k.seeds, only_002 ? seed_incident : seed_both) << k.name;
        EXPECT_FALSE(k.description.empty()) << k.name;
    }
}
