// Agents carry actions out after the console accepted them: pending entries, disconnecting
// agents, offline agents that wait, failed mitigations, and what filters see. Time moves on an
// injected clock, so nothing here sleeps.

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sim_fixture.hpp"

using namespace s1sim::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string api = "/web/api/v2.1";
const auto start = *s1pilot::core::parse_timestamp("2024-05-01T00:00:00Z");

std::string time_at(std::chrono::microseconds since_start) {
    return s1pilot::core::format_timestamp(start + since_start);
}

struct agent_options {
    std::chrono::milliseconds delay{0};
    double offline = 0;
    double failed = 0;
    std::string dataset{};  // empty: a generated dataset
};

class Agents : public ::testing::Test {
protected:
    void start_sim(const agent_options& a) {
        auto o = test_options(400);
        clock_ = std::make_shared<test_clock>(start);
        o.clock = clock_;
        o.agent_delay = a.delay;
        o.agents_offline = a.offline;
        o.faults.mitigation_failed = a.failed;
        o.dataset_file = a.dataset;
        sim_ = std::make_unique<running_sim>(o);
        client_ = sim_->client();
    }

    json::object threat(const std::string& id) {
        auto list = dumped(*client_, "ids=" + id);
        EXPECT_EQ(list.size(), 1u) << id;
        return list.empty() ? json::object{} : list.at(0).as_object();
    }
    json::object last_entry(const std::string& id) {
        auto t = threat(id);
        const auto& entries = t.at("mitigationStatus").as_array();
        EXPECT_FALSE(entries.empty()) << id;
        return entries.empty() ? json::object{} : entries.back().as_object();
    }
    json::value info(const std::string& id, const char* field) { return threat(id).at("threatInfo").at(field); }
    json::value realtime(const std::string& id, const char* field) {
        return threat(id).at("agentRealtimeInfo").at(field);
    }
    std::string agent_of(const std::string& id) { return std::string(realtime(id, "agentId").as_string()); }
    std::vector<std::string> pick(const std::string& query, std::size_t n) {
        auto ids = all_ids(*client_, query, 1000);
        EXPECT_GE(ids.size(), n) << query;
        ids.resize(std::min(n, ids.size()));
        return ids;
    }
    std::int64_t act(const std::string& path, const std::string& filter) {
        auto r = client_->post(api + path, R"({"filter":)" + filter + R"(,"data":{}})");
        EXPECT_EQ(r.status, 200) << path << " " << r.body;
        return r.status == 200 ? r.json().at("data").at("affected").as_int64() : -1;
    }
    std::int64_t kill(const std::vector<std::string>& ids) {
        json::array a;
        for (const auto& id : ids) a.emplace_back(id);
        return act("/threats/mitigate/kill", R"({"ids":)" + json::serialize(a) + "}");
    }
    std::int64_t agent_command(const char* command, const std::string& agent) {
        return act(std::string("/agents/actions/") + command, R"({"ids":[")" + agent + R"("]})");
    }
    client_response set_agent(const std::string& agent, const char* state) {
        return client_->post("/_sim/agents/" + agent + "/" + state, "");
    }
    std::size_t count(const std::string& query) { return all_ids(*client_, query, 1000).size(); }

    std::shared_ptr<test_clock> clock_;
    std::unique_ptr<running_sim> sim_;
    std::unique_ptr<https_client> client_;
};

}  // namespace

TEST_F(Agents, AMitigationIsPendingUntilTheDelayThenSucceeds) {
    start_sim({.delay = 2s});
    auto id = pick("mitigationStatuses=not_mitigated&agentIsActive=true", 1).at(0);
    ASSERT_EQ(kill({id}), 1);  // accepted by the console: counted at once

    auto entry = last_entry(id);
    EXPECT_EQ(entry.at("action"), "kill");
    EXPECT_EQ(entry.at("status"), "pending");
    EXPECT_EQ(entry.at("mitigationStartedAt"), time_at(0s).c_str());
    EXPECT_TRUE(entry.at("mitigationEndedAt").is_null());
    EXPECT_EQ(entry.at("actionsCounters").at("success").as_int64(), 0);
    EXPECT_EQ(entry.at("actionsCounters").at("failed").as_int64(), 0);
    EXPECT_EQ(info(id, "mitigationStatus"), "not_mitigated");  // the agent has not killed anything yet
    EXPECT_EQ(info(id, "pendingActions"), true);

    clock_->advance(1999ms);
    EXPECT_EQ(last_entry(id).at("status"), "pending");

    clock_->advance(1ms);
    entry = last_entry(id);
    EXPECT_EQ(entry.at("status"), "success");
    EXPECT_EQ(entry.at("mitigationStartedAt"), time_at(0s).c_str());
    EXPECT_EQ(entry.at("mitigationEndedAt"), time_at(2s).c_str());
    EXPECT_EQ(entry.at("lastUpdate"), time_at(2s).c_str());
    EXPECT_EQ(entry.at("actionsCounters").at("success").as_int64(), 1);
    EXPECT_EQ(info(id, "mitigationStatus"), "mitigated");
    EXPECT_EQ(info(id, "pendingActions"), false);
    EXPECT_EQ(info(id, "failedActions"), false);
    EXPECT_EQ(info(id, "updatedAt"), time_at(2s).c_str());  // updatedAt polling sees the outcome
}

TEST_F(Agents, AnOfflineAgentKeepsItPendingUntilItComesBackThenTheDelayRuns) {
    start_sim({.delay = 2s, .offline = 0.3});
    auto id = pick("mitigationStatuses=not_mitigated&agentIsActive=false", 1).at(0);
    const auto agent = agent_of(id);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "connected");  // offline is not isolated
    ASSERT_EQ(kill({id}), 1);

    clock_->advance(1h);
    EXPECT_EQ(last_entry(id).at("status"), "pending");
    EXPECT_EQ(info(id, "pendingActions"), true);
    EXPECT_EQ(info(id, "mitigationStatus"), "not_mitigated");

    auto r = set_agent(agent, "online");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("agentIsActive"), true);
    EXPECT_EQ(realtime(id, "agentIsActive"), true);
    clock_->advance(1999ms);
    EXPECT_EQ(last_entry(id).at("status"), "pending");  // the delay runs from its return
    clock_->advance(1ms);
    auto entry = last_entry(id);
    EXPECT_EQ(entry.at("status"), "success");
    EXPECT_EQ(entry.at("mitigationStartedAt"), time_at(0s).c_str());
    EXPECT_EQ(entry.at("mitigationEndedAt"), time_at(1h + 2s).c_str());
    EXPECT_EQ(info(id, "mitigationStatus"), "mitigated");
    EXPECT_EQ(info(id, "pendingActions"), false);
}

TEST_F(Agents, TakingAnAgentOfflineHoldsWhatItWasSent) {
    start_sim({.delay = 2s});
    auto id = pick("mitigationStatuses=not_mitigated&agentIsActive=true", 1).at(0);
    const auto agent = agent_of(id);
    ASSERT_EQ(kill({id}), 1);
    clock_->advance(1s);
    ASSERT_EQ(set_agent(agent, "offline").status, 200);
    EXPECT_EQ(realtime(id, "agentIsActive"), false);
    clock_->advance(10s);
    EXPECT_EQ(last_entry(id).at("status"), "pending");
    ASSERT_EQ(set_agent(agent, "online").status, 200);
    clock_->advance(2s);
    EXPECT_EQ(last_entry(id).at("status"), "success");
    EXPECT_EQ(last_entry(id).at("mitigationEndedAt"), time_at(13s).c_str());
}

TEST_F(Agents, OfflineAgentsAreADeterministicFractionAndOnlyThoseAreInactive) {
    auto inactive_agents = [&](const agent_options& a) {
        start_sim(a);
        std::set<std::string> agents;
        for (const auto& t : dumped(*client_))
            if (t.at("agentRealtimeInfo").at("agentIsActive") == false)
                agents.insert(std::string(t.at("agentRealtimeInfo").at("agentId").as_string()));
        return agents;
    };
    auto first = inactive_agents({.offline = 0.2});
    auto again = inactive_agents({.offline = 0.2});
    EXPECT_EQ(first, again);
    const auto all_agents = static_cast<std::size_t>(client_->get("/_sim/stats").json().at("agents").as_int64());
    EXPECT_GE(first.size(), all_agents / 10) << all_agents;
    EXPECT_LE(first.size(), all_agents * 3 / 10) << all_agents;
    EXPECT_EQ(inactive_agents({.offline = 1.0}).size(), all_agents);
}

TEST_F(Agents, MitigationFailedEndsEntriesFailedAndSetsFailedActions) {
    start_sim({.delay = 2s, .failed = 1.0});
    auto id = pick("mitigationStatuses=not_mitigated&agentIsActive=true", 1).at(0);
    ASSERT_EQ(kill({id}), 1);
    EXPECT_EQ(last_entry(id).at("status"), "pending");
    EXPECT_EQ(info(id, "failedActions"), false);
    clock_->advance(2s);
    auto entry = last_entry(id);
    EXPECT_EQ(entry.at("status"), "failed");
    EXPECT_EQ(entry.at("actionsCounters").at("failed").as_int64(), 1);
    EXPECT_EQ(entry.at("actionsCounters").at("success").as_int64(), 0);
    EXPECT_EQ(entry.at("mitigationEndedAt"), time_at(2s).c_str());
    EXPECT_EQ(info(id, "failedActions"), true);
    EXPECT_EQ(info(id, "pendingActions"), false);
    EXPECT_EQ(info(id, "mitigationStatus"), "not_mitigated");  // nothing was killed
}

TEST_F(Agents, MitigationFailedAppliesWithoutADelayToo) {
    start_sim({});
    ASSERT_EQ(client_->put("/_sim/faults", R"({"mitigation_failed":1})").status, 200);
    EXPECT_EQ(client_->get("/_sim/faults").json().at("mitigation_failed").to_number<double>(), 1.0);
    auto id = pick("mitigationStatuses=not_mitigated", 1).at(0);
    ASSERT_EQ(kill({id}), 1);
    EXPECT_EQ(last_entry(id).at("status"), "failed");
    EXPECT_EQ(info(id, "failedActions"), true);
    EXPECT_EQ(count("failedActions=true&ids=" + id), 1u);
}

TEST_F(Agents, AnIsolationIsDisconnectingUntilTheAgentHasDoneIt) {
    start_sim({.delay = 2s});
    auto id = pick("agentIsActive=true", 1).at(0);
    const auto agent = agent_of(id);
    ASSERT_EQ(agent_command("disconnect", agent), 1);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnecting");
    clock_->advance(2s);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnected");

    ASSERT_EQ(agent_command("connect", agent), 1);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "connecting");
    clock_->advance(2s);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "connected");

    // network-quarantine is a mitigation that isolates: both settle together.
    ASSERT_EQ(act("/threats/mitigate/network-quarantine", R"({"ids":[")" + id + R"("]})"), 1);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnecting");
    EXPECT_EQ(last_entry(id).at("status"), "pending");
    clock_->advance(2s);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnected");
    EXPECT_EQ(last_entry(id).at("status"), "success");
}

TEST_F(Agents, AnOfflineAgentStaysDisconnectingUntilItComesBack) {
    start_sim({.delay = 2s, .offline = 0.3});
    auto id = pick("agentIsActive=false", 1).at(0);
    const auto agent = agent_of(id);
    ASSERT_EQ(agent_command("disconnect", agent), 1);
    clock_->advance(1h);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnecting");
    ASSERT_EQ(set_agent(agent, "online").status, 200);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnecting");
    clock_->advance(2s);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnected");
}

TEST_F(Agents, WithoutADelayEverythingIsDoneAtOnceAsBefore) {
    start_sim({});
    auto id = pick("mitigationStatuses=not_mitigated", 1).at(0);
    const auto pending_before = info(id, "pendingActions"), failed_before = info(id, "failedActions");
    clock_->advance(5s);
    ASSERT_EQ(kill({id}), 1);
    auto entry = last_entry(id);
    EXPECT_EQ(entry.at("status"), "success");
    for (const char* field : {"lastUpdate", "mitigationStartedAt", "mitigationEndedAt"})
        EXPECT_EQ(entry.at(field), time_at(5s).c_str()) << field;
    EXPECT_EQ(info(id, "mitigationStatus"), "mitigated");
    // The generated threat's flags are its own: an immediate success leaves them as they were.
    EXPECT_EQ(info(id, "pendingActions"), pending_before);
    EXPECT_EQ(info(id, "failedActions"), failed_before);
    ASSERT_EQ(agent_command("disconnect", agent_of(id)), 1);
    EXPECT_EQ(realtime(id, "agentNetworkStatus"), "disconnected");
}

TEST_F(Agents, FiltersSeeTheSettledStateOnTheFirstReadAfterTheDelay) {
    start_sim({.delay = 2s});
    auto ids = pick("mitigationStatuses=not_mitigated&agentIsActive=true", 3);
    ASSERT_EQ(kill(ids), 3);
    const std::string by_ids = "ids=" + ids[0] + "," + ids[1] + "," + ids[2];
    EXPECT_EQ(count(by_ids + "&mitigationStatuses=mitigated"), 0u);
    EXPECT_EQ(count(by_ids + "&pendingActions=true"), 3u);

    clock_->advance(2s);
    // No read in between: the listing itself settles what came due before it filters.
    EXPECT_EQ(count(by_ids + "&mitigationStatuses=mitigated"), 3u);
    EXPECT_EQ(count(by_ids + "&pendingActions=true"), 0u);
    EXPECT_EQ(count(by_ids + "&failedActions=false"), 3u);
    auto counted =
        client_->get(std::string(threats_path) + "?" + by_ids + "&mitigationStatuses=mitigated&countOnly=true");
    EXPECT_EQ(counted.json().at("pagination").at("totalItems").as_int64(), 3);
}

TEST_F(Agents, TheAgentRoutesNameTheirErrors) {
    start_sim({});
    auto r = set_agent("42", "online");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.json().at("errors").at(0).at("detail"), "no agent 42");
    auto agent = agent_of(pick("", 1).at(0));
    EXPECT_EQ(set_agent(agent, "sideways").status, 404);
    EXPECT_EQ(client_->get("/_sim/agents/" + agent + "/online").status, 405);
    EXPECT_EQ(client_->request("POST", "/_sim/agents/" + agent + "/online", "", "-").status, 401);
}

TEST_F(Agents, ResetRestoresOfflineAgentsFaultsAndForgetsPendingWork) {
    start_sim({.delay = 2s, .offline = 0.3});
    auto id = pick("mitigationStatuses=not_mitigated&agentIsActive=false", 1).at(0);
    const auto agent = agent_of(id);
    ASSERT_EQ(set_agent(agent, "online").status, 200);
    ASSERT_EQ(client_->put("/_sim/faults", R"({"mitigation_failed":1})").status, 200);
    ASSERT_EQ(kill({id}), 1);
    EXPECT_EQ(last_entry(id).at("status"), "pending");

    ASSERT_EQ(client_->post("/_sim/reset", "").status, 200);
    EXPECT_EQ(realtime(id, "agentIsActive"), false);
    EXPECT_TRUE(threat(id).at("mitigationStatus").as_array().empty());
    EXPECT_EQ(client_->get("/_sim/faults").json().at("mitigation_failed").to_number<double>(), 0.0);
    clock_->advance(1h);
    EXPECT_TRUE(threat(id).at("mitigationStatus").as_array().empty());  // the old task is gone
    EXPECT_EQ(info(id, "mitigationStatus"), "not_mitigated");
}

TEST_F(Agents, ALoadedAgentTakenOfflineChangesOnlyAgentIsActive) {
    start_sim({.offline = 1.0, .dataset = S1PILOT_TEST_DATA "/threat-page.json"});
    std::ifstream in(S1PILOT_TEST_DATA "/threat-page.json");
    std::stringstream text;
    text << in.rdbuf();
    auto page = json::parse(text.str()).at("data").as_array();
    ASSERT_FALSE(page.empty());
    for (auto& t : page) t.at("agentRealtimeInfo").as_object()["agentIsActive"] = false;
    EXPECT_EQ(dumped(*client_), page);

    const std::string id(page.at(0).at("id").as_string());
    ASSERT_EQ(kill({id}), 1);
    EXPECT_EQ(last_entry(id).at("status"), "pending");  // offline: even a zero delay waits
    ASSERT_EQ(set_agent(agent_of(id), "online").status, 200);
    EXPECT_EQ(last_entry(id).at("status"), "success");
}

TEST(AgentFaults, MitigationFailedParsesLikeEveryFault) {
    std::string error;
    EXPECT_FALSE(s1sim::parse_faults("mitigation_failed=1.5", error));
    EXPECT_EQ(error, "faults: mitigation_failed must be a probability between 0 and 1 (got '1.5')");
    auto config = s1sim::parse_faults("mitigation_failed=0.25,seed=5", error);
    ASSERT_TRUE(config);
    EXPECT_DOUBLE_EQ(config->mitigation_failed, 0.25);
    // Not a request fault: requests draw nothing for it, so other faults' sequences are unchanged.
    EXPECT_FALSE(config->any());
    s1sim::rng a(config->seed), b(config->seed);
    int failed = 0;
    for (int i = 0; i < 1000; ++i) {
        const bool x = s1sim::draw_mitigation_failed(*config, a);
        EXPECT_EQ(x, s1sim::draw_mitigation_failed(*config, b));
        failed += x;
    }
    EXPECT_GT(failed, 180);
    EXPECT_LT(failed, 320);
}
