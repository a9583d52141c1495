// A whole run against the fake console: resolve, ledger, limits, batches, audit order, dry runs,
// target: filter, restricted runs, on_error.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <gmock/gmock.h>
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
    console_.add_threats(5);  // 3 batches of at most 2
    auto eng = make({playbook_with("  - mitigate: kill")});
    // When the console applies a POST (before it answers), the audit log holds that batch's
    // intent: only whole lines count (the next batch's intent may be being written beside it).
    std::vector<std::string> intent_found;
    console_.after_post = [&](fake_console& c) {
        const auto ids = boost::json::parse(c.requests.back().body).at("filter").at("ids");
        std::ifstream in(dir_.path() / "audit.jsonl");
        std::string found = "none";
        for (std::string line; std::getline(in, line) && !in.eof();) {
            const auto r = boost::json::parse(line).as_object();
            if (r.at("event") == "action.intent" && r.at("threat_ids") == ids) found = r.at("batch").as_string();
        }
        intent_found.push_back(found);
    };
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;
    EXPECT_EQ(intent_found, (std::vector<std::string>{"b-1", "b-2", "b-3"}));
    // The next batch's intent is written while a POST is in flight; a batch's results ride with
    // the intent after that, and the last ones with the run's end.
    const auto events = audit_events();
    EXPECT_EQ(events, (std::vector<std::string>{"run.start", "action.intent", "action.intent", "action.result",
                                                "action.intent", "action.result", "action.result", "run.end"}));
    const auto records = audit_records();
    ASSERT_EQ(records.size(), 8u);
    for (const auto& [at, batch] : std::vector<std::pair<std::size_t, std::string>>{{1, "b-1"}, {2, "b-2"}, {4, "b-3"}})
        EXPECT_EQ(records[at].at("batch").as_string(), batch);
    for (const auto& [at, batch] : std::vector<std::pair<std::size_t, std::string>>{{3, "b-1"}, {5, "b-2"}, {6, "b-3"}})
        EXPECT_EQ(records[at].at("batch").as_string(), batch);
    EXPECT_EQ(records[3].at("outcome").as_string(), "success");
    EXPECT_EQ(records[3].at("affected").as_int64(), 2);
    EXPECT_EQ(records[3].at("http_status").as_int64(), 200);
    EXPECT_EQ(records[3].at("s1_request_id").as_string(), "rq-fake");
    EXPECT_EQ(records[3].at("playbook_sha256").as_string(), std::string(64, 'a'));
    EXPECT_EQ(records.back().at("calls").as_int64(), 3);
    for (const auto& r : records) EXPECT_EQ(boost::json::serialize(r).find("CANARY"), std::string::npos);
}

TEST_F(run_test, an_intent_written_ahead_that_fails_sends_nothing_more_and_keeps_the_sent_batchs_result) {
    console_.add_threats(5);  // 3 batches of at most 2
    failing_ledger ledger(*ledger_);
    ledger.fail_pending_of = "103";  // b-2's intent, written during b-1's POST
    ledger.run_ids_left = 1;         // the run's id; then recovery's probe fails too, until told
    auto s = services(audit_.get());
    s.ledger = &ledger;
    auto made = engine::create(ioc_.get_executor(), config_, {playbook_with("  - mitigate: kill")}, s);
    auto eng = std::move(std::get<std::unique_ptr<engine>>(made));
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_EQ(report.error, "ledger: ledger test.db: disk I/O error (simulated)");
    EXPECT_FALSE(eng->ready());
    ASSERT_EQ(console_.posts("/threats/mitigate/kill").size(), 1u) << "b-1 only: b-2's intent is not durable";
    EXPECT_FALSE(row("contain", "mitigate:kill", "103"));
    std::vector<std::string> intents;
    for (const auto& r : audit_records())
        if (r.at("event") == "action.intent") intents.emplace_back(r.at("batch").as_string());
    EXPECT_EQ(intents, std::vector<std::string>{"b-1"});
    // b-1's answer is kept for the next write, the run's end (which this disk still takes).
    for (const auto* threat : {"101", "102"}) {
        const auto b1 = row("contain", "mitigate:kill", threat);
        ASSERT_TRUE(b1) << threat;
        EXPECT_EQ(b1->status, state::action_status::done) << threat;
    }
    ledger.fail_pending_of.clear();
    ledger.run_ids_left = -1;
    ASSERT_TRUE(run_until([&] { return eng->ready(); }));
    const auto again = run(eng->run_now("contain"));
    EXPECT_EQ(again.outcome, run_outcome::ok) << again.error;
    EXPECT_EQ(again.after_ledger, 3u);
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 3u);
}

TEST_F(run_test, a_stop_during_a_post_ends_the_batch_written_ahead_unsent_and_failed) {
    console_.add_threats(5);  // 3 batches of at most 2
    auto eng = make({playbook_with("  - mitigate: kill")});
    // The stop comes while b-1's POST is in flight, b-2's intent written beside it.
    console_.after_post = [&](fake_console& c) {
        c.after_post = nullptr;
        eng->stop();
    };
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_EQ(report.error, "interrupted by shutdown: later batches not sent");
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 1u) << "nothing leaves once stopping";
    EXPECT_EQ(row("contain", "mitigate:kill", "101")->status, state::action_status::done);
    // Known unsent: failed (the next run does it), not pending for a reconciliation to read.
    const auto b2 = row("contain", "mitigate:kill", "103");
    ASSERT_TRUE(b2);
    EXPECT_EQ(b2->status, state::action_status::failed);
    EXPECT_THAT(b2->failure_reason, ::testing::HasSubstr("not sent"));
    EXPECT_FALSE(row("contain", "mitigate:kill", "105")) << "b-3: no intent once stopping";
    EXPECT_EQ(report.failures(), 2u);
    EXPECT_EQ(report.calls(), 1u) << "b-2 never left";
}

TEST_F(run_test, a_post_waiting_for_its_turn_when_the_intent_beside_it_fails_is_not_sent) {
    config_.consoles["sim"].write = {1, 1};  // b-2 waits a second for its turn
    console_.add_threats(6);                 // b-1, b-2, b-3
    failing_ledger ledger(*ledger_);
    ledger.fail_pending_of = "105";  // b-3's intent, written while b-2 waits
    ledger.run_ids_left = 1;         // recovery's probe fails too
    engine* eng_ptr = nullptr;
    bool waited = false;
    auto s = services(audit_.get());
    s.ledger = &ledger;
    s.sleep = [&](std::chrono::nanoseconds d) -> asio::awaitable<void> {
        clock_.advance(std::chrono::duration_cast<std::chrono::microseconds>(d));
        if (waited || d < std::chrono::milliseconds(500)) co_return;
        waited = true;
        // b-2's turn comes once b-3's intent has failed on the worker thread (bounded: 5 s).
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (int i = 0; i < 5000 && eng_ptr->ready(); ++i) {
            timer.expires_after(std::chrono::milliseconds(1));
            co_await timer.async_wait(asio::use_awaitable);
        }
    };
    auto made = engine::create(ioc_.get_executor(), config_, {playbook_with("  - mitigate: kill")}, s);
    auto eng = std::move(std::get<std::unique_ptr<engine>>(made));
    eng_ptr = eng.get();
    const auto report = run(eng->run_now("contain"));
    ASSERT_TRUE(waited);
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 1u) << "failed closed: b-2 does not leave";
    EXPECT_EQ(report.calls(), 1u);
    for (const auto* threat : {"103", "104"}) {
        const auto b2 = row("contain", "mitigate:kill", threat);
        ASSERT_TRUE(b2) << threat;
        EXPECT_EQ(b2->status, state::action_status::failed) << threat;
        EXPECT_THAT(b2->failure_reason, ::testing::HasSubstr("not sent")) << threat;
    }
    EXPECT_FALSE(row("contain", "mitigate:kill", "105"));
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
