// The action endpoints over HTTPS: each one's effect on the threats and its `affected` count.

#include <gtest/gtest.h>

#include "sim_fixture.hpp"

using namespace s1sim::test;
namespace json = boost::json;

namespace {

const std::string api = "/web/api/v2.1";

class Actions : public ::testing::Test {
protected:
    Actions() : sim_(test_options(200)), client_(sim_.client()) {}

    json::object threat(const std::string& id) {
        auto list = dumped(*client_, "ids=" + id);
        EXPECT_EQ(list.size(), 1u) << id;
        return list.empty() ? json::object{} : list.at(0).as_object();
    }
    std::string info(const std::string& id, const char* field) {
        auto t = threat(id);
        const auto& v = t.at("threatInfo").at(field);
        return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
    }
    // The first `n` threat ids a query selects.
    std::vector<std::string> pick(const std::string& query, std::size_t n) {
        auto ids = all_ids(*client_, query, 1000);
        EXPECT_GE(ids.size(), n) << query;
        ids.resize(std::min(n, ids.size()));
        return ids;
    }
    client_response act(const std::string& path, const std::string& filter, const std::string& data = "{}") {
        return client_->post(api + path, R"({"filter":)" + filter + R"(,"data":)" + data + "}");
    }
    static std::string ids_filter(const std::vector<std::string>& ids) {
        json::array a;
        for (const auto& id : ids) a.emplace_back(id);
        return R"({"ids":)" + json::serialize(a) + "}";
    }
    static std::int64_t affected(const client_response& r) {
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? r.json().at("data").at("affected").as_int64() : -1;
    }

    running_sim sim_;
    std::unique_ptr<https_client> client_;
};

}  // namespace

TEST_F(Actions, KillMitigatesAppendsAnEntryAndBumpsUpdatedAt) {
    auto ids = pick("mitigationStatuses=not_mitigated", 3);
    auto before = info(ids[0], "updatedAt");
    auto r = act("/threats/mitigate/kill", ids_filter(ids));
    EXPECT_EQ(affected(r), 3);
    EXPECT_EQ(r.json().at("data").at("details").as_array().size(), 3u);
    for (const auto& id : ids) {
        auto t = threat(id);
        EXPECT_EQ(t.at("threatInfo").at("mitigationStatus"), "mitigated");
        EXPECT_EQ(t.at("mitigationStatus").as_array().back().at("action"), "kill");
        EXPECT_EQ(t.at("mitigationStatus").as_array().back().at("status"), "success");
    }
    EXPECT_GT(info(ids[0], "updatedAt"), before);
    EXPECT_EQ(all_ids(*client_, "mitigationStatuses=not_mitigated&ids=" + ids[0] + "," + ids[1]).size(), 0u);
}

TEST_F(Actions, EachMitigationWritesItsUnderscoreName) {
    const std::pair<const char*, const char*> cases[] = {{"quarantine", "quarantine"},
                                                         {"un-quarantine", "unquarantine"},
                                                         {"network-quarantine", "network_quarantine"},
                                                         {"remediate", "remediate"},
                                                         {"rollback-remediation", "rollback"}};
    auto id = pick("osTypes=windows", 1).at(0);
    for (auto [action, entry] : cases) {
        EXPECT_EQ(affected(act(std::string("/threats/mitigate/") + action, ids_filter({id}))), 1) << action;
        EXPECT_EQ(threat(id).at("mitigationStatus").as_array().back().at("action"), entry) << action;
    }
    // Network quarantine isolates the agent.
    EXPECT_EQ(threat(id).at("agentRealtimeInfo").at("agentNetworkStatus"), "disconnected");
    EXPECT_EQ(act("/threats/mitigate/explode", ids_filter({id})).status, 400);
}

TEST_F(Actions, PlatformLimitsAreSkippedAsNotSupported) {
    auto linux_id = pick("osTypes=linux", 1).at(0), mac_id = pick("osTypes=macos", 1).at(0);
    auto r = act("/threats/mitigate/remediate", ids_filter({linux_id, mac_id}));
    EXPECT_EQ(affected(r), 1);  // macOS can remediate, Linux cannot
    auto body = r.json();
    for (const auto& d : body.at("data").at("details").as_array()) {
        bool is_linux = d.at("threatId") == linux_id.c_str();
        EXPECT_EQ(d.at("skipped").as_array().size(), is_linux ? 1u : 0u);
        if (is_linux) {
            EXPECT_EQ(d.at("skipped").at(0).at("reason"), "not_supported");
        }
    }
    auto entries = threat(mac_id).at("mitigationStatus").as_array().size();
    auto rollback = act("/threats/mitigate/rollback-remediation", ids_filter({mac_id}));
    EXPECT_EQ(affected(rollback), 0);  // Windows only
    EXPECT_EQ(threat(mac_id).at("mitigationStatus").as_array().size(), entries);
}

TEST_F(Actions, IncidentUpdatesOnceThenReportsAlreadySet) {
    auto ids = pick("incidentStatuses=unresolved", 4);
    auto data = R"({"incidentStatus":"in_progress","analystVerdict":"true_positive"})";
    auto r = act("/threats/incident", ids_filter(ids), data);
    EXPECT_EQ(affected(r), 4);
    auto body = r.json();
    for (const auto& d : body.at("data").at("details").as_array()) {
        EXPECT_EQ(d.at("result"), "updated");
        EXPECT_EQ(d.at("analystVerdict"), "true_positive");
    }
    EXPECT_EQ(info(ids[0], "incidentStatus"), "in_progress");
    EXPECT_EQ(info(ids[0], "analystVerdict"), "true_positive");
    auto again = act("/threats/incident", ids_filter(ids), data);
    EXPECT_EQ(affected(again), 0);
    EXPECT_EQ(again.json().at("data").at("details").at(0).at("result"), "already_set");
    EXPECT_EQ(act("/threats/incident", ids_filter(ids), "{}").status, 400);
    EXPECT_EQ(act("/threats/incident", ids_filter(ids), R"({"incidentStatus":"done"})").status, 400);
    EXPECT_EQ(
        act("/threats/incident", ids_filter(ids), R"({"incidentStatus":"resolved","analystVerdict":"meh"})").status,
        400);
}

TEST_F(Actions, AnalystVerdictCountsOnlyChanges) {
    auto ids = pick("analystVerdicts=undefined", 3);
    EXPECT_EQ(affected(act("/threats/analyst-verdict", ids_filter(ids), R"({"analystVerdict":"false_positive"})")), 3);
    auto again = act("/threats/analyst-verdict", ids_filter(ids), R"({"analystVerdict":"false_positive"})");
    EXPECT_EQ(affected(again), 0);
    EXPECT_EQ(again.json().at("data").at("details").at(0).at("result"), "not_changed");
    EXPECT_EQ(act("/threats/analyst-verdict", ids_filter(ids), "{}").status, 400);
}

TEST_F(Actions, NotesAreStoredListedAndFilterable) {
    auto ids = pick("noteExists=false", 2);
    EXPECT_EQ(affected(act("/threats/notes", ids_filter(ids), R"({"text":"Contained by s1pilot"})")), 2);
    auto notes = client_->get(api + "/threats/" + ids[0] + "/notes");
    ASSERT_EQ(notes.status, 200);
    EXPECT_EQ(notes.json().at("data").at(0).at("text"), "Contained by s1pilot");
    EXPECT_EQ(notes.json().at("pagination").at("totalItems").as_int64(), 1);
    auto with_notes = all_ids(*client_, "noteExists=true");
    EXPECT_EQ(with_notes.size(), 2u);
    EXPECT_EQ(client_->get(api + "/threats/123/notes").status, 404);
    EXPECT_EQ(act("/threats/notes", ids_filter(ids), R"({"text":""})").status, 400);
}

TEST_F(Actions, ExternalTicketIsSetOnceAndSelectable) {
    auto ids = pick("externalTicketExists=false", 2);
    EXPECT_EQ(affected(act("/threats/external-ticket-id", ids_filter(ids), R"({"externalTicketId":"SOC-77"})")), 2);
    EXPECT_EQ(affected(act("/threats/external-ticket-id", ids_filter(ids), R"({"externalTicketId":"SOC-77"})")), 0);
    EXPECT_EQ(all_ids(*client_, "externalTicketIds=SOC-77").size(), 2u);
    EXPECT_EQ(info(ids[0], "externalTicketExists"), "true");
}

TEST_F(Actions, AgentsDisconnectAndConnect) {
    auto t = threat(pick("osTypes=windows", 1).at(0));
    std::string agent(t.at("agentRealtimeInfo").at("agentId").as_string());
    std::string id(t.at("id").as_string());
    EXPECT_EQ(affected(client_->post(api + "/agents/actions/disconnect",
                                     R"({"filter":{"ids":[")" + agent + R"("]},"data":{}})")),
              1);
    EXPECT_EQ(threat(id).at("agentRealtimeInfo").at("agentNetworkStatus"), "disconnected");
    EXPECT_EQ(affected(client_->post(api + "/agents/actions/connect", R"({"filter":{"ids":")" + agent + R"("}})")), 1);
    EXPECT_EQ(threat(id).at("agentRealtimeInfo").at("agentNetworkStatus"), "connected");
}

TEST_F(Actions, FilterLimitCapsTheThreatsAffected) {
    EXPECT_EQ(affected(act("/threats/mitigate/kill", R"({"siteIds":["1364475734565842019"],"limit":2})")), 2);
}

TEST_F(Actions, IdsAsAStringAndTenantAsTextAreAccepted) {
    auto ids = pick("analystVerdicts=undefined", 2);
    EXPECT_EQ(affected(act("/threats/analyst-verdict", R"({"ids":")" + ids[0] + "," + ids[1] + R"(","tenant":"true"})",
                           R"({"analystVerdict":"suspicious"})")),
              2);
}

TEST_F(Actions, AnEmptyFilterSelectsEverythingUnlessStrict) {
    EXPECT_EQ(affected(act("/threats/notes", "{}", R"({"text":"all of them"})")), 200);
    auto options = test_options(20);
    options.strict_filters = true;
    running_sim strict(options);
    auto client = strict.client();
    auto r = client->post(api + "/threats/notes", R"({"filter":{},"data":{"text":"x"}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("empty"), std::string::npos);
    EXPECT_EQ(client->post(api + "/agents/actions/disconnect", R"({"filter":{},"data":{}})").status, 400);
}

TEST_F(Actions, MalformedBodiesAreValidationErrors) {
    EXPECT_EQ(client_->post(api + "/threats/notes", "not json").status, 400);
    EXPECT_EQ(client_->post(api + "/threats/notes", R"({"data":{"text":"x"}})").status, 400);
    auto r = act("/threats/notes", R"({"siteIdz":["1"]})", R"({"text":"x"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("siteIdz"), std::string::npos);
}
