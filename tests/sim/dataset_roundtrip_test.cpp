// A loaded dataset round-trips (DESIGN §8): every field of a loaded threat, modelled or not, is
// served back unchanged apart from the effects of actions, so that a recorded production page
// can be replayed and diffed.

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sim_fixture.hpp"

using namespace s1sim::test;
namespace json = boost::json;

namespace {

const std::string api = "/web/api/v2.1";

json::array example_page() {
    std::ifstream in(S1PILOT_TEST_DATA "/threat-page.json");  // reference/example-threat-page.json
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str()).at("data").as_array();
}

std::string ids_of_page(const json::array& threats) {
    std::string ids;
    for (const auto& t : threats) ids += (ids.empty() ? "" : ",") + std::string(t.at("id").as_string());
    return ids;
}

// Where two JSON values differ, as paths (`threatInfo.updatedAt`, `mitigationStatus[2]`).
void differences(const json::value& a, const json::value& b, const std::string& path, std::set<std::string>& out) {
    if (a == b) return;
    if (a.is_object() && b.is_object()) {
        for (const auto& [key, value] : a.get_object()) {
            const auto* other = b.get_object().if_contains(key);
            const auto child = path.empty() ? std::string(key) : path + "." + std::string(key);
            if (other == nullptr)
                out.insert(child);
            else
                differences(value, *other, child, out);
        }
        for (const auto& [key, value] : b.get_object())
            if (!a.get_object().contains(key))
                out.insert(path.empty() ? std::string(key) : path + "." + std::string(key));
        return;
    }
    if (a.is_array() && b.is_array()) {
        const auto& x = a.get_array();
        const auto& y = b.get_array();
        for (std::size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
            const auto child = path + "[" + std::to_string(i) + "]";
            if (i >= x.size() || i >= y.size())
                out.insert(child);
            else
                differences(x[i], y[i], child, out);
        }
        return;
    }
    out.insert(path);
}

class LoadedDataset : public ::testing::Test {
protected:
    LoadedDataset() : sim_(options()), client_(sim_.client()), page_(example_page()) {}

    static s1sim::simulator_options options() {
        auto o = test_options();
        o.dataset_file = S1PILOT_TEST_DATA "/threat-page.json";
        return o;
    }
    json::array served(const std::string& ids) {
        auto r = client_->get(std::string(threats_path) + "?ids=" + ids + "&limit=1000");
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? r.json().at("data").as_array() : json::array{};
    }
    std::set<std::string> changed_since_loaded(std::size_t i) {
        std::set<std::string> out;
        auto now = served(std::string(page_.at(i).at("id").as_string()));
        EXPECT_EQ(now.size(), 1u);
        if (!now.empty()) differences(page_.at(i), now.at(0), "", out);
        return out;
    }
    void act(const std::string& path, const std::string& filter, const std::string& data = "{}") {
        auto r = client_->post(api + path, R"({"filter":)" + filter + R"(,"data":)" + data + "}");
        ASSERT_EQ(r.status, 200) << r.body;
        ASSERT_EQ(r.json().at("data").at("affected").as_int64(), 1) << path;
    }

    running_sim sim_;
    std::unique_ptr<https_client> client_;
    json::array page_;
};

}  // namespace

TEST_F(LoadedDataset, TheReferenceExamplePageComesBackEqualAsJson) {
    ASSERT_FALSE(page_.empty());
    EXPECT_EQ(served(ids_of_page(page_)), page_);
    // The admin dump serves the same objects.
    EXPECT_EQ(dumped(*client_, "ids=" + ids_of_page(page_)), page_);
}

TEST_F(LoadedDataset, AfterActionsOnlyTheirFieldsDiffer) {
    const std::string id(page_.at(0).at("id").as_string());
    const std::string agent(page_.at(0).at("agentRealtimeInfo").at("agentId").as_string());
    const std::string by_id = R"({"ids":[")" + id + R"("]})";

    act("/threats/incident", by_id, R"({"incidentStatus":"in_progress","analystVerdict":"true_positive"})");
    EXPECT_EQ(changed_since_loaded(0),
              (std::set<std::string>{"threatInfo.incidentStatus", "threatInfo.incidentStatusDescription",
                                     "threatInfo.analystVerdict", "threatInfo.analystVerdictDescription",
                                     "threatInfo.updatedAt"}));
    auto served_now = served(id).at(0);
    EXPECT_EQ(served_now.at("threatInfo").at("incidentStatus"), "in_progress");
    EXPECT_EQ(served_now.at("threatInfo").at("analystVerdict"), "true_positive");

    // A mitigation adds one entry; the two recorded entries keep every field they had.
    act("/threats/mitigate/kill", by_id);
    auto after_kill = changed_since_loaded(0);
    EXPECT_EQ(after_kill.count("mitigationStatus[2]"), 1u);
    EXPECT_EQ(after_kill.count("mitigationStatus[0]") + after_kill.count("mitigationStatus[1]"), 0u);
    served_now = served(id).at(0);
    EXPECT_EQ(served_now.at("mitigationStatus").at(2).at("action"), "kill");
    EXPECT_EQ(served_now.at("mitigationStatus").at(0), page_.at(0).at("mitigationStatus").at(0));

    act("/agents/actions/disconnect", R"({"ids":[")" + agent + R"("]})");
    // The agent's fields the recording lacks (agentOsArch) stay absent: only the action's show.
    EXPECT_EQ(changed_since_loaded(0).count("agentRealtimeInfo.agentNetworkStatus"), 1u);
    EXPECT_EQ(served(id).at(0).at("agentRealtimeInfo").at("agentNetworkStatus"), "disconnected");
    EXPECT_EQ(
        changed_since_loaded(0),
        (std::set<std::string>{"threatInfo.incidentStatus", "threatInfo.incidentStatusDescription",
                               "threatInfo.analystVerdict", "threatInfo.analystVerdictDescription",
                               "threatInfo.updatedAt", "mitigationStatus[2]", "agentRealtimeInfo.agentNetworkStatus"}));
}

TEST_F(LoadedDataset, UnmodelledFieldsOfPostedThreatsRoundTripToo) {
    // A second recording of the same endpoint, with fields a newer console might add.
    json::object threat = page_.at(0).as_object();
    threat["id"] = "1596270471532451399";
    threat["threatInfo"].as_object()["threatId"] = "1596270471532451399";
    threat["threatInfo"].as_object()["cloudVerdictDetails"] = json::parse(R"({"verdict":"black","sources":[1,2.5]})");
    threat["ecsInfo"] = json::parse(R"({"clusterName":"prod","taskArn":null,"tags":["a","b"]})");
    threat["agentRealtimeInfo"].as_object()["agentNetworkStatus"] = "connecting";  // the agent's newer state
    json::array batch{threat};
    auto r = client_->post("/_sim/threats", json::serialize(batch));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(served("1596270471532451399"), batch);
    // The recorded threats of that agent show its newer state too: it is one agent.
    EXPECT_EQ(changed_since_loaded(0), std::set<std::string>{"agentRealtimeInfo.agentNetworkStatus"});

    act("/threats/external-ticket-id", R"({"ids":["1596270471532451399"]})", R"({"externalTicketId":"SOC-7"})");
    std::set<std::string> changed;
    differences(batch.at(0), served("1596270471532451399").at(0), "", changed);
    EXPECT_EQ(changed, (std::set<std::string>{"threatInfo.externalTicketId", "threatInfo.externalTicketExists",
                                              "threatInfo.updatedAt"}));
}

TEST_F(LoadedDataset, APartialThreatComesBackAsGivenPlusTheEffectsOfActions) {
    auto given = json::parse(R"({"id":"1700000000000000042","threatInfo":{"classification":"Ransomware",)"
                             R"("confidenceLevel":"malicious","vendorField":[{"x":1}]},)"
                             R"("agentRealtimeInfo":{"agentId":"1700000000000000099","agentOsType":"linux",)"
                             R"("siteId":"1364475734565842019"}})");
    auto r = client_->post("/_sim/threats", json::serialize(given));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(served("1700000000000000042"), json::array{given});

    // Fields it lacked appear once an action sets them; the rest stay as given.
    act("/threats/mitigate/kill", R"({"ids":["1700000000000000042"]})");
    auto back = served("1700000000000000042");
    ASSERT_EQ(back.size(), 1u);
    std::set<std::string> changed;
    differences(given, back.at(0), "", changed);
    EXPECT_EQ(changed, (std::set<std::string>{"mitigationStatus", "threatInfo.mitigationStatus",
                                              "threatInfo.mitigationStatusDescription", "threatInfo.updatedAt"}));
    EXPECT_EQ(back.at(0).at("threatInfo").at("mitigationStatus"), "mitigated");
    EXPECT_EQ(back.at(0).at("mitigationStatus").at(0).at("action"), "kill");
}
