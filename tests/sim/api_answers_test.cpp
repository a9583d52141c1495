// `--answers detailed|minimal`: what an action's answer says. Minimal answers a mitigation with
// `{"data":{"affected":N}}` alone, as the console's recorded answer in seed 000 does; incident
// and verdict keep the details seed 002 lists. The threats change the same way in both.

#include <gtest/gtest.h>

#include <set>

#include "sim_fixture.hpp"

using namespace s1sim::test;
using s1sim::answer_style;
namespace json = boost::json;

namespace {

const std::string api = "/web/api/v2.1";

class Answers : public ::testing::TestWithParam<answer_style> {
protected:
    Answers() : sim_(options()), client_(sim_.client()) {}

    static s1sim::simulator_options options() {
        auto o = test_options(200);
        o.answers = GetParam();
        return o;
    }
    bool minimal() const { return GetParam() == answer_style::minimal; }

    std::vector<std::string> pick(const std::string& query, std::size_t n) {
        auto ids = all_ids(*client_, query, 1000);
        EXPECT_GE(ids.size(), n) << query;
        ids.resize(std::min(n, ids.size()));
        return ids;
    }
    client_response act(const std::string& path, const std::vector<std::string>& ids, const std::string& data = "{}") {
        json::array a;
        for (const auto& id : ids) a.emplace_back(id);
        return client_->post(api + path, R"({"filter":{"ids":)" + json::serialize(a) + R"(},"data":)" + data + "}");
    }
    std::string mitigation_status(const std::string& id) {
        auto list = dumped(*client_, "ids=" + id);
        return list.empty() ? "" : std::string(list.at(0).at("threatInfo").at("mitigationStatus").as_string());
    }
    std::size_t entries(const std::string& id) {
        auto list = dumped(*client_, "ids=" + id);
        return list.empty() ? 0 : list.at(0).at("mitigationStatus").as_array().size();
    }

    running_sim sim_;
    std::unique_ptr<https_client> client_;
};

std::set<std::string> keys_of(const json::value& v) {
    std::set<std::string> out;
    for (const auto& member : v.as_object()) out.emplace(member.key());
    return out;
}

}  // namespace

TEST_P(Answers, MitigationAnswersAffectedAloneWhenMinimal) {
    auto ids = pick("mitigationStatuses=not_mitigated", 3);
    std::vector<std::size_t> before;
    for (const auto& id : ids) before.push_back(entries(id));
    auto r = act("/threats/mitigate/kill", ids);
    ASSERT_EQ(r.status, 200) << r.body;
    if (minimal()) {
        EXPECT_EQ(r.body, R"({"data":{"affected":3}})");  // seed 000's shape, byte for byte
    } else {
        const auto body = r.json();
        const auto& details = body.at("data").at("details").as_array();
        ASSERT_EQ(details.size(), 3u);
        EXPECT_EQ(details.at(0).at("threatId").as_string(), ids[0]);
        EXPECT_EQ(details.at(0).at("reports").at(0).at("action"), "kill");
        EXPECT_EQ(r.json().at("data").at("affected").as_int64(), 3);
    }
    // The effect does not depend on what the answer says.
    for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(mitigation_status(ids[i]), "mitigated") << ids[i];
        EXPECT_EQ(entries(ids[i]), before[i] + 1) << ids[i];
    }
}

TEST_P(Answers, AnUnsupportedMitigationIsNotCountedInEitherStyle) {
    auto linux_ids = pick("osTypes=linux&mitigationStatuses=not_mitigated", 2);
    std::vector<std::size_t> before;
    for (const auto& id : linux_ids) before.push_back(entries(id));
    auto r = act("/threats/mitigate/rollback-remediation", linux_ids);
    ASSERT_EQ(r.status, 200) << r.body;
    if (minimal()) {
        EXPECT_EQ(r.body, R"({"data":{"affected":0}})");
    } else {
        EXPECT_EQ(r.json().at("data").at("details").at(0).at("skipped").at(0).at("reason"), "not_supported");
    }
    for (std::size_t i = 0; i < linux_ids.size(); ++i) EXPECT_EQ(entries(linux_ids[i]), before[i]) << linux_ids[i];
}

TEST_P(Answers, IncidentAndVerdictKeepTheDetailsSeed002Lists) {
    auto ids = pick("incidentStatuses=unresolved", 2);
    auto r = act("/threats/incident", ids, R"({"incidentStatus":"in_progress","analystVerdict":"true_positive"})");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto body = r.json();
    EXPECT_EQ(body.at("data").at("affected").as_int64(), 2);
    const auto& details = body.at("data").at("details").as_array();
    ASSERT_EQ(details.size(), 2u);
    EXPECT_EQ(keys_of(details.at(0)), (std::set<std::string>{"threatId", "result", "analystVerdict"}));
    EXPECT_EQ(details.at(0).at("result"), "updated");

    auto v = act("/threats/analyst-verdict", ids, R"({"analystVerdict":"false_positive"})");
    ASSERT_EQ(v.status, 200) << v.body;
    const auto verdict_body = v.json();
    const auto& verdicts = verdict_body.at("data").at("details").as_array();
    ASSERT_EQ(verdicts.size(), 2u);
    EXPECT_EQ(keys_of(verdicts.at(1)), (std::set<std::string>{"threatId", "result"}));
}

TEST_P(Answers, NotesTicketsAndAgentActionsAnswerAffectedAloneInBothStyles) {
    auto ids = pick("mitigationStatuses=not_mitigated", 2);
    EXPECT_EQ(act("/threats/notes", ids, R"({"text":"seen"})").body, R"({"data":{"affected":2}})");
    EXPECT_EQ(act("/threats/external-ticket-id", ids, R"({"externalTicketId":"SOC-1"})").body,
              R"({"data":{"affected":2}})");
    auto agent = dumped(*client_, "ids=" + ids[0]).at(0).at("agentRealtimeInfo").at("agentId");
    EXPECT_EQ(act("/agents/actions/disconnect", {std::string(agent.as_string())}).body, R"({"data":{"affected":1}})");
}

INSTANTIATE_TEST_SUITE_P(Styles, Answers, ::testing::Values(answer_style::detailed, answer_style::minimal),
                         [](const ::testing::TestParamInfo<answer_style>& info) {
                             return std::string(s1sim::to_string(info.param));
                         });

TEST(AnswersAdmin, SwitchedAtRunTimeAndRestoredByReset) {
    running_sim sim(test_options(100));
    auto client = sim.client();
    EXPECT_EQ(client->get("/_sim/answers").body, R"({"answers":"detailed"})");
    EXPECT_EQ(client->put("/_sim/answers", R"({"answers":"minimal"})").body, R"({"answers":"minimal"})");
    auto ids = all_ids(*client, "mitigationStatuses=not_mitigated", 1000);
    ASSERT_FALSE(ids.empty());
    auto r =
        client->post(api + "/threats/mitigate/quarantine", R"({"filter":{"ids":[")" + ids[0] + R"("]},"data":{}})");
    EXPECT_EQ(r.body, R"({"data":{"affected":1}})");

    auto bad = client->put("/_sim/answers", R"({"answers":"terse"})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.json().at("errors").at(0).at("detail"),
              R"(expected {"answers":"detailed"} or {"answers":"minimal"})");
    EXPECT_EQ(client->get("/_sim/answers").body, R"({"answers":"minimal"})");  // unchanged by a bad request

    EXPECT_EQ(client->post("/_sim/reset", "").status, 200);
    EXPECT_EQ(client->get("/_sim/answers").body, R"({"answers":"detailed"})");
}
