// The engine in-process against s1sim's library on 127.0.0.1 port 0, over real HTTPS: no
// hand-written console. Answers as the console gives them (with and without details[]), and a
// stop that cuts a Retry-After wait short with nothing sent after it.

#include "s1pilot/audit/writer.hpp"
#include "s1pilot/config/load.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>

#include "../unit/net/run_bounded.hpp"
#include "server.hpp"
#include "simulator.hpp"
#include "temp_dir.hpp"

namespace s1pilot::engine {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr const char* token = "CANARY-engine-sim-token";

/// s1sim with the integration tests' pinned dataset (2,000 threats, seed 7), answering `style`.
s1sim::simulator_options sim_options(s1sim::answer_style style) {
    s1sim::simulator_options o;
    o.token = token;
    o.threats = 2000;
    o.seed = 7;
    o.now = core::parse_timestamp("2026-11-21T00:00:00Z");
    o.answers = style;
    return o;
}

class engine_sim : public ::testing::TestWithParam<s1sim::answer_style> {
protected:
    void start(s1sim::simulator_options options) {
        sim_ = std::make_unique<s1sim::simulator>(std::move(options));
        server_ = std::make_unique<s1sim::server>(*sim_, s1sim::server_options{});
        server_->start();
        std::ofstream(dir_.path() / "ca.pem") << server_->ca_pem();
        config::console_config console;
        console.name = "sim";
        console.url = "https://127.0.0.1:" + std::to_string(server_->port());
        console.host = "127.0.0.1";
        console.port = server_->port();
        console.token = config::secret(token);
        console.ca_file = dir_.path() / "ca.pem";
        console.read = {200, 400};
        console.write = {200, 400};
        config_.consoles["sim"] = console;
        config_.retry = {3, std::chrono::milliseconds(50), std::chrono::seconds(60)};
        ledger_ = state::sqlite_ledger::open(dir_.path() / "state.db", clock_).value();
        audit_ = std::make_unique<audit::writer>(audit::writer::open({dir_.path() / "audit.jsonl"}, clock_).value());
    }
    ~engine_sim() override {
        if (server_) server_->stop();
    }

    std::unique_ptr<engine> make(const std::string& yaml) {
        std::vector<core::diagnostic> diagnostics;
        auto p = config::parse_playbook(yaml, "test.yaml", diagnostics);
        for (const auto& d : diagnostics) ADD_FAILURE() << core::to_string(d);
        p->console = "sim";
        engine_services services;
        services.ledger = ledger_.get();
        services.audit = audit_.get();
        services.clock = &clock_;
        auto made = engine::create(ioc_.get_executor(), config_, {*p}, services);
        if (auto* error = std::get_if<std::string>(&made)) throw std::runtime_error(*error);
        return std::move(std::get<std::unique_ptr<engine>>(made));
    }

    /// Every request s1sim received, from its own journal.
    json::array journal() {
        const auto r = sim_->handle({"GET", "/_sim/requests", "", "", std::string("ApiToken ") + token});
        EXPECT_EQ(r.status, 200u) << r.body;
        return json::parse(r.body).at("requests").as_array();
    }
    std::size_t posts_to(std::string_view path) {
        std::size_t n = 0;
        for (const auto& r : journal())
            if (r.at("method").as_string() == "POST" && r.at("path").as_string().ends_with(path)) ++n;
        return n;
    }

    template <class T>
    T run(asio::awaitable<T> work) {
        auto r = s1pilot::test::run_bounded(ioc_, std::move(work), std::chrono::seconds(60));
        if (!r) throw std::runtime_error("timed out");
        return std::move(*r);
    }

    s1pilot::test::temp_dir dir_;
    core::system_clock clock_;
    asio::io_context ioc_{1};
    config::daemon_config config_;
    std::unique_ptr<s1sim::simulator> sim_;
    std::unique_ptr<s1sim::server> server_;
    std::unique_ptr<state::sqlite_ledger> ledger_;
    std::unique_ptr<audit::writer> audit_;
};

const char* const contain = R"(name: contain
match:
  siteIds: ["1364475734565842021"]
  classifications: [Exploit]
actions:
  - mitigate: kill
  - note: "Contained by {{playbook}}"
)";

TEST_P(engine_sim, acts_exactly_once_whatever_the_answers_say_per_threat) {
    start(sim_options(GetParam()));
    auto eng = make(contain);
    const auto first = run(eng->run_now("contain"));
    ASSERT_EQ(first.outcome, run_outcome::ok) << first.error;
    EXPECT_EQ(first.acted, 23u);
    EXPECT_EQ(first.failures(), 0u);
    EXPECT_EQ(first.actions.at(0).threats_done, 23u);
    EXPECT_EQ(first.actions.at(1).threats_done, 23u);
    EXPECT_EQ(posts_to("/threats/mitigate/kill"), 1u);
    EXPECT_EQ(posts_to("/threats/notes"), 1u);
    const auto second = run(eng->run_now("contain"));
    EXPECT_EQ(second.acted, 0u);
    EXPECT_EQ(posts_to("/threats/mitigate/kill"), 1u) << "a second run sent again";
    EXPECT_EQ(posts_to("/threats/notes"), 1u);
}

const char* const remediate_linux = R"(name: remediate-linux
match:
  accountIds: ["1364475734557453411"]
  osTypes: [linux]
  limit: 4
actions:
  - mitigate: remediate
)";

TEST_P(engine_sim, a_mitigation_the_agents_cannot_do_is_never_taken_for_done) {
    start(sim_options(GetParam()));
    auto eng = make(remediate_linux);
    const auto report = run(eng->run_now("remediate-linux"));
    ASSERT_EQ(report.outcome, run_outcome::ok) << report.error;
    EXPECT_EQ(report.actions.at(0).threats_done, 0u);
    if (GetParam() == s1sim::answer_style::detailed) {
        // details[] says skipped (not_supported): the console's final word, sent once.
        EXPECT_EQ(report.actions.at(0).skipped, 4u);
        EXPECT_EQ(posts_to("/threats/mitigate/remediate"), 1u);
    } else {
        // `affected: 0` alone: read back, absent, resent up to retry.max_attempts, then failed.
        EXPECT_EQ(report.actions.at(0).failures, 4u);
        EXPECT_EQ(posts_to("/threats/mitigate/remediate"), 3u);
    }
}

INSTANTIATE_TEST_SUITE_P(Answers, engine_sim,
                         ::testing::Values(s1sim::answer_style::detailed, s1sim::answer_style::minimal),
                         [](const auto& info) {
                             return info.param == s1sim::answer_style::detailed ? "detailed" : "minimal";
                         });

class engine_sim_stop : public engine_sim {};

TEST_F(engine_sim_stop, stop_cuts_a_retry_after_wait_short_and_nothing_is_sent_after_it) {
    auto options = sim_options(s1sim::answer_style::detailed);
    options.rate_limits.write_rate = 1.0 / 60;  // half a token, refilled at one a minute:
    options.rate_limits.write_burst = 0.5;      // the first POST gets 429 with Retry-After: 30
    start(std::move(options));
    auto eng = make(contain);
    bool done = false;
    run_report report;
    asio::co_spawn(ioc_, eng->run_now("contain"), [&](std::exception_ptr, run_report r) {
        report = std::move(r);
        done = true;
    });
    auto throttled = [&] {
        for (const auto& r : journal())
            if (r.at("status").as_int64() == 429) return true;
        return false;
    };
    ioc_.restart();
    for (int i = 0; i < 3000 && !throttled(); ++i) ioc_.run_one_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(throttled());
    const auto seen = journal().size();
    const auto stopped_at = std::chrono::steady_clock::now();
    eng->stop();
    for (int i = 0; i < 3000 && !done; ++i) ioc_.run_one_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(done);
    const auto took = std::chrono::steady_clock::now() - stopped_at;
    EXPECT_LT(took, std::chrono::seconds(10)) << "the 30 s wait was not cut short";
    EXPECT_EQ(journal().size(), seen) << "a request was sent after stop()";
    EXPECT_EQ(report.actions.at(0).threats_done, 0u);
    EXPECT_TRUE(run(eng->drain(std::chrono::seconds(5))));
}

}  // namespace
}  // namespace s1pilot::engine
