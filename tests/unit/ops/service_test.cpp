// The lifecycle in-process: readiness with its reasons, what systemd is told and when, reloads
// refused with every file:line:col or swapped in, and the stop. The engine runs against the
// engine tests' in-memory console; systemd is a recording notifier.

#include "s1pilot/ops/service.hpp"

#include <boost/asio/co_spawn.hpp>

#include <gtest/gtest.h>

#include "../engine/engine_fixture.hpp"

namespace s1pilot::ops {
namespace {

namespace asio = boost::asio;
using engine::test::engine_fixture;

class service_test : public engine_fixture {
protected:
    service_test() {
        playbook_file_ = dir_.path() / "contain.yaml";
        write(playbook_file_, "name: contain\nmatch:\n  siteIds: [\"7\"]\nactions:\n  - mitigate: kill\n");
    }

    static void write(const std::filesystem::path& file, const std::string& text) { std::ofstream(file) << text; }

    /// What a reload reads: the fixture's configuration and the playbook files as they are now.
    config::load_result load() const {
        auto loaded = config::load_playbooks({playbook_file_}, &config_);
        loaded.config = config_;
        return loaded;
    }

    /// Starts run() and steps the io_context until `done()` (bounded: 20 s of real time).
    template <class Done>
    bool step_until(Done done) {
        ioc_.restart();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done() && std::chrono::steady_clock::now() < until) ioc_.run_one_for(std::chrono::milliseconds(20));
        return done();
    }

    bool said(const std::string& prefix) const {
        return std::any_of(notify_.messages.begin(), notify_.messages.end(),
                           [&](const std::string& m) { return m.starts_with(prefix); });
    }

    std::filesystem::path playbook_file_;
    recording_notifier notify_;
};

TEST_F(service_test, is_not_ready_while_starting_ready_after_and_stops_on_request) {
    console_.add_threats(1);
    auto eng = make(load().playbooks);
    service daemon(
        *eng, notify_, [this] { return load(); }, nullptr);
    EXPECT_FALSE(daemon.ready().ready);
    EXPECT_EQ(daemon.ready().reasons, (std::vector<std::string>{"starting: reconciling actions left pending"}));
    std::optional<int> exit;
    asio::co_spawn(ioc_, daemon.run(), [&](std::exception_ptr e, int code) {
        if (e) std::rethrow_exception(e);
        exit = code;
    });
    ASSERT_TRUE(step_until([&] { return said("READY=1"); }));
    EXPECT_TRUE(daemon.ready().ready);
    EXPECT_EQ(notify_.messages.front(), "STATUS=starting: reconciling actions left pending");
    EXPECT_TRUE(said("READY=1\nSTATUS=running 1 playbook(s)"));

    daemon.request_stop("test");
    ASSERT_TRUE(step_until([&] { return exit.has_value(); }));
    EXPECT_EQ(*exit, 0);
    EXPECT_TRUE(daemon.drained());
    EXPECT_TRUE(said("STOPPING=1"));
    const auto events = audit_events();
    EXPECT_EQ(events.back(), "daemon.stop");
}

TEST_F(service_test, a_reload_with_a_problem_is_refused_with_every_location_and_the_old_set_runs_on) {
    auto eng = make(load().playbooks);
    service daemon(
        *eng, notify_, [this] { return load(); }, nullptr);
    std::optional<int> exit;
    asio::co_spawn(ioc_, daemon.run(), [&](std::exception_ptr, int code) { exit = code; });
    ASSERT_TRUE(step_until([&] { return said("READY=1"); }));

    write(playbook_file_,
          "name: contain\nmatch:\n  siteIds: [\"7\"]\n  clasifications: [Exploit]\nactions:\n"
          "  - mitigate: slay\n");
    daemon.request_reload("SIGHUP");
    ASSERT_TRUE(step_until([&] { return daemon.rejections() == 1; }));
    EXPECT_EQ(eng->current()->generation, 1u) << "a broken set is never swapped in";
    const auto records = audit_records();
    const auto rejected = std::find_if(records.begin(), records.end(),
                                       [](const auto& r) { return r.at("event").as_string() == "config.rejected"; });
    ASSERT_NE(rejected, records.end());
    EXPECT_EQ(rejected->at("trigger").as_string(), "SIGHUP");
    const auto& problems = rejected->at("problems").as_array();
    ASSERT_EQ(problems.size(), 2u);
    const auto file = playbook_file_.string();
    EXPECT_TRUE(problems[0].as_string().starts_with(file + ":4:3: unknown key \"clasifications\"")) << problems[0];
    EXPECT_TRUE(problems[1].as_string().starts_with(file + ":6:15:")) << problems[1];
    // systemd saw the reload begin and end (READY=1 ends it, refused or not).
    const auto reloading = std::find_if(notify_.messages.begin(), notify_.messages.end(),
                                        [](const std::string& m) { return m.starts_with("RELOADING=1"); });
    ASSERT_NE(reloading, notify_.messages.end());
    EXPECT_NE(
        std::find_if(reloading, notify_.messages.end(), [](const std::string& m) { return m.starts_with("READY=1"); }),
        notify_.messages.end());
    EXPECT_TRUE(daemon.ready().ready);

    // Fixed: swapped in, audited as config.loaded.
    write(playbook_file_, "name: contain\nmatch:\n  siteIds: [\"8\"]\nactions:\n  - mitigate: kill\n");
    daemon.request_reload("contain.yaml modified");
    ASSERT_TRUE(step_until([&] { return daemon.reloads() == 1; }));
    EXPECT_EQ(eng->current()->generation, 2u);
    const auto loaded = audit_records().back();
    EXPECT_EQ(loaded.at("event").as_string(), "config.loaded");
    EXPECT_EQ(loaded.at("trigger").as_string(), "contain.yaml modified");
    daemon.request_stop("test");
    ASSERT_TRUE(step_until([&] { return exit.has_value(); }));
}

TEST_F(service_test, a_stop_during_start_up_reconciliation_is_not_held_by_it) {
    auto eng = make(load().playbooks);
    service_options options;
    options.startup_timeout = std::chrono::hours(1);
    service daemon(
        *eng, notify_, [this] { return load(); }, nullptr, options);
    daemon.request_stop("SIGTERM");  // before run(): as a signal queued during start-up
    std::optional<int> exit;
    asio::co_spawn(ioc_, daemon.run(), [&](std::exception_ptr, int code) { exit = code; });
    ASSERT_TRUE(step_until([&] { return exit.has_value(); }));
    EXPECT_EQ(*exit, 0);
    EXPECT_FALSE(said("READY=1"));
    EXPECT_TRUE(said("STOPPING=1"));
}

}  // namespace
}  // namespace s1pilot::ops
