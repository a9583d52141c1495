// A whole run against the fake console: resolve, ledger, limits, batches, audit order, dry runs,
// target: filter, restricted runs, on_error.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

using ::testing::Test;

class run_test : public engine_fixture {};

const char* const contain_actions = "  - mitigate: kill\n  - note: \"Contained by {{playbook}}\"";

TEST_F(run_test, acts_once_in_batches_and_a_second_run_does_nothing) {
    console_.add_threats(5);
    auto eng = make({playbook_with(contain_actions)});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;
    EXPECT_EQ(report.matched, 5u);
    EXPECT_EQ(report.acted, 5u);
    EXPECT_EQ(report.calls(), 6u);  // 3 batches of at most 2, for each of the 2 actions
    EXPECT_EQ(report.failures(), 0u);
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 3u);
    EXPECT_EQ(console_.notes["101"], (std::vector<std::string>{"Contained by contain"}));
    // The POST carries the batch and the carried scope, nothing else.
    EXPECT_EQ(console_.posts("/threats/mitigate/kill")[0]->body,
              R"({"filter":{"ids":["101","102"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    const auto done = row("contain", "mitigate:kill", "105");
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, state::action_status::done);

    const auto posts = console_.posts().size();
    const auto again = run(eng->run_now("contain"));
    EXPECT_EQ(again.matched, 5u);
    EXPECT_EQ(again.after_ledger, 0u);
    EXPECT_EQ(console_.posts().size(), posts);
}

TEST_F(run_test, every_post_is_preceded_by_its_durable_intent) {
    console_.add_threats(3);
    auto eng = make({playbook_with("  - mitigate: kill")});
    run(eng->run_now("contain"));
    const auto events = audit_events();
    EXPECT_EQ(events, (std::vector<std::string>{"run.start", "action.intent", "action.result", "action.intent",
                                                "action.result", "run.end"}));
    const auto records = audit_records();
    EXPECT_EQ(records[2].at("outcome").as_string(), "success");
    EXPECT_EQ(records[2].at("affected").as_int64(), 2);
    EXPECT_EQ(records[2].at("http_status").as_int64(), 200);
    EXPECT_EQ(records[2].at("s1_request_id").as_string(), "rq-fake");
    EXPECT_EQ(records[2].at("playbook_sha256").as_string(), std::string(64, 'a'));
    EXPECT_EQ(records.back().at("calls").as_int64(), 2);
    for (const auto& r : records) EXPECT_EQ(boost::json::serialize(r).find("CANARY"), std::string::npos);
}

TEST_F(run_test, hold_acts_on_none_and_first_acts_on_the_oldest) {
    console_.add_threats(4);
    auto held_playbook = playbook_with("  - mitigate: kill", "limits: {max_threats: 3}\n");
    auto first_playbook = playbook_with("  - mitigate: kill", "limits: {max_threats: 3, on_exceed: first}\n");
    first_playbook.name = "first";
    auto eng = make({held_playbook, first_playbook});
    const auto held = run(eng->run_now("contain"));
    EXPECT_EQ(held.outcome, run_outcome::held);
    EXPECT_TRUE(console_.posts().empty());
    EXPECT_EQ(audit_events()[1], "run.held");

    const auto first = run(eng->run_now("first"));
    EXPECT_EQ(first.acted, 3u);
    ASSERT_EQ(console_.posts().size(), 2u);
    EXPECT_EQ(console_.posts()[1]->body, R"({"filter":{"ids":["103"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    EXPECT_FALSE(row("first", "mitigate:kill", "104"));
}

TEST_F(run_test, dry_run_reads_but_sends_and_writes_nothing) {
    console_.add_threats(3);
    engine_options options;
    options.dry_run = true;
    auto eng = make({playbook_with(contain_actions)}, options);
    const auto report = run(eng->run_now("contain"));
    EXPECT_TRUE(report.dry_run);
    EXPECT_EQ(report.dry_calls(), 4u);
    EXPECT_TRUE(console_.posts().empty());
    EXPECT_FALSE(row("contain", "mitigate:kill", "101"));
    const auto records = audit_records();
    ASSERT_EQ(records.size(), 6u);
    EXPECT_EQ(records[1].at("outcome").as_string(), "dry_run");
    EXPECT_EQ(boost::json::serialize(records[1].at("body")),
              R"({"filter":{"ids":["101","102"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    EXPECT_EQ(report.actions[0].dry_calls[0].path, "/web/api/v2.1/threats/mitigate/kill");
}

TEST_F(run_test, plan_mode_audits_nothing) {
    console_.add_threats(3);
    engine_options options;
    options.plan = true;
    auto eng = make({playbook_with(contain_actions)}, options);
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.dry_calls(), 4u);
    EXPECT_TRUE(audit_records().empty());
    EXPECT_TRUE(console_.posts().empty());
}

TEST_F(run_test, a_playbook_in_dry_run_mode_is_dry_without_the_flag) {
    console_.add_threats(1);
    auto eng = make({playbook_with("  - mitigate: kill", "mode: dry-run\n")});
    EXPECT_TRUE(run(eng->run_now("contain")).dry_run);
    EXPECT_TRUE(console_.posts().empty());
}

TEST_F(run_test, on_error_stop_skips_later_actions_for_the_failed_threats) {
    console_.add_threats(4);
    console_.faults["/threats/mitigate/kill"] = {fault::bad_request};  // the first batch: 101, 102
    auto eng = make({playbook_with(contain_actions)});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.actions[0].failures, 2u);
    EXPECT_EQ(report.actions[1].skipped, 2u);
    EXPECT_TRUE(console_.notes["101"].empty());
    EXPECT_EQ(console_.notes["103"].size(), 1u);
    const auto failed = row("contain", "mitigate:kill", "101");
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->status, state::action_status::failed);
    EXPECT_NE(failed->failure_reason.find("Validation Error"), std::string::npos);
    EXPECT_EQ(once_exit_code({report}), 4);
}

TEST_F(run_test, on_error_continue_goes_on_with_later_actions) {
    console_.add_threats(2);
    console_.faults["/threats/mitigate/kill"] = {fault::bad_request};
    auto eng = make({playbook_with(contain_actions, "on_error: continue\n")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.actions[0].failures, 2u);
    EXPECT_EQ(report.actions[1].skipped, 0u);
    EXPECT_EQ(console_.notes["101"].size(), 1u);
}

TEST_F(run_test, a_restricted_run_acts_only_on_the_given_threats) {
    console_.add_threats(4);
    auto eng = make({playbook_with("  - mitigate: kill")});
    trigger t;
    t.threat_ids = std::vector<std::string>{"103", "999"};
    t.source = "webhook";
    const auto report = run(eng->run_now("contain", t));
    EXPECT_EQ(report.matched, 1u);
    ASSERT_EQ(console_.posts().size(), 1u);
    EXPECT_NE(console_.requests.front().target.find("ids=103"), std::string::npos);
    EXPECT_EQ(console_.posts()[0]->body, R"({"filter":{"ids":["103"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
}

TEST_F(run_test, target_filter_counts_then_sends_the_match_itself) {
    console_.add_threats(3);
    auto eng = make({playbook_with("  - verdict: true_positive", "target: filter\n")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.matched, 3u);
    ASSERT_EQ(console_.posts().size(), 1u);
    EXPECT_NE(console_.requests.front().target.find("countOnly=true"), std::string::npos);
    EXPECT_EQ(console_.posts()[0]->body,
              R"({"filter":{"siteIds":["7"],"accountIds":["3"],"classifications":["Ransomware"],)"
              R"("createdAt__gte":"2026-01-01T00:00:00.000000Z","createdAt__lte":"2026-01-02T00:00:00.000000Z"},)"
              R"("data":{"analystVerdict":"true_positive"}})");
    const auto recorded = row("contain", "verdict:true_positive", "run:" + report.run_id);
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->status, state::action_status::done);

    auto capped = playbook_with("  - verdict: true_positive", "target: filter\nlimits: {max_threats: 2}\n");
    capped.name = "capped";
    auto eng2 = make({capped});
    EXPECT_EQ(run(eng2->run_now("capped")).outcome, run_outcome::held);
    EXPECT_EQ(console_.posts().size(), 1u);
}

TEST_F(run_test, isolate_posts_the_distinct_agents) {
    console_.add_threats(4);  // agents 500, 500, 501, 501
    config_.consoles["sim"].batch_size = 10;
    auto eng = make({playbook_with("  - isolate: agents")});
    run(eng->run_now("contain"));
    ASSERT_EQ(console_.posts().size(), 1u);
    EXPECT_EQ(console_.posts()[0]->target, "/web/api/v2.1/agents/actions/disconnect");
    EXPECT_EQ(console_.posts()[0]->body,
              R"({"filter":{"ids":["500","501"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    EXPECT_EQ(row("contain", "isolate:agents", "104")->status, state::action_status::done);
}

TEST_F(run_test, isolate_reports_threats_without_an_agent_once_and_batches_as_before) {
    console_.add_threats(6);  // agents 500, 500, 501, 501, 502, 502
    for (const std::size_t i : {1, 2, 3}) console_.threats[i]["agentRealtimeInfo"].as_object().erase("agentId");
    auto eng = make({playbook_with("  - isolate: agents")});  // batch_size 2: [101 102] [103 104] [105 106]
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.actions[0].failures, 3u);
    // 102 leaves its batch; 103 and 104 leave theirs empty (no call); 105 and 106 share agent 502.
    ASSERT_EQ(console_.posts().size(), 2u);
    EXPECT_EQ(console_.posts()[0]->body, R"({"filter":{"ids":["500"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    EXPECT_EQ(console_.posts()[1]->body, R"({"filter":{"ids":["502"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    // One record names them all, before the first intent.
    const auto records = audit_records();
    ASSERT_GE(records.size(), 3u);
    EXPECT_EQ(records[1].at("event").as_string(), "action.result");
    EXPECT_EQ(records[1].at("outcome").as_string(), "skipped");
    EXPECT_EQ(boost::json::serialize(records[1].at("threat_ids")), R"(["102","103","104"])");
    EXPECT_EQ(records[2].at("event").as_string(), "action.intent");
    EXPECT_EQ(row("contain", "isolate:agents", "106")->status, state::action_status::done);
    EXPECT_FALSE(row("contain", "isolate:agents", "103"));
}

TEST_F(run_test, a_mitigations_rows_keep_each_threats_own_baseline) {
    console_.add_threats(3);
    // 102 was killed twice before, 103 quarantined: only its kill entries make 102's baseline.
    auto entry = [](const char* action, const char* at) {
        return boost::json::object{{"action", action}, {"status", "success"}, {"lastUpdate", at}};
    };
    console_.threats[1]["mitigationStatus"] =
        boost::json::array{entry("kill", "2026-01-01T10:00:00.000000Z"), entry("kill", "2026-01-01T11:00:00.000000Z")};
    console_.threats[2]["mitigationStatus"] = boost::json::array{entry("quarantine", "2026-01-01T10:00:00.000000Z")};
    auto eng = make({playbook_with("  - mitigate: kill")});
    EXPECT_EQ(run(eng->run_now("contain")).outcome, run_outcome::ok);
    const auto baseline = [&](const char* threat) {
        const auto r = row("contain", "mitigate:kill", threat);
        const auto detail = boost::json::parse(r ? r->row.detail : "{}").as_object();
        const auto* b = detail.if_contains("baseline");
        return b ? boost::json::serialize(*b) : std::string("none");
    };
    EXPECT_EQ(baseline("101"), R"({"entries":0})");
    EXPECT_EQ(baseline("102"), R"({"entries":2,"latest":"2026-01-01T11:00:00.000000Z"})");
    EXPECT_EQ(baseline("103"), R"({"entries":0})");
}

TEST_F(run_test, the_schedule_runs_a_polled_playbook_and_stop_drains_it) {
    console_.add_threats(1);
    engine_options options;
    options.max_splay = std::chrono::milliseconds(0);  // the first run is due at once
    auto eng = make({playbook_with("  - mitigate: kill", "trigger: {every: 5s}\n")}, options);
    eng->start_schedule();
    auto work = [&]() -> asio::awaitable<bool> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (int i = 0; i < 500 && console_.posts().empty(); ++i) {
            timer.expires_after(std::chrono::milliseconds(10));
            co_await timer.async_wait(asio::use_awaitable);
        }
        eng->stop();
        const std::chrono::milliseconds timeout(5000);
        co_return co_await eng->drain(timeout);
    };
    EXPECT_TRUE(run(work()));
    EXPECT_EQ(console_.posts().size(), 1u);
    EXPECT_EQ(eng->active_runs(), 0u);
    const auto refused = run(eng->run_now("contain"));  // stopped: no new run starts
    EXPECT_EQ(refused.outcome, run_outcome::failed);
    EXPECT_EQ(console_.posts().size(), 1u);
}

TEST_F(run_test, a_per_threat_note_is_rendered_from_the_threat_as_read) {
    console_.add_threats(2);
    auto eng = make({playbook_with("  - note: \"{{threat_name}} on {{computer_name}} ({{classification}})\"")});
    run(eng->run_now("contain"));
    EXPECT_EQ(console_.posts("/threats/notes").size(), 2u);  // one threat per call
    EXPECT_EQ(console_.notes["102"], (std::vector<std::string>{"evil-102.exe on host-102 (Ransomware)"}));
}

TEST_F(run_test, an_unknown_playbook_is_a_failed_report) {
    auto eng = make({playbook_with("  - mitigate: kill")});
    EXPECT_EQ(run(eng->run_now("nope")).outcome, run_outcome::failed);
}

}  // namespace
}  // namespace s1pilot::engine::test
