// Leadership on a shared PostgreSQL ledger, black-box (DESIGN §9, docs/high-availability.md): two
// real `s1pilot run` on one database of the binary's own PostgreSQL and one s1sim. Exactly one is
// active (ready, s1pilot_leader 1, role active; the other standby: 503, leader 0, webhooks 503);
// when the active's session is killed the other takes over within lease.retry and the detection,
// reconciling what was left pending before its first run; when the database stops during a run
// the active stops sending within a second (s1sim's journal, receivedNs, against the instant the
// server was stopped) and turns not ready; when it is back, exactly one instance is active again.
// The figures are printed (take-over time, stop-sending delay).

#include "s1pilot/config/load.hpp"
#include "s1pilot/core/clock.hpp"
#include "s1pilot/engine/effects.hpp"
#include "s1pilot/engine/plan.hpp"
#include "s1pilot/state/postgres_ledger.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <thread>

#include "postgres_server.hpp"
#include "raw_http.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

constexpr auto lease_retry = 500ms;

/// One `s1pilot run` of the cluster: its files, its process and its admin listener.
struct instance {
    instance(const fs::path& dir, const std::string& token) : files(dir, token) {}

    raw_reply get(const std::string& target) const { return http_call(port, "GET", target, {}, {}, 10s); }
    raw_reply post(const std::string& target, const std::string& body) const {
        return http_call(port, "POST", target,
                         {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + files.admin_token()}},
                         body, 10s);
    }
    bool ready() const { return get("/readyz").status == 200; }
    /// The first reason /readyz gives (empty when ready).
    std::string reason() const {
        const auto reply = get("/readyz");
        boost::system::error_code ec;
        const auto v = json::parse(reply.body, ec);
        if (ec || !v.is_object() || !v.as_object().contains("reasons")) return {};
        const auto& reasons = v.at("reasons").as_array();
        return reasons.empty() ? std::string() : std::string(reasons.at(0).as_string());
    }
    /// The value of `s1pilot_leader` in a scrape (-1 when absent).
    int leader() const {
        std::smatch m;
        const auto body = get("/metrics").body;
        static const std::regex line("\\ns1pilot_leader ([0-9.]+)");
        return std::regex_search(body, m, line) ? static_cast<int>(std::stod(m[1])) : -1;
    }
    /// `s1pilot status --json` (what a driver reads to find the active instance): its role.
    std::string role() const {
        const auto out = files.run({"status", "--json", "--address", "127.0.0.1:" + std::to_string(port)}, 60s);
        boost::system::error_code ec;
        const auto v = json::parse(out.out, ec);
        return !ec && v.is_object() && v.as_object().contains("role") ? std::string(v.at("role").as_string())
                                                                      : "(" + out.describe() + ")";
    }
    std::vector<std::string> events() const {
        std::vector<std::string> out;
        for (const auto& r : files.audit_records()) out.push_back(text_of(r, "event"));
        return out;
    }

    pilot files;
    std::unique_ptr<child_process> daemon;
    std::uint16_t port = 0;
};

class HighAvailability : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        server_ = test::postgres_server::get(reason);
        if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL: " << reason;
        database_ = server_->create_database();
        sim_ = std::make_unique<sim_process>(dir_.path(), token_);
        ASSERT_TRUE(sim_->started());
        password_file_ = dir_.path() / "db-password";
        write_text(password_file_, test::postgres_server::password());
        fs::permissions(password_file_, fs::perms::owner_read | fs::perms::owner_write);
        for (const char* name : {"a", "b"}) nodes_.push_back(std::make_unique<instance>(dir_.path() / name, token_));
    }

    void TearDown() override {
        for (auto& n : nodes_)
            if (n->daemon && n->daemon->running()) n->daemon->stop(SIGKILL);
        // The server may have been stopped by the test: the next test needs it.
        if (server_ != nullptr && stopped_) server_->start_server();
    }

    /// Both instances configured (cluster `it`, lease.retry 500ms) and started; waits until
    /// their listeners answer and one of them is ready.
    void start_both() {
        for (auto& n : nodes_) {
            console_settings console{.url = sim_->url(), .ca_file = sim_->ca_file(), .batch_size = 1};
            console.state = server_->uri(database_);
            console.state_password_file = password_file_;
            console.extra_yaml = "cluster: it\nlease: {retry: 500ms, grace: 1s}\n";
            const fs::path data(S1PILOT_TEST_DATA);
            n->files.write_config(console, {n->files.copy_playbook(data / "integration" / "ha-poll.yaml"),
                                            n->files.copy_playbook(data / "integration" / "ha-webhook.yaml")});
            n->daemon = n->files.start({"run", "-c", n->files.config_path().string()});
        }
        for (auto& n : nodes_) {
            n->port = admin_port_of(*n->daemon);
            ASSERT_NE(n->port, 0) << n->daemon->stderr_text();
        }
        ASSERT_TRUE(wait_until([&] { return active_count() == 1; }, 60s)) << logs();
    }

    int active_count() const {
        int n = 0;
        for (const auto& node : nodes_) n += node->ready() ? 1 : 0;
        return n;
    }
    instance& active() const {
        for (const auto& n : nodes_)
            if (n->ready()) return *n;
        return *nodes_.front();
    }
    instance& other(const instance& one) const { return nodes_[0].get() == &one ? *nodes_[1] : *nodes_[0]; }

    /// Exactly one active, as every way of asking says.
    void expect_one_active() const {
        instance& a = active();
        instance& b = other(a);
        EXPECT_TRUE(a.ready());
        EXPECT_EQ(a.leader(), 1);
        EXPECT_EQ(a.role(), "active");
        EXPECT_FALSE(b.ready());
        EXPECT_EQ(b.get("/readyz").status, 503);
        // After the database came back, the other instance may still report its lost session
        // until its next lease turn opens a new one; then it says standby.
        EXPECT_TRUE(wait_until([&] { return b.reason().rfind("standby", 0) == 0; }, 30s)) << b.reason();
        EXPECT_EQ(b.leader(), 0);
        EXPECT_EQ(b.role(), "standby");
        EXPECT_EQ(b.get("/healthz").status, 200) << "a standby is healthy";
    }

    std::string logs() const {
        std::string out;
        for (const auto& n : nodes_)
            if (n->daemon) out += "\n--- " + n->files.config_path().string() + "\n" + n->daemon->stderr_text();
        return out;
    }

    /// Threat ids the webhook playbook matches (site ...021, Exploit), from s1sim's dataset.
    std::vector<std::string> webhook_threats() const {
        std::vector<std::string> out;
        const auto dataset = sim_->dump();
        for (const auto& t : dataset.at("data").as_array()) {
            const auto& o = t.as_object();
            if (o.at("agentRealtimeInfo").at("siteId") == "1364475734565842021" &&
                o.at("threatInfo").at("classification") == "Exploit")
                out.emplace_back(o.at("id").as_string());
        }
        return out;
    }

    /// A `verdict: suspicious` row of the webhook playbook left pending for `threat` by an
    /// instance that died after its intent, `age` ago (its own clock then), written as that
    /// instance would have (the engine's key and detail).
    void leave_pending(const std::string& threat, std::chrono::seconds age) {
        auto loaded = config::load_playbooks({fs::path(S1PILOT_TEST_DATA) / "integration" / "ha-webhook.yaml"});
        ASSERT_EQ(loaded.playbooks.size(), 1u);
        const auto& p = loaded.playbooks.front();
        core::manual_clock then(core::system_clock{}.now() -
                                std::chrono::duration_cast<std::chrono::microseconds>(age));
        auto ledger = state::postgres_ledger::open(server_->uri(database_), test::postgres_server::password(), then);
        ASSERT_TRUE(ledger) << ledger.error().message;
        const auto detail = engine::encode_detail({"sim", p.match.carried_scope(), "", std::nullopt});
        ASSERT_TRUE((*ledger)->mark_pending(
            {{p.name, engine::ledger_key(p.actions.front()), threat, "r-900000", "b-1", detail}}));
    }

    /// What stopping the database under the active showed, from s1sim's journal.
    struct stop_figures {
        std::chrono::nanoseconds last_after_stop{0};  ///< the last POST's arrival minus the stop (< 0: before)
        std::size_t after = 0;                        ///< POSTs that arrived after the stop
        std::chrono::nanoseconds not_ready_after{0};  ///< until the active's /readyz said 503
    };

    /// Stops the server under the active (the instant is taken just before), waits until it is
    /// not ready and 3 s more (what was still to leave has left), and prints the figures.
    stop_figures stop_database(const char* while_what) {
        instance& a = active();
        stop_figures out;
        const auto stopped_at = steady::now();
        stopped_ = true;
        EXPECT_TRUE(server_->stop_server());
        EXPECT_TRUE(wait_until([&] { return !a.ready(); }, 10s)) << logs();
        out.not_ready_after = steady::now() - stopped_at;
        std::this_thread::sleep_for(3s);
        const auto stop_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(stopped_at.time_since_epoch());
        std::int64_t last = 0;
        for (const auto& p : sim_->posts()) {
            last = std::max(last, p.received_ns);
            if (p.received_ns > stop_ns.count()) ++out.after;
        }
        out.last_after_stop = std::chrono::nanoseconds(last) - stop_ns;
        std::printf(
            "[ figures  ] database stopped (%s): last POST received %.1f ms after the stop (%zu after it); "
            "the active not ready after %.1f ms\n",
            while_what, static_cast<double>(out.last_after_stop.count()) / 1e6, out.after,
            static_cast<double>(out.not_ready_after.count()) / 1e6);
        EXPECT_EQ(active_count(), 0) << "no instance is active without the database";
        return out;
    }

    test::postgres_server* server_ = nullptr;
    std::string database_;
    bool stopped_ = false;
    temp_dir dir_;
    std::string token_ = "CANARY-" + random_hex(32);
    std::unique_ptr<sim_process> sim_;
    fs::path password_file_;
    std::vector<std::unique_ptr<instance>> nodes_;  // destroyed first: the daemons before s1sim
};

TEST_F(HighAvailability, TwoDaemonsOnOneDatabaseMakeExactlyOneActive) {
    start_both();
    expect_one_active();
    instance& a = active();
    instance& b = other(a);
    // A load balancer sends triggers to the active: the standby answers 503.
    const std::string body = R"({"threatIds":["1590000000000104729"]})";
    EXPECT_EQ(b.post("/v1/events", body).status, 503);
    EXPECT_EQ(a.post("/v1/events", body).status, 202);
    // Only the active runs its polled playbook (every 5s, first within 5s).
    ASSERT_TRUE(wait_until([&] { return !a.files.audit_events("run.end").empty(); }, 30s)) << logs();
    std::this_thread::sleep_for(lease_retry * 3);
    EXPECT_EQ(active_count(), 1);
    EXPECT_TRUE(b.files.audit_events("run.start").empty());
    EXPECT_TRUE(b.files.audit_events("action.intent").empty());
    EXPECT_EQ(a.files.audit_events("leader.acquired").size(), 1u);
    EXPECT_TRUE(b.files.audit_events("leader.acquired").empty());
    for (auto& n : nodes_) {
        EXPECT_EQ(n->daemon->stop(SIGTERM), 0) << n->daemon->stderr_text();
        n->files.expect_token_never_written();
        EXPECT_EQ(n->daemon->stderr_text().find(test::postgres_server::password()), std::string::npos);
    }
}

TEST_F(HighAvailability, KillingTheActivesSessionHandsOverAndTheNewActiveReconcilesFirst) {
    const auto threats = webhook_threats();
    ASSERT_FALSE(threats.empty());
    start_both();
    instance& a = active();
    instance& b = other(a);
    // A row left pending by an instance that died after its intent, 200 s ago: longer than the
    // call deadline and the grace, so that a take-over decides it (a younger one would wait).
    leave_pending(threats.front(), 200s);
    const auto posts_before = sim_->posts().size();

    // The active's session ends (as when its host is cut off and the server drops it).
    const auto killed_at = steady::now();
    ASSERT_EQ(
        server_->exec(database_,
                      "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = "
                      "l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"),
        "");
    ASSERT_TRUE(wait_until([&] { return b.ready(); }, 30s)) << logs();
    const auto took_over = steady::now() - killed_at;
    std::printf("[ figures  ] take-over after the active's session was killed: %lld ms (lease.retry %lld ms)\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took_over).count()),
                static_cast<long long>(lease_retry.count()));
    EXPECT_LT(took_over, lease_retry + 10s) << "within lease.retry and the detection (generous on a loaded machine)";

    // The old active saw the loss, turned standby and competes again on a new session.
    EXPECT_TRUE(wait_until([&] { return !a.files.audit_events("leader.lost").empty(); }, 10s)) << logs();
    ASSERT_TRUE(wait_until([&] { return a.reason().rfind("standby", 0) == 0; }, 10s)) << logs();
    std::this_thread::sleep_for(lease_retry * 3);
    expect_one_active();
    EXPECT_TRUE(b.ready());
    const auto lost = a.files.audit_events("leader.lost");
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_NE(text_of(lost[0], "reason").find("connection"), std::string::npos) << text_of(lost[0], "reason");

    // The new active reconciled the row left pending (read back: absent, so sent again) before
    // any run of its own.
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& p : sim_->posts())
                if (p.path.ends_with("/threats/analyst-verdict") && contains(p.body, threats.front())) return true;
            return false;
        },
        30s))
        << logs();
    EXPECT_GT(sim_->posts().size(), posts_before);
    const auto events = b.events();
    const auto at = [&](const std::string& e) { return std::find(events.begin(), events.end(), e) - events.begin(); };
    ASSERT_LT(at("leader.acquired"), static_cast<long>(events.size()));
    ASSERT_LT(at("action.reconciled"), static_cast<long>(events.size()));
    EXPECT_LT(at("leader.acquired"), at("action.reconciled"));
    EXPECT_LT(at("action.reconciled"), at("run.start")) << "reconciled before its first run";
    bool reconciled = false;
    for (const auto& r : b.files.audit_events("action.reconciled"))
        if (contains(json::serialize(r), threats.front())) reconciled = true;
    EXPECT_TRUE(reconciled);
    for (auto& n : nodes_) EXPECT_EQ(n->daemon->stop(SIGTERM), 0) << n->daemon->stderr_text();
}

TEST_F(HighAvailability, StoppingTheDatabaseStopsTheSendingWithinASecondAndOneActiveReturns) {
    // Each call answered after 50 ms: a run of one POST per threat and action lasts seconds.
    sim_->set_faults("latency=50ms");
    start_both();
    ASSERT_TRUE(wait_until([&] { return sim_->posts().size() >= 10; }, 60s)) << logs();
    const auto stopped = stop_database("calls flowing");
    EXPECT_EQ(stopped.after, 0u) << "nothing is sent once the database is gone";
    EXPECT_LT(stopped.last_after_stop, 1s) << "the active stops sending within a second";
    EXPECT_LT(stopped.not_ready_after, 1s);

    // The database returns: exactly one instance becomes active again.
    ASSERT_TRUE(server_->start_server());
    stopped_ = false;
    const auto restarted_at = steady::now();
    ASSERT_TRUE(wait_until([&] { return active_count() == 1; }, 60s)) << logs();
    std::printf("[ figures  ] database back: an instance active after %lld ms\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - restarted_at).count()));
    std::this_thread::sleep_for(lease_retry * 3);
    expect_one_active();
    for (auto& n : nodes_) EXPECT_EQ(n->daemon->stop(SIGTERM), 0) << n->daemon->stderr_text();
}

TEST_F(HighAvailability, CallsWaitingForTheirTurnWhenTheDatabaseStopsAreNeverSent) {
    // s1sim takes one write every 2 s and answers the others 429 with Retry-After: 2, so calls
    // wait, their intent written, for up to 2 s. A loss cuts those waits short, unsent; without
    // the fence they would leave up to 2 s after the database stopped.
    sim_->set_rate_limits("write=0.5/s");
    start_both();
    ASSERT_TRUE(wait_until(
        [&] {
            std::size_t throttled = 0;
            for (const auto& p : sim_->posts()) throttled += p.status == 429 ? 1 : 0;
            return throttled >= 2;
        },
        60s))
        << logs();
    std::this_thread::sleep_for(300ms);  // a retry is waiting now
    const auto stopped = stop_database("calls waiting for Retry-After");
    EXPECT_EQ(stopped.after, 0u) << "no call that was waiting left after the database stopped";
    EXPECT_LT(stopped.last_after_stop, 1s);
    for (auto& n : nodes_) EXPECT_EQ(n->daemon->stop(SIGTERM), 0) << n->daemon->stderr_text();
}

}  // namespace
}  // namespace s1pilot::integration
