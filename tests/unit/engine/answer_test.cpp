// What a run makes of the console's answers and of the match's own bounds: a 2xx is read per
// threat (skipped, failed, or with top-level errors: unknown), the match's `limit` caps the run
// without reaching a GET, and a `target: filter` run counts again before each action within a
// time window pinned at its start.

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

class answer_test : public engine_fixture {
protected:
    /// The action.result records, in order.
    std::vector<boost::json::object> results() const {
        std::vector<boost::json::object> out;
        for (auto& r : audit_records())
            if (r.at("event") == "action.result") out.push_back(std::move(r));
        return out;
    }
};

TEST_F(answer_test, a_threat_the_console_skipped_is_reported_skipped_and_not_retried) {
    console_.add_threats(2);
    console_.answers["/threats/mitigate/remediate"] = {
        R"({"data":{"affected":1,"details":[)"
        R"({"threatId":"101","reports":[],"skipped":[{"action":"remediate","reason":"not_supported"}]},)"
        R"({"threatId":"102","reports":[{"action":"remediate","status":"sent"}],"skipped":[]}]}})"};
    auto eng = make({playbook_with("  - mitigate: remediate")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;
    EXPECT_EQ(report.actions[0].threats_done, 1u);
    EXPECT_EQ(report.actions[0].skipped, 1u);
    EXPECT_EQ(report.failures(), 0u);
    EXPECT_EQ(once_exit_code({report}), 0);
    // 102 was accepted: done for s1pilot, and followed until its agent confirms the remediation.
    EXPECT_EQ(summary_line(report),
              "contain: matched 2, acted 2 (1 call), held no, failed 0, skipped 1, awaiting confirmation 1");
    // A platform limit is permanent: the row is done, so the next run does not repeat the skip.
    EXPECT_EQ(row("contain", "mitigate:remediate", "101")->status, state::action_status::done);
    const auto records = results();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].at("outcome"), "success");
    EXPECT_EQ(boost::json::serialize(records[0].at("threat_ids")), R"(["102"])");
    EXPECT_EQ(records[1].at("outcome"), "skipped");
    EXPECT_EQ(boost::json::serialize(records[1].at("threat_ids")), R"(["101"])");
    EXPECT_EQ(records[1].at("reason"), "remediate: not_supported");
    EXPECT_EQ(run(eng->run_now("contain")).after_ledger, 0u);
    EXPECT_EQ(console_.posts().size(), 1u);
}

TEST_F(answer_test, a_threat_refused_for_permissions_fails_and_is_retried_next_run) {
    console_.add_threats(2);
    console_.answers["/threats/analyst-verdict"] = {
        R"({"data":{"affected":1,"details":[{"threatId":"101","result":"missing_permissions"},)"
        R"({"threatId":"102","result":"updated"}]}})"};
    auto eng = make({playbook_with("  - verdict: true_positive")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.failures(), 1u);
    EXPECT_EQ(report.actions[0].threats_done, 1u);
    const auto failed = row("contain", "verdict:true_positive", "101");
    EXPECT_EQ(failed->status, state::action_status::failed);
    EXPECT_EQ(failed->failure_reason, "missing_permissions");
    EXPECT_EQ(row("contain", "verdict:true_positive", "102")->status, state::action_status::done);
    const auto records = results();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1].at("outcome"), "failure");
    EXPECT_EQ(records[1].at("error"), "missing_permissions");
    EXPECT_EQ(boost::json::serialize(records[1].at("threat_ids")), R"(["101"])");
    const auto again = run(eng->run_now("contain"));
    EXPECT_EQ(again.after_ledger, 1u);
    ASSERT_EQ(console_.posts().size(), 2u);
    EXPECT_NE(console_.posts()[1]->body.find(R"("ids":["101"])"), std::string::npos);
}

TEST_F(answer_test, a_2xx_with_errors_is_an_unknown_outcome_read_before_anything_else) {
    console_.add_threats(2);
    console_.answers["/threats/mitigate/kill"] = {
        R"({"data":{"affected":2},"errors":[{"code":5000010,"title":"Partial failure"}]})"};
    auto eng = make({playbook_with("  - mitigate: kill")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.failures(), 0u);
    EXPECT_EQ(report.actions[0].reconciled, 2u);  // applied: found by reading, not resent
    EXPECT_EQ(console_.posts().size(), 1u);
    const auto records = results();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].at("outcome"), "unknown");
    EXPECT_NE(std::string(records[0].at("error").as_string()).find("Partial failure"), std::string::npos);
    const auto events = audit_events();
    EXPECT_EQ(std::count(events.begin(), events.end(), "action.reconciled"), 1);
}

TEST_F(answer_test, the_matchs_limit_caps_the_run_and_never_reaches_a_get) {
    console_.add_threats(5);
    auto eng = make({parse(R"(name: contain
match:
  siteIds: ["7"]
  limit: 3
actions:
  - mitigate: kill
)")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;
    EXPECT_EQ(report.acted, 3u);
    for (const auto& r : console_.requests) {
        if (r.method == net::http_method::get) {
            EXPECT_EQ(r.target.find("limit=3"), std::string::npos) << r.target;
        }
    }
    EXPECT_EQ(row("contain", "mitigate:kill", "103")->status, state::action_status::done);
    EXPECT_FALSE(row("contain", "mitigate:kill", "104"));
    // The next run acts on the next oldest.
    EXPECT_EQ(run(eng->run_now("contain")).acted, 2u);
    EXPECT_EQ(row("contain", "mitigate:kill", "105")->status, state::action_status::done);
}

TEST_F(answer_test, target_filter_counts_at_most_limit_and_keeps_it_in_the_body) {
    console_.add_threats(5);
    auto eng = make({parse(R"(name: bulk
target: filter
match:
  siteIds: ["7"]
  limit: 2
limits: {max_threats: 3}
actions:
  - verdict: true_positive
)")});
    const auto report = run(eng->run_now("bulk"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;  // 5 match, min(5, 2) <= 3
    EXPECT_EQ(report.matched, 2u);
    ASSERT_EQ(console_.posts().size(), 1u);
    EXPECT_EQ(console_.posts()[0]->body,
              R"({"filter":{"siteIds":["7"],"limit":2,"createdAt__lte":"2026-01-02T00:00:00.000000Z"},)"
              R"("data":{"analystVerdict":"true_positive"}})");
}

TEST_F(answer_test, target_filter_counts_again_before_each_action_and_holds_when_it_grew) {
    console_.add_threats(2);
    // The first action's answer comes with three new threats, created before the run started.
    console_.after_post = [](fake_console& c) {
        c.after_post = nullptr;
        c.add_threats(3, 201);
    };
    auto eng = make({parse(R"(name: bulk
target: filter
match:
  siteIds: ["7"]
limits: {max_threats: 3}
actions:
  - verdict: true_positive
  - incident: {status: in_progress}
)")});
    const auto report = run(eng->run_now("bulk"));
    EXPECT_EQ(report.outcome, run_outcome::held);
    EXPECT_EQ(console_.posts().size(), 1u);
    EXPECT_TRUE(console_.posts("/threats/incident").empty());
    std::size_t counts = 0;
    for (const auto& r : console_.requests) counts += r.target.find("countOnly=true") != std::string::npos;
    EXPECT_EQ(counts, 2u);
    const auto events = audit_events();
    EXPECT_EQ(std::count(events.begin(), events.end(), "run.held"), 1);
}

TEST_F(answer_test, target_filter_pins_its_upper_time_bound_unless_the_match_has_one) {
    console_.add_threats(1);
    auto eng = make({parse(R"(name: bounded
target: filter
match:
  siteIds: ["7"]
  createdAt__lt: "2026-01-01T18:00:00Z"
actions:
  - verdict: true_positive
)")});
    run(eng->run_now("bounded"));
    ASSERT_EQ(console_.posts().size(), 1u);
    EXPECT_EQ(console_.posts()[0]->body.find("createdAt__lte"), std::string::npos) << console_.posts()[0]->body;
    EXPECT_NE(console_.requests.front().target.find("createdAt__lt="), std::string::npos);
    EXPECT_EQ(console_.requests.front().target.find("createdAt__lte="), std::string::npos);
}

}  // namespace
}  // namespace s1pilot::engine::test
