// Durable writes on the worker thread: a write stuck on a slow disk holds only what waits for it.
// The event loop goes on: another console's calls are sent and answered meanwhile, and the
// stuck run's own POST waits until its intent is on disk. Event-driven (a gate, not a sleep), so
// a loaded machine cannot break it.

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine_fixture.hpp"

namespace s1pilot::engine::test {
namespace {

/// A ledger whose mark_pending for one playbook blocks on the worker thread until released:
/// the slowest fdatasync there is.
class gated_ledger final : public forwarding_ledger {
public:
    gated_ledger(state::ledger& real, std::string playbook) : forwarding_ledger(real), playbook_(std::move(playbook)) {}

    void release() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }
    bool blocked() {
        std::lock_guard lock(mutex_);
        return blocked_;
    }

    state::result<void> mark_pending(const std::vector<state::action_row>& rows) override {
        if (!rows.empty() && rows.front().playbook == playbook_) {
            std::unique_lock lock(mutex_);
            blocked_ = true;
            // Bounded: a test that forgets to release fails instead of hanging.
            changed_.wait_for(lock, std::chrono::seconds(30), [this] { return open_; });
            blocked_ = false;
        }
        return real_.mark_pending(rows);
    }

private:
    std::string playbook_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = false;
    bool blocked_ = false;
};

/// A ledger whose mark_pending for one playbook takes 200 ms on the worker thread: an fdatasync
/// on a slow disk.
class slow_ledger final : public forwarding_ledger {
public:
    slow_ledger(state::ledger& real, std::string playbook) : forwarding_ledger(real), playbook_(std::move(playbook)) {}
    state::result<void> mark_pending(const std::vector<state::action_row>& rows) override {
        if (!rows.empty() && rows.front().playbook == playbook_)
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return real_.mark_pending(rows);
    }

private:
    std::string playbook_;
};

class worker_test : public engine_fixture {
protected:
    /// The engine on two consoles, "sim" (console_) and "other", with `ledger` in between.
    std::unique_ptr<engine> two_consoles(state::ledger& ledger, fake_console& other) {
        config_.consoles["other"] = config_.consoles["sim"];
        config_.consoles["other"].name = "other";
        auto s = services(audit_.get());
        s.ledger = &ledger;
        s.transports = [&](const config::console_config& console,
                           asio::any_io_executor) -> std::variant<std::unique_ptr<net::transport>, std::string> {
            net::transport& to = console.name == "other" ? static_cast<net::transport&>(other) : console_;
            return std::unique_ptr<net::transport>(std::make_unique<forwarding_transport>(to));
        };
        auto slow = playbook_with("  - mitigate: kill");
        slow.name = "slow";
        auto reader = playbook_with("  - mitigate: kill");
        reader.name = "reader";
        reader.console = "other";
        auto made = engine::create(ioc_.get_executor(), config_, {slow, reader}, s);
        return std::move(std::get<std::unique_ptr<engine>>(made));
    }
};

TEST_F(worker_test, a_write_stuck_on_disk_holds_its_own_post_while_another_consoles_calls_go_on) {
    // Two consoles: "sim" (the fixture's) and "other", each with its own fake.
    fake_console other;
    console_.add_threats(2);
    other.add_threats(3, 201);
    gated_ledger ledger(*ledger_, "slow");
    auto eng = two_consoles(ledger, other);

    run_report slow_report, reader_report;
    bool slow_done = false;
    asio::co_spawn(ioc_, eng->run_now("slow"), [&](std::exception_ptr, run_report r) {
        slow_report = std::move(r);
        slow_done = true;
    });
    // Until the slow run's intent is stuck on the worker thread.
    ioc_.restart();
    for (int i = 0; i < 10'000 && !ledger.blocked(); ++i) ioc_.run_one_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(ledger.blocked());
    EXPECT_TRUE(console_.posts().empty()) << "a POST left before its intent was on disk";

    // Meanwhile the other console is read: its GET goes out and is answered; its own ledger step
    // then queues behind the stuck write (one worker thread), so its run does not end yet.
    const auto started = std::chrono::steady_clock::now();
    bool reader_done = false;
    asio::co_spawn(ioc_, eng->run_now("reader"), [&](std::exception_ptr, run_report r) {
        reader_report = std::move(r);
        reader_done = true;
    });
    for (int i = 0; i < 10'000 && other.requests.empty(); ++i) ioc_.run_one_for(std::chrono::milliseconds(10));
    const auto first_call = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(other.requests.empty()) << "the other console's call waited for the stuck write";
    EXPECT_EQ(other.requests.front().method, net::http_method::get);
    EXPECT_TRUE(ledger.blocked());
    EXPECT_TRUE(console_.posts().empty());
    std::printf("other console's first call answered %lld us after it was asked for, with a write stuck\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(first_call).count()));

    // The disk is back: both runs finish, each POST after its own intent.
    ledger.release();
    for (int i = 0; i < 10'000 && !(slow_done && reader_done); ++i) ioc_.run_one_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(slow_done && reader_done);
    EXPECT_EQ(slow_report.outcome, run_outcome::ok) << slow_report.error;
    EXPECT_EQ(reader_report.outcome, run_outcome::ok) << reader_report.error;
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 1u);
    EXPECT_EQ(other.posts("/threats/mitigate/kill").size(), 2u);
}

TEST_F(worker_test, with_each_intent_taking_200_ms_the_other_consoles_reads_are_not_held) {
    // Reports both runs' latencies (a figure, not a timed assertion: only the order is checked).
    fake_console other;
    console_.add_threats(6);  // three batches of two: three slow intents
    other.add_threats(3, 201);
    slow_ledger ledger(*ledger_, "slow");
    auto eng = two_consoles(ledger, other);
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    clock::time_point slow_end{}, reader_end{}, reader_first_get{};
    asio::co_spawn(ioc_, eng->run_now("slow"), [&](std::exception_ptr, run_report) { slow_end = clock::now(); });
    ioc_.restart();
    // The slow run's first intent is on the worker thread: start the reader now.
    for (int i = 0; i < 1000 && console_.requests.empty(); ++i) ioc_.run_one_for(std::chrono::milliseconds(5));
    const auto reader_started = clock::now();
    asio::co_spawn(ioc_, eng->run_now("reader"), [&](std::exception_ptr, run_report) { reader_end = clock::now(); });
    for (int i = 0; i < 10'000 && (slow_end == clock::time_point{} || reader_end == clock::time_point{}); ++i) {
        ioc_.run_one_for(std::chrono::milliseconds(5));
        if (reader_first_get == clock::time_point{} && !other.requests.empty()) reader_first_get = clock::now();
    }
    ASSERT_NE(slow_end, clock::time_point{});
    ASSERT_NE(reader_end, clock::time_point{});
    auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::printf("slow run (3 intents x 200 ms): %.1f ms; other console: first GET after %.2f ms, run %.1f ms\n",
                ms(slow_end - started), ms(reader_first_get - reader_started), ms(reader_end - reader_started));
    EXPECT_LT(reader_first_get, slow_end) << "the other console's read waited for the slow run";
    EXPECT_EQ(console_.posts("/threats/mitigate/kill").size(), 3u);
    EXPECT_EQ(other.posts("/threats/mitigate/kill").size(), 2u);
}

}  // namespace
}  // namespace s1pilot::engine::test
