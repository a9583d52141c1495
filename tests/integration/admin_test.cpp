// The admin listener of the real `s1pilot run`, black-box (RELIABILITY rows 22 and 23): a threat
// delivered by a poll and three webhooks within a second is acted on once per action; requests
// without the token, with the wrong one, too large, not JSON, or for an unknown playbook get
// their status and run nothing; a client sending a byte a second is cut off by the read
// deadline; `promtool check metrics` accepts a scrape taken after a run; `s1pilot health` and
// `s1pilot status` read the listener.

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <thread>
#include <unistd.h>

#include "raw_http.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

/// A scenario running `playbooks` as a daemon (its admin token is the pilot's canary).
struct admin_scenario {
    explicit admin_scenario(const std::vector<std::string>& playbooks) {
        if (!s.sim->started()) return;
        std::vector<fs::path> files;
        for (const auto& p : playbooks) files.push_back(s.fixture(p));
        s.configure(files);
        daemon = s.s1pilot.start({"run", "-c", s.s1pilot.config_path().string()});
        // The listener says where it listens (port 0 in the tests), then /readyz turns 200.
        port = admin_port_of(*daemon);
        if (port != 0) wait_until([&] { return get("/readyz").status == 200 || !daemon->running(); }, 60s);
    }

    raw_reply get(const std::string& target) const { return http_call(port, "GET", target); }
    /// A POST with `Authorization: Bearer TOKEN`; none when `token` is empty.
    raw_reply post(const std::string& target, const std::string& body, const std::string& token) const {
        std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
        if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
        return http_call(port, "POST", target, headers, body);
    }
    /// A POST with the right token.
    raw_reply post(const std::string& target, const std::string& body) const {
        return post(target, body, s.s1pilot.admin_token());
    }

    scenario s;
    std::unique_ptr<child_process> daemon;
    std::uint16_t port = 0;
};

std::string ids_json(const std::vector<std::string>& ids) {
    std::string out = "{\"threatIds\":[";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ",\"" : "\"") + ids[i] + "\"";
    return out + "]}";
}

/// The POSTs per (action path, threat id).
std::map<std::pair<std::string, std::string>, int> posts_per_threat(const std::vector<journal_entry>& posts) {
    std::map<std::pair<std::string, std::string>, int> out;
    for (const auto& p : posts)
        for (const auto& id : body_ids(p)) ++out[{p.path, id}];
    return out;
}

TEST(Admin, APollAndThreeWebhooksWithinASecondActOnceOnEachThreat) {
    admin_scenario a({"webhook.yaml"});
    ASSERT_NE(a.port, 0) << a.daemon->stderr_text();
    ASSERT_EQ(a.get("/readyz").status, 200) << a.daemon->stderr_text();

    // Three of the playbook's threats, each delivered three times at once, racing the poll.
    const auto p = load_playbook(a.s.dir.path() / "playbooks" / "webhook.yaml");
    ASSERT_TRUE(p);
    const dataset data(a.s.sim->dump());
    const auto expected = expect_run(*p, data, pinned_instant());
    ASSERT_EQ(expected.acted.size(), 25u);
    std::vector<std::string> three;
    for (std::size_t i = 0; i < 3; ++i) three.push_back(field(*expected.acted[i * 7], {"id"}));
    std::vector<std::thread> senders;
    std::vector<int> statuses(3, 0);
    for (int i = 0; i < 3; ++i)
        senders.emplace_back(
            [&, i] { statuses[static_cast<std::size_t>(i)] = a.post("/v1/events", ids_json(three)).status; });
    for (auto& t : senders) t.join();
    EXPECT_EQ(statuses, (std::vector<int>{202, 202, 202}));

    // Done when the poll has run too and no run is in flight; every threat has its three actions.
    ASSERT_TRUE(wait_until(
        [&] {
            const auto starts = a.s.s1pilot.audit_events("run.start");
            const bool polled = std::any_of(starts.begin(), starts.end(),
                                            [](const auto& r) { return text_of(r, "trigger") == "schedule"; });
            return polled && starts.size() == a.s.s1pilot.audit_events("run.end").size() &&
                   posts_per_threat(a.s.sim->posts()).size() == 3 * 25;
        },
        90s))
        << a.daemon->stderr_text();
    for (const auto& [key, count] : posts_per_threat(a.s.sim->posts()))
        EXPECT_EQ(count, 1) << key.first << " was posted " << count << " times for threat " << key.second;
    const auto webhook_runs = a.s.s1pilot.audit_events("run.start");
    EXPECT_GE(std::count_if(webhook_runs.begin(), webhook_runs.end(),
                            [](const auto& r) { return text_of(r, "trigger") == "webhook"; }),
              1);

    // The scrape after the run: the counters moved, and Prometheus's own checker accepts it.
    const auto scrape = a.get("/metrics");
    ASSERT_EQ(scrape.status, 200);
    EXPECT_NE(scrape.head.find("text/plain; version=0.0.4"), std::string::npos) << scrape.head;
    EXPECT_NE(scrape.body.find("s1pilot_actions_total{playbook=\"it-webhook\",action=\"mitigate:kill\",outcome="
                               "\"success\"} 25"),
              std::string::npos)
        << scrape.body;
    EXPECT_NE(scrape.body.find("s1pilot_webhook_events_total{result=\"accepted\"} 3"), std::string::npos);
    EXPECT_NE(scrape.body.find("s1pilot_ready 1"), std::string::npos);
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        ADD_FAILURE() << "promtool is missing: scripts/deps installs Debian's prometheus package";
    } else {
        const auto file = a.s.dir.path() / "scrape.txt";
        write_text(file, scrape.body);
        const auto checked = run_to_end({.argv = {"/bin/sh", "-c", "promtool check metrics < " + file.string()},
                                         .stdout_file = a.s.dir.path() / "promtool.out",
                                         .stderr_file = a.s.dir.path() / "promtool.err"},
                                        60s);
        EXPECT_EQ(checked.code, 0) << checked.describe();
        EXPECT_EQ(checked.out + checked.err, "") << "promtool reports problems";
    }

    // s1pilot status reads the same listener.
    const auto address = "127.0.0.1:" + std::to_string(a.port);
    const auto status = a.s.s1pilot.run({"status", "--address", address}, 60s);
    EXPECT_EQ(status.code, 0) << status.describe();
    EXPECT_NE(status.out.find("it-webhook"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("every 5s, webhook"), std::string::npos) << status.out;
    EXPECT_EQ(a.daemon->stop(SIGTERM), 0) << a.daemon->stderr_text();
}

TEST(Admin, RefusesBadRequestsWithTheirStatusAndRunsNothing) {
    admin_scenario a({"webhook-only.yaml"});
    ASSERT_NE(a.port, 0) << a.daemon->stderr_text();
    const std::string ok_body = R"({"threatIds":["1590000000000104729"]})";
    const std::string mib(1024 * 1024, 'x');

    struct refusal {
        std::string what;
        raw_reply reply;
        int expected;
    };
    std::vector<refusal> refusals;
    refusals.push_back({"no token", a.post("/v1/events", ok_body, ""), 401});
    refusals.push_back({"wrong token", a.post("/v1/events", ok_body, canary()), 401});
    refusals.push_back({"1 MiB body", a.post("/v1/events", "{\"threatIds\":[\"" + mib + "\"]}"), 413});
    refusals.push_back({"garbage JSON", a.post("/v1/events", "{\"threatIds\": [1, 2,"), 400});
    refusals.push_back({"unknown playbook", a.post("/v1/playbooks/no-such-playbook/run", ok_body), 404});
    refusals.push_back({"wrong method", a.get("/v1/events"), 405});
    refusals.push_back({"unknown route", a.get("/v2/whatever"), 404});
    refusals.push_back({"unknown route, no token", a.post("/v1/admin/shutdown", ""), 404});
    for (const auto& r : refusals) {
        EXPECT_EQ(r.reply.status, r.expected) << r.what << ": " << r.reply.head << "\n" << r.reply.body;
        EXPECT_NE(r.reply.head.find("Content-Type: application/json"), std::string::npos) << r.what;
        const auto body = json::parse(r.reply.body);
        EXPECT_TRUE(body.is_object() && body.as_object().contains("error")) << r.what << ": " << r.reply.body;
    }
    // Headers beyond 8 KiB: refused before any route is considered.
    const auto big_header = http_call(a.port, "GET", "/healthz", {{"X-Padding", std::string(9000, 'p')}});
    EXPECT_EQ(big_header.status, 431) << big_header.head;

    // Nothing ran: no run in the audit log and no request reached the console.
    EXPECT_TRUE(a.s.s1pilot.audit_events("run.start").empty());
    EXPECT_TRUE(a.s.sim->requests().empty());

    // A client sending a byte a second is cut off by the read deadline (10 s), while the
    // listener goes on answering others.
    const int slow = connect_local(a.port);
    ASSERT_GE(slow, 0);
    const std::string request = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                a.s.s1pilot.admin_token() + "\r\nContent-Length: 40\r\n\r\n";
    const auto started = std::chrono::steady_clock::now();
    bool cut = false;
    for (std::size_t i = 0; i < request.size() && !cut; ++i) {
        if (!send_all(slow, request.substr(i, 1))) {
            cut = true;
            break;
        }
        auto [text, closed] = read_until_closed(slow, 1s);
        cut = closed;
        if (i == 2) {
            EXPECT_EQ(a.get("/healthz").status, 200) << "a slow client held the listener";
        }
        if (std::chrono::steady_clock::now() - started > 40s) break;
    }
    ::close(slow);
    const auto held = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    EXPECT_TRUE(cut) << "the slow client was not cut off";
    EXPECT_LT(held.count(), 30) << "cut off only after " << held.count() << " s";
    EXPECT_TRUE(a.s.s1pilot.audit_events("run.start").empty());

    // A well-formed trigger of that playbook runs it (so the refusals above were real ones).
    const auto accepted = a.post("/v1/playbooks/it-webhook-only/run?wait=true", "");
    EXPECT_EQ(accepted.status, 200) << accepted.body;
    EXPECT_EQ(a.s.s1pilot.audit_events("run.start").size(), 1u);
    EXPECT_EQ(a.daemon->stop(SIGTERM), 0) << a.daemon->stderr_text();
}

TEST(Admin, HealthExitsZeroWhenReadyAndOneWhenNot) {
    admin_scenario a({"webhook.yaml"});
    ASSERT_NE(a.port, 0) << a.daemon->stderr_text();
    const auto address = "127.0.0.1:" + std::to_string(a.port);
    const auto ready = a.s.s1pilot.run({"health", "--address", address}, 60s);
    EXPECT_EQ(ready.code, 0) << ready.describe();
    EXPECT_EQ(ready.out, "ready\n");

    // Draining a call in flight: not ready ("stopping") until it ends.
    a.s.sim->set_faults("latency=6s");
    const auto triggered = a.post("/v1/playbooks/it-webhook/run", "");
    ASSERT_EQ(triggered.status, 202) << triggered.body;
    std::this_thread::sleep_for(1s);
    ASSERT_EQ(::kill(a.daemon->pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return a.get("/readyz").status == 503 || !a.daemon->running(); }, 30s));
    const auto stopping = a.s.s1pilot.run({"health", "--address", address}, 60s);
    EXPECT_EQ(stopping.code, 1) << stopping.describe();
    EXPECT_NE(stopping.err.find("stopping"), std::string::npos) << stopping.describe();
    ASSERT_TRUE(a.daemon->wait(60s));

    // Nobody listening: 1, saying so.
    const auto gone = a.s.s1pilot.run({"health", "--address", address, "--timeout", "2"}, 60s);
    EXPECT_EQ(gone.code, 1) << gone.describe();
    EXPECT_NE(gone.err.find("cannot connect"), std::string::npos) << gone.describe();
}

}  // namespace
}  // namespace s1pilot::integration
