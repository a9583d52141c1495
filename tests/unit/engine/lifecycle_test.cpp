// The engine as a long-running service: one loop per playbook on the injected clock, reloads that
// start, stop and re-time only the loops that changed, runs that finish on their snapshot, failing
// closed and recovering by itself, and answers read as DESIGN.md §4 says.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <map>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

/// Virtual time for loops that share one manual clock: a sleep parks until the driver moves the
/// clock to its due time, and the driver always wakes the earliest one, so several loops run as
/// they would on a real clock, instantly.
class virtual_time {
public:
    explicit virtual_time(core::manual_clock& clock) : clock_(clock) {}

    asio::awaitable<void> sleep(std::chrono::nanoseconds d) {
        asio::steady_timer parked(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
        const auto due = clock_.steady_now() + std::chrono::duration_cast<std::chrono::microseconds>(d);
        parked_.emplace(due, &parked);
        co_await parked.async_wait(asio::as_tuple(asio::use_awaitable));
    }

    /// Wakes the earliest sleeper, moving the clock to its due time. False when none sleeps.
    bool advance() {
        if (parked_.empty()) return false;
        const auto earliest = parked_.begin();
        if (earliest->first > clock_.steady_now())
            clock_.advance(
                std::chrono::duration_cast<std::chrono::microseconds>(earliest->first - clock_.steady_now()));
        auto* timer = earliest->second;
        parked_.erase(earliest);
        timer->cancel();
        return true;
    }

private:
    core::manual_clock& clock_;
    std::multimap<std::chrono::steady_clock::time_point, asio::steady_timer*> parked_;
};

class lifecycle_test : public engine_fixture {
protected:
    /// An engine whose sleeps run on virtual time.
    std::unique_ptr<engine> make_virtual(std::vector<config::playbook> playbooks) {
        auto s = services(audit_.get());
        s.sleep = [this](std::chrono::nanoseconds d) { return time_.sleep(d); };
        auto made = engine::create(ioc_.get_executor(), config_, std::move(playbooks), s);
        if (auto* error = std::get_if<std::string>(&made)) throw std::runtime_error(*error);
        return std::move(std::get<std::unique_ptr<engine>>(made));
    }

    /// Runs until `done()`: whatever can run now; while a run is in flight, its real work (the
    /// worker thread); only when every run has ended, the earliest sleeper on virtual time (these
    /// runs never sleep themselves). Bounded by a count of steps.
    template <class Done>
    bool run_virtual(const engine& eng, Done done, std::size_t limit = 100'000) {
        ioc_.restart();
        for (std::size_t i = 0; i < limit && !done(); ++i) {
            if (ioc_.poll() > 0) continue;
            if (eng.active_runs() > 0) {
                ioc_.run_one_for(std::chrono::milliseconds(100));
                continue;
            }
            if (!time_.advance() && ioc_.run_one_for(std::chrono::seconds(5)) == 0) return done();
        }
        return done();
    }

    virtual_time time_{clock_};

    /// A polled playbook on its own site, so that its GETs can be told apart.
    static config::playbook polled(std::string name, std::string site, std::string every,
                                   std::string actions = "  - mitigate: kill") {
        const std::string yaml = "name: " + name + "\ntrigger:\n  every: " + every + "\nmatch:\n  siteIds: [\"" + site +
                                 "\"]\nactions:\n" + actions + "\n";
        auto p = parse(yaml);
        p.sha256 = yaml;  // stands in for the file's hash: a changed playbook has a changed one
        return p;
    }

    /// GETs of /threats for a site so far.
    std::size_t reads_of_site(const std::string& site) const {
        std::size_t n = 0;
        for (const auto& r : console_.requests)
            if (r.method == net::http_method::get && r.target.find("/threats?") != std::string::npos &&
                r.target.find("siteIds=" + site) != std::string::npos)
                ++n;
        return n;
    }
};

TEST_F(lifecycle_test, each_playbook_polls_on_the_injected_clock_start_to_start) {
    auto eng = make_virtual({polled("alpha", "7", "10s"), polled("beta", "8", "30s")});
    const auto started = clock_.steady_now();
    eng->start_schedule();
    // 300 s of schedule, instantly: alpha runs every 10 s, beta every 30 s (after a splay of at most
    // max_splay = 10 s, half of it with random() = 0.5).
    ASSERT_TRUE(run_virtual(*eng, [&] { return clock_.steady_now() - started >= std::chrono::seconds(300); }));
    eng->stop();
    ASSERT_TRUE(run_virtual(*eng, [&] { return eng->active_runs() == 0; }));
    while (time_.advance()) ioc_.poll();  // the loops' sleeps end: they see the stop and return
    ASSERT_TRUE(run(eng->drain(std::chrono::seconds(5))));
    EXPECT_NEAR(static_cast<double>(reads_of_site("7")), 30.0, 1.0);
    EXPECT_NEAR(static_cast<double>(reads_of_site("8")), 10.0, 1.0);
}

TEST_F(lifecycle_test, a_reload_starts_stops_and_retimes_only_the_loops_that_changed) {
    auto eng = make_virtual({polled("alpha", "7", "10s"), polled("beta", "8", "10s"), polled("gamma", "9", "10s")});
    eng->start_schedule();
    const auto t0 = clock_.steady_now();
    ASSERT_TRUE(run_virtual(*eng, [&] { return clock_.steady_now() - t0 >= std::chrono::seconds(100); }));
    // beta removed, gamma re-timed to 50 s, delta added; alpha untouched.
    auto report =
        eng->reload(config_, {polled("alpha", "7", "10s"), polled("gamma", "9", "50s"), polled("delta", "6", "10s")});
    ASSERT_TRUE(report.ok()) << report.error;
    EXPECT_EQ(report.added, (std::vector<std::string>{"delta"}));
    EXPECT_EQ(report.removed, (std::vector<std::string>{"beta"}));
    EXPECT_EQ(report.changed, (std::vector<std::string>{"gamma"}));
    EXPECT_EQ(report.unchanged, 1u);
    EXPECT_EQ(eng->current()->generation, 2u);
    const auto alpha = reads_of_site("7"), beta = reads_of_site("8"), gamma = reads_of_site("9");
    const auto t1 = clock_.steady_now();
    ASSERT_TRUE(run_virtual(*eng, [&] { return clock_.steady_now() - t1 >= std::chrono::seconds(200); }));
    eng->stop();
    ASSERT_TRUE(run_virtual(*eng, [&] { return eng->active_runs() == 0; }));
    while (time_.advance()) ioc_.poll();  // the loops' sleeps end: they see the stop and return
    ASSERT_TRUE(run(eng->drain(std::chrono::seconds(5))));
    EXPECT_NEAR(static_cast<double>(reads_of_site("7") - alpha), 20.0, 1.0);
    EXPECT_EQ(reads_of_site("8"), beta) << "a removed playbook is not polled any more";
    EXPECT_NEAR(static_cast<double>(reads_of_site("9") - gamma), 4.0, 1.0);
    EXPECT_NEAR(static_cast<double>(reads_of_site("6")), 20.0, 1.0);
}

TEST_F(lifecycle_test, a_reload_naming_an_unknown_console_is_refused_and_changes_nothing) {
    auto eng = make({polled("alpha", "7", "10s")});
    auto broken = polled("alpha", "7", "20s");
    broken.console = "elsewhere";
    const auto report = eng->reload(config_, {broken});
    EXPECT_FALSE(report.ok());
    EXPECT_EQ(report.error, "playbook 'alpha': console 'elsewhere' is not configured");
    EXPECT_EQ(eng->current()->generation, 1u);
    EXPECT_EQ(eng->current()->playbooks.at(0).trigger.every, std::chrono::milliseconds(10'000));
}

TEST_F(lifecycle_test, a_run_in_flight_when_a_reload_lands_completes_on_its_old_snapshot) {
    console_.add_threats(4);
    auto eng = make({polled("alpha", "7", "10s")});
    // The reload lands while the run's first POST is on the wire: it adds a note to the playbook.
    bool reloaded = false;
    console_.after_post = [&](fake_console&) {
        if (reloaded) return;
        reloaded = true;
        auto report = eng->reload(config_, {polled("alpha", "7", "10s", "  - mitigate: kill\n  - note: \"new\"")});
        ASSERT_TRUE(report.ok()) << report.error;
    };
    const auto first = run(eng->run_now("alpha"));
    EXPECT_TRUE(reloaded);
    EXPECT_EQ(first.actions.size(), 1u) << "the run kept its snapshot: no note";
    EXPECT_TRUE(console_.posts("/threats/notes").empty());
    const auto second = run(eng->run_now("alpha"));
    ASSERT_EQ(second.actions.size(), 2u);
    EXPECT_EQ(console_.posts("/threats/notes").size(), 2u);  // the next run is on the new snapshot
}

TEST_F(lifecycle_test, a_failed_audit_write_fails_closed_and_readiness_returns_when_writes_succeed) {
    console_.add_threats(2);
    failing_ledger ledger(*ledger_);
    auto s = services(audit_.get());
    s.ledger = &ledger;
    auto made = engine::create(ioc_.get_executor(), config_, {playbook_with("  - mitigate: kill")}, s);
    auto eng = std::move(std::get<std::unique_ptr<engine>>(made));
    ledger.fail_pending = true;  // the disk fails every write
    ledger.run_ids_left = 0;
    const auto failed = run(eng->run_now("contain"));
    EXPECT_EQ(failed.outcome, run_outcome::failed);
    EXPECT_FALSE(eng->ready());
    EXPECT_EQ(eng->reason(), "ledger: ledger test.db: disk I/O error (simulated)");
    EXPECT_EQ(failed.error, "ledger: ledger test.db: disk I/O error (simulated)");
    EXPECT_TRUE(console_.posts().empty()) << "nothing is sent after a failed write";
    // Still failing: it stays not ready however often it tries (every 3 s of the injected clock).
    const auto failing_since = clock_.steady_now();
    ASSERT_TRUE(run_until([&] { return clock_.steady_now() - failing_since >= std::chrono::seconds(30); }));
    EXPECT_FALSE(eng->ready());
    // The disk is back: the next try succeeds and the engine is ready again, without a restart.
    ledger.fail_pending = false;
    ledger.run_ids_left = -1;
    ASSERT_TRUE(run_until([&] { return eng->ready(); }));
    const auto again = run(eng->run_now("contain"));
    EXPECT_EQ(again.outcome, run_outcome::ok) << again.error;
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 1u);
    const auto events = audit_events();
    EXPECT_NE(std::find(events.begin(), events.end(), "engine.recovered"), events.end());
}

TEST_F(lifecycle_test, affected_zero_without_details_is_never_done) {
    console_.add_threats(2);
    auto eng = make({playbook_with("  - mitigate: kill")});
    // Every send answered `{"data":{"affected":0}}` and nothing applied (the agent is not there).
    for (int i = 0; i < 3; ++i) console_.faults["/threats/mitigate/kill"].push_back(fault::not_applied);
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.actions.at(0).threats_done, 0u);
    EXPECT_EQ(report.actions.at(0).failures, 2u);
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 3u) << "read back, resent where absent, up to the cap";
    const auto r = row("contain", "mitigate:kill", "101");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, state::action_status::failed);
}

TEST_F(lifecycle_test, a_notes_answer_affecting_fewer_than_sent_is_read_back_never_resent_blindly) {
    console_.add_threats(2);
    auto eng = make({playbook_with("  - note: \"Contained\"")});
    console_.answers["/threats/notes"].push_back(R"({"data":{"affected":1}})");
    const auto report = run(eng->run_now("contain"));
    EXPECT_EQ(report.outcome, run_outcome::ok) << report.error;
    EXPECT_EQ(report.actions.at(0).threats_done, 2u);
    EXPECT_EQ(report.actions.at(0).reconciled, 2u);
    EXPECT_EQ(console_.posts("/threats/notes").size(), 1u) << "the notes were read, not posted again";
    EXPECT_EQ(console_.notes["101"], (std::vector<std::string>{"Contained"}));
}

}  // namespace
}  // namespace s1pilot::engine::test
