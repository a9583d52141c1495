// Leadership on a shared ledger (DESIGN §9): the decisions as pure functions, and the engine
// carrying them out against a lock that a test holds, takes away or breaks: a standby does
// nothing, a take-over reconciles first, another instance's young pending rows wait for the call
// deadline and lease.grace (on the injected clock), and a lost session stops what was about to
// be sent.

#include "s1pilot/engine/leadership.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(lease_decisions, the_cluster_key_is_fnv1a_of_the_prefixed_name) {
    // Independent values (FNV-1a 64 of "s1pilot:default" and "s1pilot:emea-1").
    EXPECT_EQ(cluster_lock_key("default"), 5962433144644777670LL);
    EXPECT_EQ(cluster_lock_key("emea-1"), 1163086983040426787LL);
    EXPECT_NE(cluster_lock_key("default"), cluster_lock_key("Default"));
}

TEST(lease_decisions, a_session_competes_checks_reconnects_or_waits) {
    EXPECT_EQ(next_lease_step({false, true}, false), lease_step::try_lock);
    EXPECT_EQ(next_lease_step({false, true}, true), lease_step::wait) << "runs of the lost term still end";
    EXPECT_EQ(next_lease_step({true, true}, false), lease_step::check);
    EXPECT_EQ(next_lease_step({false, false}, true), lease_step::reconnect);
    EXPECT_EQ(lease_wait(lease_step::check, 250ms, 2s), 250ms);
    EXPECT_EQ(lease_wait(lease_step::try_lock, 250ms, 2s), 2s);
    EXPECT_EQ(lease_wait(lease_step::reconnect, 250ms, 2s), 2s);
}

TEST(lease_decisions, only_a_holder_that_loses_its_session_is_fenced) {
    using o = lease_outcome;
    const lease_state standby{false, true}, active{true, true};
    EXPECT_EQ(after_lease_outcome(standby, o::lock_taken), std::make_pair(active, lease_change::took_lock));
    EXPECT_EQ(after_lease_outcome(active, o::lock_taken), std::make_pair(active, lease_change::none));
    EXPECT_EQ(after_lease_outcome(standby, o::lock_busy), std::make_pair(standby, lease_change::none));
    EXPECT_EQ(after_lease_outcome(active, o::session_ok), std::make_pair(active, lease_change::none));
    EXPECT_EQ(after_lease_outcome(active, o::session_lost),
              std::make_pair(lease_state{false, false}, lease_change::lost_lock));
    EXPECT_EQ(after_lease_outcome(standby, o::session_lost),
              std::make_pair(lease_state{false, false}, lease_change::none));
    EXPECT_EQ(after_lease_outcome({false, false}, o::reconnected), std::make_pair(standby, lease_change::none));
    EXPECT_EQ(after_lease_outcome({false, false}, o::reconnect_failed),
              std::make_pair(lease_state{false, false}, lease_change::none));
    EXPECT_EQ(after_lease_outcome(active, o::reconnected).second, lease_change::lost_lock)
        << "a new session holds nothing";
}

state::ledger_entry entry(std::string threat, std::string run, core::timestamp at) {
    state::ledger_entry e;
    e.row = {"contain", "verdict:suspicious", std::move(threat), std::move(run), "b-1", ""};
    e.updated_at = at;
    return e;
}

TEST(lease_decisions, another_instances_rows_wait_for_the_call_deadline_and_the_grace) {
    const auto now = core::parse_timestamp("2026-01-02T00:10:00Z").value();
    const auto own = [](std::string_view run) { return run == "r-000010"; };
    auto split = split_pending({entry("1", "r-000010", now), entry("2", "r-000003", now - 125s),
                                entry("3", "r-000004", now - 124s), entry("4", "r-000004", now - 10s)},
                               own, now, 125s);
    ASSERT_EQ(split.own.size(), 1u);
    EXPECT_EQ(split.own[0].row.threat_id, "1") << "this term's row is decided at once, however young";
    ASSERT_EQ(split.due.size(), 1u);
    EXPECT_EQ(split.due[0].row.threat_id, "2");
    ASSERT_EQ(split.not_yet.size(), 2u);
    EXPECT_EQ(split.next_due, now + 1s) << "the first of them becomes due then";
}

/// A lock the test holds: busy (another instance has it), lost (the session is gone: every call
/// fails until reconnect), and reconnects counted.
class test_lock final : public state::lock_session {
public:
    bool busy = false;
    bool lost = false;
    bool refuse_reconnect = false;
    int reconnects = 0;
    int checks = 0;

    state::result<bool> try_lock(std::int64_t) override {
        if (lost) return gone();
        return !busy;
    }
    state::result<void> check_session(std::chrono::milliseconds) override {
        ++checks;
        if (lost) return gone();
        return {};
    }
    state::result<void> reconnect() override {
        ++reconnects;
        if (refuse_reconnect) return gone();
        lost = false;
        return {};
    }
    bool connected() const noexcept override { return !lost; }

private:
    static state::error gone() {
        return {state::make_error_code(state::errc::database_error),
                "state database ledger on db:5432: the connection to the server was lost (simulated)"};
    }
};

class leadership_test : public engine_fixture {
protected:
    std::unique_ptr<engine> make_shared(std::vector<config::playbook> playbooks, engine_options options = {},
                                        state::ledger* ledger = nullptr) {
        auto s = services(audit_.get());
        s.lock = &lock_;
        if (ledger != nullptr) s.ledger = ledger;
        if (sleeper_) s.sleep = sleeper_;
        auto made = engine::create(ioc_.get_executor(), config_, std::move(playbooks), s, options);
        if (auto* error = std::get_if<std::string>(&made)) throw std::runtime_error(*error);
        return std::move(std::get<std::unique_ptr<engine>>(made));
    }

    /// A pending `verdict: suspicious` row for `threat`, as another instance writes it before
    /// its POST (run `r-000900`, which this engine never had).
    void foreign_pending(const config::playbook& p, std::string_view threat) {
        ASSERT_TRUE(ledger_->mark_pending({{"contain", "verdict:suspicious", std::string(threat), "r-000900", "b-1",
                                            encode_detail({"sim", p.match.carried_scope(), "", std::nullopt})}}));
    }

    state::action_status status_of(std::string_view threat) {
        return row("contain", "verdict:suspicious", threat)->status;
    }

    /// The ids of each verdict POST, in order.
    std::vector<std::string> verdict_posts() const {
        std::vector<std::string> out;
        for (const auto* r : console_.posts("/threats/analyst-verdict")) {
            const auto body = boost::json::parse(r->body).as_object();
            std::string ids;
            for (const auto& id : body.at("filter").at("ids").as_array())
                ids += (ids.empty() ? "" : ",") + std::string(id.as_string());
            out.push_back(ids);
        }
        return out;
    }

    /// One turn of the lease loop, to its end.
    void turn(engine& eng) {
        auto one = [](engine& e) -> asio::awaitable<bool> {
            co_await e.lease_turn();
            co_return true;
        };
        run(one(eng));
    }

    std::size_t first(std::string_view event) const {
        const auto events = audit_events();
        return static_cast<std::size_t>(std::find(events.begin(), events.end(), event) - events.begin());
    }

    test_lock lock_;
    s1::sleeper sleeper_;
    const std::chrono::milliseconds decide_after = config::defaults::call_timeout + config::defaults::lease_grace;
};

TEST_F(leadership_test, without_a_shared_ledger_the_engine_is_always_active) {
    auto eng = make({playbook_with("  - verdict: suspicious")});
    EXPECT_EQ(eng->role(), lease_role::active);
    EXPECT_TRUE(eng->leading());
    EXPECT_TRUE(eng->ready());
    EXPECT_EQ(eng->reason(), "");
    const auto status = eng->status();
    EXPECT_EQ(status.role, "active");
    EXPECT_EQ(status.cluster, "");
}

TEST_F(leadership_test, a_standby_does_nothing_and_says_why) {
    console_.add_threats(2);
    const auto pb = playbook_with("  - verdict: suspicious", "trigger: {every: 60s, webhook: true}\n");
    lock_.busy = true;
    auto eng = make_shared({pb});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_TRUE(settled.standby);
    EXPECT_TRUE(settled.ok());
    EXPECT_EQ(eng->role(), lease_role::standby);
    EXPECT_FALSE(eng->leading());
    EXPECT_FALSE(eng->ready());
    EXPECT_EQ(eng->reason(), "standby: another instance of cluster 'default' is active");
    eng->start_schedule();
    EXPECT_EQ(eng->status().playbooks.at(0).next_run, std::nullopt) << "a standby schedules nothing";

    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_EQ(report.error, "standby: another instance of cluster 'default' is active");
    EXPECT_EQ(eng->start_run("contain", trigger{}), start_result::refused);
    const auto status = to_json(eng->status()).as_object();
    EXPECT_EQ(status.at("role"), "standby");
    EXPECT_EQ(status.at("cluster"), "default");
    EXPECT_EQ(status.at("ready"), false);

    // Still held elsewhere at the next turn: nothing changes.
    turn(*eng);
    EXPECT_EQ(eng->role(), lease_role::standby);
    EXPECT_TRUE(console_.requests.empty()) << "a standby reads nothing and sends nothing";
    EXPECT_EQ(audit_events(), std::vector<std::string>{}) << "and writes no record";
    eng->stop();
    EXPECT_TRUE(run(eng->drain(10s)));
}

TEST_F(leadership_test, taking_the_lock_reconciles_what_was_left_pending_before_any_run) {
    console_.add_threats(2);
    const auto pb = playbook_with("  - verdict: suspicious", "trigger: {webhook: true}\n");
    lock_.busy = true;
    auto eng = make_shared({pb});
    ASSERT_TRUE(run(eng->reconcile_pending()).standby);

    // The active dies after its intent for 101; long enough ago that its POST is surely over.
    foreign_pending(pb, "101");
    clock_.advance(decide_after + 1s);
    lock_.busy = false;
    turn(*eng);
    EXPECT_EQ(eng->role(), lease_role::taking_over);
    EXPECT_TRUE(eng->leading());
    EXPECT_FALSE(eng->ready());
    EXPECT_EQ(eng->reason(), "taking over: reconciling actions left pending");
    EXPECT_EQ(eng->start_run("contain", trigger{}), start_result::refused) << "no run before the reconciliation";
    ASSERT_TRUE(run(eng->drain(10s)));
    EXPECT_EQ(eng->role(), lease_role::active);
    EXPECT_TRUE(eng->ready());
    EXPECT_EQ(status_of("101"), state::action_status::done) << "read back, absent, sent again";
    EXPECT_EQ(verdict_posts(), std::vector<std::string>{"101"});

    EXPECT_EQ(run(eng->run_now("contain")).outcome, run_outcome::ok);
    EXPECT_EQ(verdict_posts(), (std::vector<std::string>{"101", "102"}));
    const auto events = audit_events();
    ASSERT_LT(first("run.start"), events.size());
    EXPECT_LT(first("leader.acquired"), first("action.reconciled"));
    EXPECT_LT(first("action.reconciled"), first("run.start"));
}

TEST_F(leadership_test, another_instances_young_row_is_neither_read_nor_resent_until_it_is_due) {
    console_.add_threats(2);
    const auto pb = playbook_with("  - verdict: suspicious");
    foreign_pending(pb, "101");  // written now: its POST may still be on the wire
    auto eng = make_shared({pb});
    const auto settled = run(eng->reconcile_pending());
    EXPECT_EQ(settled.deferred, 1u);
    EXPECT_EQ(settled.done + settled.failed, 0u);
    EXPECT_EQ(eng->role(), lease_role::active);
    EXPECT_TRUE(console_.requests.empty()) << "not even read";

    // A run that matches it acts on the other threat only.
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(verdict_posts(), std::vector<std::string>{"102"});
    EXPECT_EQ(status_of("101"), state::action_status::pending);
    EXPECT_EQ(report.failures(), 1u) << "its outcome is unknown for now";
    bool held = false;
    for (const auto& r : audit_records())
        if (r.at("event") == "action.reconciled" && r.contains("next") &&
            std::string(r.at("next").as_string()).starts_with("left pending: written by another instance"))
            held = true;
    EXPECT_TRUE(held) << "the audit log says why it was left and when it is due";

    // Just before the call deadline + lease.grace: still left alone.
    clock_.advance(decide_after - 1s);
    turn(*eng);
    ASSERT_TRUE(run(eng->drain(10s)));
    EXPECT_EQ(status_of("101"), state::action_status::pending);
    EXPECT_EQ(verdict_posts().size(), 1u);

    // Then decided: read back, absent, sent again (once).
    clock_.advance(2s);
    turn(*eng);
    ASSERT_TRUE(run(eng->drain(10s)));
    EXPECT_EQ(status_of("101"), state::action_status::done);
    EXPECT_EQ(verdict_posts(), (std::vector<std::string>{"102", "101"}));
    turn(*eng);
    ASSERT_TRUE(run(eng->drain(10s)));
    EXPECT_EQ(verdict_posts().size(), 2u);
}

TEST_F(leadership_test, on_a_shared_ledger_each_intent_is_committed_right_before_its_post) {
    console_.add_threats(4);  // 2 batches of 2
    auto eng = make_shared({playbook_with("  - verdict: suspicious")});
    ASSERT_TRUE(run(eng->reconcile_pending()).ok());
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;
    // Not written ahead during the POST before: the commit just before a POST is what shows the
    // lock still held when it leaves.
    std::vector<std::string> actions;
    for (const auto& r : audit_records()) {
        const auto event = std::string(r.at("event").as_string());
        if (event.starts_with("action.")) actions.push_back(event + " " + std::string(r.at("batch").as_string()));
    }
    EXPECT_EQ(actions, (std::vector<std::string>{"action.intent b-1", "action.result b-1", "action.intent b-2",
                                                 "action.result b-2"}));
}

TEST_F(leadership_test, this_terms_own_rows_are_decided_at_once) {
    console_.add_threats(1);
    // The verdict lands but its answer is lost, and reading it back fails: the row stays pending.
    console_.faults["/threats/analyst-verdict"] = {fault::apply_then_drop};
    bool armed = true;
    console_.after_post = [&armed](fake_console& c) {
        if (!armed) return;
        armed = false;
        c.faults["/threats"] = {fault::server_error, fault::server_error, fault::server_error};
    };
    const auto pb = playbook_with("  - verdict: suspicious");
    auto eng = make_shared({pb});
    ASSERT_TRUE(run(eng->reconcile_pending()).ok());
    (void)run(eng->run_now("contain"));
    ASSERT_EQ(status_of("101"), state::action_status::pending);
    // The next run meets its own term's row: decided now (read back: present), however young.
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(status_of("101"), state::action_status::done);
    EXPECT_EQ(verdict_posts().size(), 1u);
    EXPECT_EQ(report.failures(), 0u);
}

TEST_F(leadership_test, a_session_lost_while_a_call_waits_for_its_turn_sends_nothing_more) {
    config_.consoles["sim"].write = {1, 1};  // the second batch waits a second for its turn
    console_.add_threats(4);
    const auto pb = playbook_with("  - verdict: suspicious");
    engine* eng_ptr = nullptr;
    bool lost = false;
    sleeper_ = [&](std::chrono::nanoseconds d) -> asio::awaitable<void> {
        clock_.advance(std::chrono::duration_cast<std::chrono::microseconds>(d));
        if (!lost && d >= 500ms) {
            // The database goes away while the second batch (its intent written) waits.
            lost = true;
            lock_.lost = true;
            co_await eng_ptr->lease_turn();
        }
    };
    auto eng = make_shared({pb});
    eng_ptr = eng.get();
    ASSERT_TRUE(run(eng->reconcile_pending()).ok());
    const auto report = run(eng->run_now("contain"));
    ASSERT_TRUE(lost);
    EXPECT_EQ(verdict_posts(), std::vector<std::string>{"101,102"}) << "the waiting call was not sent";
    EXPECT_EQ(report.outcome, run_outcome::failed);
    EXPECT_THAT(report.error, StartsWith("standby: the lock of cluster 'default' was lost ("));
    EXPECT_EQ(eng->role(), lease_role::standby);
    EXPECT_FALSE(eng->leading());
    EXPECT_FALSE(eng->ready());
    EXPECT_NE(status_of("103"), state::action_status::done);
    EXPECT_THAT(row("contain", "verdict:suspicious", "103")->failure_reason, HasSubstr("not sent"));
    const auto lost_records = [&] {
        std::vector<boost::json::object> out;
        for (auto& r : audit_records())
            if (r.at("event") == "leader.lost") out.push_back(r);
        return out;
    }();
    ASSERT_EQ(lost_records.size(), 1u);
    EXPECT_THAT(std::string(lost_records[0].at("reason").as_string()),
                HasSubstr("the connection to the server was lost (simulated)"));
}

TEST_F(leadership_test, a_failed_write_fences_and_the_instance_competes_again_on_a_new_session) {
    console_.add_threats(2);
    const auto pb = playbook_with("  - verdict: suspicious");
    failing_ledger ledger(*ledger_);
    auto eng = make_shared({pb}, {}, &ledger);
    ASSERT_TRUE(run(eng->reconcile_pending()).ok());
    ASSERT_EQ(eng->role(), lease_role::active);

    // The database goes: the intent cannot be written, so nothing is sent.
    lock_.lost = true;
    ledger.fail_pending = true;
    EXPECT_EQ(run(eng->run_now("contain")).outcome, run_outcome::failed);
    EXPECT_TRUE(console_.posts().empty());
    turn(*eng);  // the check finds the session gone
    EXPECT_EQ(eng->role(), lease_role::standby);
    EXPECT_FALSE(eng->leading());

    // A new session every lease.retry; refused while the database is down.
    lock_.refuse_reconnect = true;
    turn(*eng);
    EXPECT_EQ(lock_.reconnects, 1);
    EXPECT_EQ(eng->role(), lease_role::standby);
    lock_.refuse_reconnect = false;
    ledger.fail_pending = false;
    turn(*eng);
    EXPECT_EQ(lock_.reconnects, 2);
    EXPECT_EQ(eng->role(), lease_role::standby) << "a new session holds no lock";
    turn(*eng);  // competes: the lock is free
    ASSERT_TRUE(run(eng->drain(10s)));
    EXPECT_EQ(eng->role(), lease_role::active);
    EXPECT_EQ(run(eng->run_now("contain")).outcome, run_outcome::ok);
    EXPECT_EQ(verdict_posts(), std::vector<std::string>{"101,102"});
    const auto events = audit_events();
    EXPECT_EQ(std::count(events.begin(), events.end(), "leader.acquired"), 2);
    EXPECT_EQ(std::count(events.begin(), events.end(), "leader.lost"), 1);
}

}  // namespace
}  // namespace s1pilot::engine::test
