// Start-up reconciliation may only finish what a recent enforcing run began, in the scope the
// playbook still has: a dry run sends nothing, a stale or out-of-scope row is never resent, and a
// failure to audit or a failed-closed engine ends the work as a failure, not as a success.

#include <boost/asio/co_spawn.hpp>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

using namespace std::chrono_literals;

class startup_reconcile_test : public engine_fixture {
protected:
    /// A pending `verdict: suspicious` row for threat 101, written now with `scope`, as a run
    /// killed after its intent leaves it. The console shows no verdict: the effect is absent.
    void pending_verdict(const filter::threat_filter& scope, std::string_view threat = "101") {
        ASSERT_TRUE(ledger_->mark_pending({{"contain", "verdict:suspicious", std::string(threat), "r-000001", "b-1",
                                            encode_detail({"sim", scope, "", std::nullopt})}}));
    }

    static config::playbook verdict_playbook(std::string_view extra = {}) {
        return playbook_with("  - verdict: suspicious", extra);
    }

    state::action_status status_of(std::string_view threat = "101") {
        return row("contain", "verdict:suspicious", threat)->status;
    }

    /// The `next` notes of the action.reconciled records, in order.
    std::vector<std::string> reconciled_notes() const {
        std::vector<std::string> out;
        for (const auto& r : audit_records())
            if (r.at("event") == "action.reconciled" && r.contains("next")) out.emplace_back(r.at("next").as_string());
        return out;
    }
};

TEST_F(startup_reconcile_test, a_dry_run_reconciles_nothing_and_sends_nothing) {
    console_.add_threats(1);
    const auto pb = verdict_playbook();
    pending_verdict(pb.match.carried_scope());
    engine_options options;
    options.dry_run = true;
    auto eng = make({pb}, options);
    const auto settled = run(eng->reconcile_pending());
    EXPECT_TRUE(settled.ok()) << settled.error;
    EXPECT_EQ(settled.rows, 0u);
    EXPECT_TRUE(console_.requests.empty());
    EXPECT_EQ(status_of(), state::action_status::pending);
    EXPECT_TRUE(audit_records().empty());
}

TEST_F(startup_reconcile_test, a_dry_run_playbook_never_has_its_rows_resent) {
    console_.add_threats(1);
    const auto pb = verdict_playbook("mode: dry-run\n");
    pending_verdict(pb.match.carried_scope());
    auto eng = make({pb});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_TRUE(settled.ok()) << settled.error;
    EXPECT_EQ(settled.undecided, 1u);
    EXPECT_TRUE(console_.posts().empty());
    EXPECT_EQ(status_of(), state::action_status::pending);
    const auto notes = reconciled_notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_NE(notes.back().find("dry-run mode, which sends nothing"), std::string::npos) << notes.back();
}

TEST_F(startup_reconcile_test, a_row_pending_longer_than_the_window_is_failed_not_resent) {
    console_.add_threats(1);
    const auto pb = verdict_playbook();
    pending_verdict(pb.match.carried_scope());
    clock_.advance(16min);  // a weekend outage, shortened
    auto eng = make({pb});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_TRUE(settled.ok()) << settled.error;
    EXPECT_EQ(settled.failed, 1u);
    EXPECT_TRUE(console_.posts().empty());
    const auto failed = row("contain", "verdict:suspicious", "101");
    EXPECT_EQ(failed->status, state::action_status::failed);
    EXPECT_EQ(failed->failure_reason,
              "pending since 2026-01-02T00:00:00.000000Z, longer than 15m: not resent; the next run acts again if the "
              "threat still matches");
    const auto notes = reconciled_notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes.back(), "marked failed: " + failed->failure_reason);
}

TEST_F(startup_reconcile_test, a_row_within_the_window_is_resent_and_the_window_is_an_option) {
    console_.add_threats(2);
    const auto pb = verdict_playbook();
    pending_verdict(pb.match.carried_scope(), "101");
    pending_verdict(pb.match.carried_scope(), "102");
    clock_.advance(14min);
    {
        auto eng = make({pb});
        const auto settled = run(eng->reconcile_pending());
        EXPECT_EQ(settled.done, 2u);
        ASSERT_EQ(console_.posts("/threats/analyst-verdict").size(), 1u);
        EXPECT_EQ(status_of("102"), state::action_status::done);
    }
    pending_verdict(pb.match.carried_scope(), "103");
    console_.add_threats(1, 103);
    clock_.advance(2min);
    engine_options options;
    options.stale_pending_after = 1min;
    auto eng = make({pb}, options);
    EXPECT_EQ(run(eng->reconcile_pending()).failed, 1u);
    EXPECT_EQ(console_.posts().size(), 1u);
    EXPECT_NE(row("contain", "verdict:suspicious", "103")->failure_reason.find("longer than 1m"), std::string::npos);
}

TEST_F(startup_reconcile_test, a_stale_row_whose_effect_is_present_is_done) {
    console_.add_threats(1);
    console_.threats[0]["threatInfo"].as_object()["analystVerdict"] = "suspicious";
    const auto pb = verdict_playbook();
    pending_verdict(pb.match.carried_scope());
    clock_.advance(std::chrono::hours(60));
    auto eng = make({pb});
    EXPECT_EQ(run(eng->reconcile_pending()).done, 1u);
    EXPECT_TRUE(console_.posts().empty());
    EXPECT_EQ(status_of(), state::action_status::done);
}

TEST_F(startup_reconcile_test, a_row_written_in_another_scope_is_failed_not_resent) {
    console_.add_threats(1);
    filter::threat_filter old_scope;
    old_scope.set(*filter::find_key("accountIds"), filter::string_list{"3"});  // before siteIds was added
    pending_verdict(old_scope);
    auto eng = make({verdict_playbook()});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_EQ(settled.failed, 1u);
    EXPECT_TRUE(console_.posts().empty());
    EXPECT_EQ(row("contain", "verdict:suspicious", "101")->failure_reason,
              "the playbook's scope changed since: not resent");
}

TEST_F(startup_reconcile_test, a_failed_audit_append_while_reconciling_is_a_failure) {
    console_.add_threats(2);
    const auto pb = verdict_playbook();
    pending_verdict(pb.match.carried_scope());
    // A second group (another action) that must not be reached once the audit log is gone.
    ASSERT_TRUE(ledger_->mark_pending({{"contain", "mitigate:kill", "102", "r-000001", "b-2",
                                        encode_detail({"sim", pb.match.carried_scope(), "", std::nullopt})}}));
    console_.faults["/threats"] = {fault::server_error, fault::server_error, fault::server_error};
    auto full = audit::writer::open({"/dev/full"}, clock_);
    ASSERT_TRUE(full) << full.error().message;
    auto eng = make_with({pb}, {}, &*full);
    const auto settled = run(eng->reconcile_pending());
    EXPECT_FALSE(settled.ok());
    EXPECT_NE(settled.error.find("audit log"), std::string::npos) << settled.error;
    EXPECT_FALSE(eng->ready());
    EXPECT_EQ(console_.requests.size(), 3u);  // the first group's read (retried), nothing after
    EXPECT_TRUE(console_.posts().empty());
}

TEST_F(startup_reconcile_test, a_run_meeting_a_failed_closed_engine_ends_failed) {
    console_.add_threats(4);
    failing_ledger ledger(*ledger_);
    ledger.run_ids_left = 1;  // the first run gets its id; the second fails closed at its start
    auto s = services(audit_.get());
    s.ledger = &ledger;
    auto other = verdict_playbook();
    other.name = "other";
    auto made = engine::create(ioc_.get_executor(), config_, {playbook_with("  - mitigate: kill"), other}, s);
    auto eng = std::move(std::get<std::unique_ptr<engine>>(made));
    std::vector<run_report> reports;
    for (const char* name : {"contain", "other"}) {
        asio::co_spawn(ioc_, eng->run_now(name), [&reports](std::exception_ptr e, run_report r) {
            if (e) std::rethrow_exception(e);
            reports.push_back(std::move(r));
        });
    }
    ioc_.restart();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reports.size() < 2 && std::chrono::steady_clock::now() < until)
        ioc_.run_one_for(std::chrono::milliseconds(50));
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_FALSE(eng->ready());
    for (const auto& r : reports) {
        SCOPED_TRACE(r.playbook);
        EXPECT_EQ(r.outcome, run_outcome::failed);
        EXPECT_EQ(once_exit_code({r}), 1);
    }
    EXPECT_TRUE(console_.posts().empty());
}

}  // namespace
}  // namespace s1pilot::engine::test
