// Exactly once when the outcome of a POST is unknown, across a crash, and failing closed when
// the intent cannot be made durable.

#include <boost/asio/co_spawn.hpp>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

class reconcile_test : public engine_fixture {
protected:
    std::unique_ptr<engine> make_failing(std::vector<config::playbook> playbooks, failing_ledger& ledger) {
        auto s = services(audit_.get());
        s.ledger = &ledger;
        auto made = engine::create(ioc_.get_executor(), config_, std::move(playbooks), std::move(s));
        return std::move(std::get<std::unique_ptr<engine>>(made));
    }
};

TEST_F(reconcile_test, a_note_applied_then_lost_is_found_and_never_posted_again) {
    console_.add_threats(2);
    console_.faults["/threats/notes"] = {fault::apply_then_drop};
    auto eng = make({playbook_with("  - note: \"Contained by {{playbook}}\"")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.failures(), 0u);
    EXPECT_EQ(report.actions[0].reconciled, 2u);
    EXPECT_EQ(console_.posts("/threats/notes").size(), 1u);
    EXPECT_EQ(console_.notes["101"].size(), 1u);
    EXPECT_EQ(console_.notes["102"].size(), 1u);
    EXPECT_EQ(
        row("contain", ledger_key(playbook_with("  - note: \"Contained by {{playbook}}\"").actions[0]), "101")->status,
        state::action_status::done);
    const auto events = audit_events();
    EXPECT_EQ(std::count(events.begin(), events.end(), "action.reconciled"), 1);
    const auto records = audit_records();
    EXPECT_EQ(records[2].at("outcome").as_string(), "unknown");
}

TEST_F(reconcile_test, an_unapplied_write_with_unknown_outcome_is_read_then_sent_again) {
    console_.add_threats(2);
    console_.faults["/threats/mitigate/kill"] = {fault::server_error};
    auto eng = make({playbook_with("  - mitigate: kill")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.failures(), 0u);
    EXPECT_EQ(report.actions[0].calls, 2u);
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 2u);
    EXPECT_EQ(row("contain", "mitigate:kill", "102")->status, state::action_status::done);
    EXPECT_EQ(row("contain", "mitigate:kill", "102")->attempt, 2);
}

TEST_F(reconcile_test, resends_are_bounded_by_max_attempts) {
    console_.add_threats(1);
    console_.faults["/threats/mitigate/kill"] = {fault::server_error, fault::server_error, fault::server_error,
                                                 fault::server_error};
    auto eng = make({playbook_with("  - mitigate: kill")});
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 3u);  // retry.max_attempts
    EXPECT_EQ(report.failures(), 1u);
    EXPECT_EQ(row("contain", "mitigate:kill", "101")->status, state::action_status::failed);
}

TEST_F(reconcile_test, a_crash_between_pending_and_result_is_reconciled_at_start_without_a_resend) {
    console_.add_threats(2);
    const auto pb = playbook_with("  - note: \"Contained by {{playbook}}\"");
    {
        // The POST goes out, then the result cannot be recorded: as if the process died there.
        failing_ledger crashing(*ledger_);
        crashing.fail_done = true;
        crashing.run_ids_left = 1;  // and every later write: the engine cannot recover (it is "dead")
        auto eng = make_failing({pb}, crashing);
        const auto report = run(eng->run_now("contain"));
        EXPECT_EQ(report.outcome, run_outcome::failed);
        EXPECT_FALSE(eng->ready());
        EXPECT_EQ(console_.posts("/threats/notes").size(), 1u);
    }
    EXPECT_EQ(ledger_->pending().value().size(), 2u);

    auto restarted = make({pb});
    const auto settled = run(restarted->reconcile_pending());
    EXPECT_TRUE(settled.ok()) << settled.error;
    EXPECT_EQ(settled.done, 2u);
    EXPECT_EQ(console_.posts("/threats/notes").size(), 1u);  // read, not resent
    EXPECT_EQ(console_.notes["101"].size(), 1u);
    EXPECT_TRUE(ledger_->pending().value().empty());
    // And the next run has nothing left to do.
    EXPECT_EQ(run(restarted->run_now("contain")).after_ledger, 0u);
    EXPECT_EQ(console_.posts().size(), 1u);
}

TEST_F(reconcile_test, a_pending_row_whose_effect_is_absent_is_sent_again_at_start) {
    console_.add_threats(1);
    const auto pb = playbook_with("  - mitigate: kill");
    filter::threat_filter scope = pb.match.carried_scope();
    ASSERT_TRUE(ledger_->mark_pending(
        {{"contain", "mitigate:kill", "101", "r-000001", "b-1", encode_detail({"sim", scope, "", std::nullopt})}}));
    auto eng = make({pb});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_EQ(settled.done, 1u);
    ASSERT_EQ(console_.posts("/threats/mitigate/kill").size(), 1u);
    EXPECT_EQ(console_.posts()[0]->body, R"({"filter":{"ids":["101"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    EXPECT_EQ(row("contain", "mitigate:kill", "101")->status, state::action_status::done);
}

TEST_F(reconcile_test, rows_of_a_playbook_no_longer_loaded_are_read_never_resent) {
    console_.add_threats(2);
    console_.notes["101"] = {"old text"};
    filter::threat_filter scope = playbook_with("  - mitigate: kill").match.carried_scope();
    const std::string detail = encode_detail({"sim", scope, "old text", std::nullopt});
    ASSERT_TRUE(ledger_->mark_pending({{"gone", "note:0123456789abcdef", "101", "r-000001", "b-1", detail},
                                       {"gone", "note:0123456789abcdef", "102", "r-000001", "b-1", detail}}));
    auto eng = make({playbook_with("  - mitigate: kill")});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_EQ(settled.done, 1u);
    EXPECT_EQ(settled.failed, 1u);
    EXPECT_TRUE(console_.posts().empty());
    EXPECT_EQ(row("gone", "note:0123456789abcdef", "101")->status, state::action_status::done);
    const auto failed = row("gone", "note:0123456789abcdef", "102");
    EXPECT_EQ(failed->status, state::action_status::failed);
    EXPECT_EQ(failed->failure_reason, "playbook no longer loaded");
}

TEST_F(reconcile_test, an_audit_log_that_cannot_be_written_stops_everything_before_the_post) {
    console_.add_threats(2);
    auto full = audit::writer::open({"/dev/full"}, clock_);
    ASSERT_TRUE(full) << full.error().message;
    auto eng = make_with({playbook_with("  - mitigate: kill")}, {}, &*full);
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_FALSE(eng->ready());
    EXPECT_NE(eng->reason().find("audit log"), std::string::npos);
    EXPECT_TRUE(console_.posts().empty()) << "read, but nothing sent without the run's records";
    const auto seen = console_.requests.size();
    const auto refused = run(eng->run_now("contain"));
    EXPECT_EQ(refused.outcome, run_outcome::failed);
    EXPECT_NE(refused.error.find("not ready"), std::string::npos);
    EXPECT_EQ(console_.requests.size(), seen) << "a failed-closed engine does not even read";
}

TEST_F(reconcile_test, a_ledger_that_cannot_record_the_intent_sends_nothing) {
    console_.add_threats(2);
    failing_ledger broken(*ledger_);
    broken.fail_pending = true;
    broken.run_ids_left = 1;  // the run's id, then the disk fails for good: it stays not ready
    auto eng = make_failing({playbook_with("  - mitigate: kill")}, broken);
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_FALSE(eng->ready());
    EXPECT_TRUE(console_.posts().empty());
    const auto events = audit_events();
    EXPECT_EQ(std::count(events.begin(), events.end(), "action.intent"), 0);
}

TEST_F(reconcile_test, a_trigger_during_a_run_is_coalesced) {
    console_.add_threats(1);
    auto eng = make({playbook_with("  - mitigate: kill")});
    // Two runs started together: one arrives while the other is in progress.
    std::vector<run_report> reports;
    for (int i = 0; i < 2; ++i) {
        asio::co_spawn(ioc_, eng->run_now("contain"), [&reports](std::exception_ptr e, run_report r) {
            if (e) std::rethrow_exception(e);
            reports.push_back(std::move(r));
        });
    }
    ioc_.restart();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reports.size() < 2 && std::chrono::steady_clock::now() < until)
        ioc_.run_one_for(std::chrono::milliseconds(50));
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(std::count_if(reports.begin(), reports.end(),
                            [](const run_report& r) { return r.outcome == run_outcome::coalesced; }),
              1);
    EXPECT_EQ(console_.posts().size(), 1u);
}

TEST_F(reconcile_test, a_waiting_trigger_that_is_coalesced_gets_the_report_of_the_run_it_joined) {
    console_.add_threats(1);
    auto eng = make({playbook_with("  - mitigate: kill")});
    std::vector<run_report> reports;
    for (int i = 0; i < 2; ++i) {
        trigger t;
        t.source = "webhook";
        asio::co_spawn(ioc_, eng->run_and_wait("contain", t), [&reports](std::exception_ptr e, run_report r) {
            if (e) std::rethrow_exception(e);
            reports.push_back(std::move(r));
        });
    }
    ioc_.restart();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reports.size() < 2 && std::chrono::steady_clock::now() < until)
        ioc_.run_one_for(std::chrono::milliseconds(50));
    ASSERT_EQ(reports.size(), 2u);
    // Neither answer is "coalesced": the second is the report of the run after the first, which
    // found the threat done in the ledger and sent nothing.
    EXPECT_EQ(reports[0].outcome, run_outcome::ok);
    EXPECT_EQ(reports[1].outcome, run_outcome::ok);
    EXPECT_NE(reports[0].run_id, reports[1].run_id);
    EXPECT_FALSE(reports[1].run_id.empty());
    EXPECT_EQ(console_.posts().size(), 1u);
}

}  // namespace
}  // namespace s1pilot::engine::test
