// Error statuses, rate limits, injected faults, the journal and the admin routes, over HTTPS.

#include <gtest/gtest.h>

#include <chrono>

#include "sim_fixture.hpp"

using namespace s1sim::test;
namespace json = boost::json;

namespace {

const std::string api = "/web/api/v2.1";
const std::string kill_first = R"({"filter":{"ids":["1590000000000104729"]},"data":{}})";

std::int64_t error_code(const client_response& r) {
    auto body = r.json();
    return body.is_object() && body.as_object().contains("errors") ? body.at("errors").at(0).at("code").as_int64() : 0;
}

std::string mitigation_of_first(https_client& client) {
    return std::string(
        dumped(client, "ids=1590000000000104729").at(0).at("threatInfo").at("mitigationStatus").as_string());
}

}  // namespace

TEST(Errors, AuthenticationFailsWithTheApiBody) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    for (std::string auth : {"-", "ApiToken wrong", "Bearer test-token", "test-token", "ApiToken"}) {
        auto r = client->request("GET", threats_path, {}, auth);
        EXPECT_EQ(r.status, 401) << auth;
        EXPECT_EQ(r.body, R"({"errors":[{"code":4010010,"detail":null,"title":"Authentication Failed"}]})");
        EXPECT_FALSE(r.header("x-rqid").empty());
    }
    for (std::string auth : {"APIToken test-token", "apitoken test-token", "ApiToken test-token"})
        EXPECT_EQ(client->request("GET", threats_path, {}, auth).status, 200) << auth;
    EXPECT_EQ(client->request("GET", "/_sim/requests", {}, "-").status, 401);
}

TEST(Errors, EveryStatusHasTheConsoleCodeAndARequestId) {
    auto options = test_options(10);
    options.read_only_token = "reader";
    options.max_body = 4096;
    running_sim sim(options);
    auto client = sim.client();
    struct case_t {
        std::string method, target, body;
        int status;
        std::int64_t code;
    };
    const case_t cases[] = {
        {"GET", api + "/threats?bogus=1", "", 400, 4000010},
        {"POST", api + "/threats/notes", "{", 400, 4000010},
        {"GET", api + "/nothing-here", "", 404, 4040010},
        {"GET", "/somewhere/else", "", 404, 4040010},
        {"POST", api + "/threats", "{}", 405, 4050010},
        {"GET", api + "/threats/incident", "", 405, 4050010},
        {"POST", api + "/threats/notes", std::string(5000, ' '), 413, 4130010},
    };
    for (const auto& c : cases) {
        auto r = client->request(c.method, c.target, c.body);
        EXPECT_EQ(r.status, c.status) << c.method << " " << c.target;
        EXPECT_EQ(error_code(r), c.code) << r.body;
        EXPECT_FALSE(r.header("x-rqid").empty());
    }
    auto reader = sim.client("reader");
    EXPECT_EQ(reader->get(threats_path).status, 200);
    auto forbidden = reader->post(api + "/threats/mitigate/kill", kill_first);
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_EQ(error_code(forbidden), 4030010);
}

TEST(RateLimits, OverTheLimitIs429WithRetryAfter) {
    auto options = test_options(10);
    std::string error;
    options.rate_limits = *s1sim::parse_rate_limits("read=0.5/s:burst=2,write=0.5/s:burst=1", error);
    running_sim sim(options);
    auto client = sim.client();
    EXPECT_EQ(client->get(threats_path).status, 200);
    EXPECT_EQ(client->get(threats_path).status, 200);
    auto limited = client->get(threats_path);
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(error_code(limited), 4290010);
    auto retry_after = std::stoi(limited.header("retry-after"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 2);
    // Reads and writes have separate buckets; the admin routes are never limited.
    EXPECT_EQ(client->post(api + "/threats/notes", R"({"filter":{"ids":["1"]},"data":{"text":"x"}})").status, 200);
    EXPECT_EQ(client->post(api + "/threats/notes", R"({"filter":{"ids":["1"]},"data":{"text":"x"}})").status, 429);
    EXPECT_EQ(client->get("/_sim/requests").status, 200);
    auto journal = client->get("/_sim/requests").json().at("requests").as_array();
    EXPECT_EQ(journal.at(2).at("status").as_int64(), 429);  // 429s are journaled like the rest
}

TEST(RateLimits, RetryAfterCanBeAnHttpDate) {
    auto options = test_options(10);
    std::string error;
    options.rate_limits = *s1sim::parse_rate_limits("read=1/s:burst=1,retry_after=date", error);
    running_sim sim(options);
    auto client = sim.client();
    client->get(threats_path);
    auto limited = client->get(threats_path);
    ASSERT_EQ(limited.status, 429);
    EXPECT_TRUE(limited.header("retry-after").ends_with(" GMT")) << limited.header("retry-after");
}

TEST(Faults, StatusFaultsAnswerWithoutApplying) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    for (auto [fault, status] : {std::pair{"status500", 500}, {"status502", 502}, {"status503", 503}}) {
        ASSERT_EQ(client->put("/_sim/faults", std::string(R"({")") + fault + R"(":1})").status, 200);
        auto r = client->post(api + "/threats/mitigate/kill", kill_first);
        EXPECT_EQ(r.status, status);
        if (status == 502) {
            EXPECT_EQ(r.header("content-type"), "text/html");  // as from a load balancer
        } else {
            EXPECT_EQ(error_code(r), status == 500 ? 5000010 : 5030010);
        }
        EXPECT_EQ(mitigation_of_first(*client), "not_mitigated") << fault;
    }
    ASSERT_EQ(client->put("/_sim/faults", "{}").status, 200);
    EXPECT_EQ(client->post(api + "/threats/mitigate/kill", kill_first).status, 200);
    EXPECT_EQ(mitigation_of_first(*client), "mitigated");
}

TEST(Faults, ResetClosesTheConnectionAndAppliesNothing) {
    auto options = test_options(10);
    std::string error;
    options.faults = *s1sim::parse_faults("reset=1", error);
    running_sim sim(options);
    auto client = sim.client();
    auto r = client->post(api + "/threats/mitigate/kill", kill_first);
    EXPECT_EQ(r.status, 0);
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(mitigation_of_first(*client), "not_mitigated");
    auto entry = client->get("/_sim/requests").json().at("requests").at(0);
    EXPECT_EQ(entry.at("fault"), "reset");
    EXPECT_EQ(entry.at("status").as_int64(), 0);
}

TEST(Faults, DropAfterApplyIsTheAmbiguousCase) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    ASSERT_EQ(client->put("/_sim/faults", R"({"spec":"drop_after_apply=1"})").status, 200);
    auto r = client->post(api + "/threats/mitigate/kill", kill_first);
    EXPECT_EQ(r.status, 0);  // no answer...
    EXPECT_TRUE(r.closed || r.reset) << r.error;
    EXPECT_EQ(mitigation_of_first(*client), "mitigated");  // ...but the action took effect
    auto entry = client->get("/_sim/requests").json().at("requests").at(0);
    EXPECT_EQ(entry.at("fault"), "drop_after_apply");
    EXPECT_EQ(entry.at("status").as_int64(), 200);

    // Only writes are dropped: a read under the same fault is answered, so a client can
    // reconcile by reading.
    auto read = client->get(std::string(threats_path) + "?limit=1");
    EXPECT_EQ(read.status, 200);
}

TEST(Faults, LatencyDelaysAndSlowBodyTricklesTheSameBytes) {
    running_sim sim(test_options(30));
    auto client = sim.client();
    auto plain = client->get(std::string(threats_path) + "?limit=3");
    ASSERT_EQ(client->put("/_sim/faults", R"({"latency":"150ms","slow_body":"1ms","slow_body_chunk":512})").status,
              200);
    auto started = std::chrono::steady_clock::now();
    auto slow = client->get(std::string(threats_path) + "?limit=3");
    auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(slow.status, 200);
    EXPECT_EQ(slow.body, plain.body);
    EXPECT_GE(elapsed, std::chrono::milliseconds(150));  // a lower bound: load cannot break it
}

TEST(Faults, HugeBodyIsTheSameDocumentPaddedAndSentChunked) {
    running_sim sim(test_options(30));
    auto client = sim.client();
    const std::string target = std::string(threats_path) + "?limit=3";
    auto plain = client->get(target);
    ASSERT_EQ(plain.status, 200);
    ASSERT_EQ(client->put("/_sim/faults", R"({"huge_body":"1MiB"})").status, 200);
    auto huge = client->get(target);
    EXPECT_EQ(huge.status, 200) << huge.error;
    EXPECT_EQ(huge.body.size(), std::size_t{1} << 20);
    // Chunked, without a length: a client learns the size only by reading.
    EXPECT_EQ(huge.header("transfer-encoding"), "chunked");
    EXPECT_EQ(huge.header("content-length"), "");
    EXPECT_EQ(huge.body.substr(0, plain.body.size()), plain.body);
    EXPECT_EQ(huge.body.find_first_not_of(' ', plain.body.size()), std::string::npos);
    EXPECT_EQ(huge.json(), plain.json());  // trailing whitespace: still the same document
    // Admin routes are never faulted.
    EXPECT_LT(client->get("/_sim/faults").body.size(), 1000u);
}

TEST(Faults, HugeHeaderAddsOnePaddingField) {
    running_sim sim(test_options(30));
    auto client = sim.client();
    ASSERT_EQ(client->put("/_sim/faults", R"({"spec":"huge_header=16KiB"})").status, 200);
    auto r = client->get(std::string(threats_path) + "?limit=1");
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.header("x-s1sim-padding"), std::string(16 * 1024, 'p'));
    EXPECT_EQ(client->get("/_sim/faults").json().at("huge_header").as_int64(), 16 * 1024);
}

TEST(Faults, ParsingNamesTheBadItem) {
    std::string error;
    EXPECT_FALSE(s1sim::parse_faults("status500=2", error));
    EXPECT_NE(error.find("status500"), std::string::npos);
    EXPECT_FALSE(s1sim::parse_faults("latency=5", error));
    EXPECT_NE(error.find("latency"), std::string::npos);
    EXPECT_FALSE(s1sim::parse_faults("teleport=0.1", error));
    EXPECT_NE(error.find("teleport"), std::string::npos);
    auto ok = s1sim::parse_faults(
        "status500=0.02,status502=0.01,status503=0.01,reset=0.01,latency=5ms,slow_body=10ms,"
        "drop_after_apply=0.1,seed=3",
        error);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->latency, std::chrono::milliseconds(5));
    EXPECT_DOUBLE_EQ(ok->drop_after_apply, 0.1);
    EXPECT_FALSE(s1sim::parse_faults("huge_body=100", error));  // a size needs its unit
    EXPECT_NE(error.find("huge_body"), std::string::npos);
    EXPECT_FALSE(s1sim::parse_faults("huge_header=1GiB", error));  // held in memory: capped at 16 MiB
    EXPECT_NE(error.find("huge_header"), std::string::npos);
    auto sizes = s1sim::parse_faults("huge_body=100MiB,huge_header=16KiB", error);
    ASSERT_TRUE(sizes);
    EXPECT_EQ(sizes->huge_body, std::size_t{100} << 20);
    EXPECT_EQ(sizes->huge_header, std::size_t{16} << 10);
    EXPECT_FALSE(s1sim::parse_rate_limits("read=fast", error));
    EXPECT_NE(error.find("read"), std::string::npos);
}

TEST(Faults, ASeedNamesOneSequenceOfFaults) {
    std::string error;
    auto config = *s1sim::parse_faults("status503=0.3,seed=11", error);
    s1sim::rng a(config.seed), b(config.seed);
    int faults = 0;
    for (int i = 0; i < 1000; ++i) {
        auto x = s1sim::draw_faults(config, a), y = s1sim::draw_faults(config, b);
        EXPECT_EQ(x.status, y.status);
        faults += x.status == 503;
    }
    EXPECT_GT(faults, 200);
    EXPECT_LT(faults, 400);

    // The size faults are certain and draw nothing: adding them keeps the seed's sequence.
    auto sized = *s1sim::parse_faults("status503=0.3,seed=11,huge_body=1MiB,huge_header=1KiB", error);
    s1sim::rng c(config.seed), d(sized.seed);
    for (int i = 0; i < 1000; ++i) {
        auto x = s1sim::draw_faults(config, c), y = s1sim::draw_faults(sized, d);
        EXPECT_EQ(x.status, y.status);
        EXPECT_EQ(y.pad_body_to, std::size_t{1} << 20);
    }
}

TEST(Journal, RecordsEveryRequestInOrder) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    client->get(std::string(threats_path) + "?limit=2&osTypes=windows");
    client->post(api + "/threats/notes", R"({"filter":{"ids":["1590000000000104729"]},"data":{"text":"n"}})");
    client->request("GET", threats_path, {}, "ApiToken nope");
    auto all = client->get("/_sim/requests").json().at("requests").as_array();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].at("method"), "GET");
    EXPECT_EQ(all[0].at("query"), "limit=2&osTypes=windows");
    EXPECT_EQ(all[1].at("path"), (api + "/threats/notes").c_str());
    EXPECT_EQ(all[1].at("body"), R"({"filter":{"ids":["1590000000000104729"]},"data":{"text":"n"}})");
    EXPECT_EQ(all[1].at("status").as_int64(), 200);
    EXPECT_EQ(all[2].at("status").as_int64(), 401);
    auto since = client->get("/_sim/requests?since=" + std::to_string(all[1].at("seq").as_int64()));
    EXPECT_EQ(since.json().at("requests").as_array().size(), 2u);
}

TEST(Journal, ReceivedNsIsTheMonotonicClockWhenTheHeadersWereRead) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    const auto monotonic_ns = [] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    const auto before = monotonic_ns();
    client->get(std::string(threats_path) + "?limit=1");
    client->post(api + "/threats/notes", R"({"filter":{"ids":["1590000000000104729"]},"data":{"text":"n"}})");
    const auto after = monotonic_ns();
    auto all = client->get("/_sim/requests").json().at("requests").as_array();
    ASSERT_EQ(all.size(), 2u);
    const auto first = all[0].at("receivedNs").as_int64();
    const auto second = all[1].at("receivedNs").as_int64();
    EXPECT_GE(first, before);
    EXPECT_LE(first, second);
    EXPECT_LE(second, after);
}

TEST(Admin, AddDumpAndReset) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    auto added = client->post("/_sim/threats",
                              R"({"data":[{"id":"1234567890123456789","threatInfo":{"classification":"Ransomware",)"
                              R"("confidenceLevel":"malicious","mitigationStatus":"not_mitigated"},)"
                              R"("agentRealtimeInfo":{"agentId":"77","agentOsType":"linux"}}],)"
                              R"("agentTags":{"77":["env=prod"]}})");
    ASSERT_EQ(added.status, 200) << added.body;
    EXPECT_EQ(all_ids(*client, "ids=1234567890123456789").size(), 1u);
    EXPECT_EQ(all_ids(*client, R"(agentTagsData=%7B%22env%22%3A%5B%22prod%22%5D%7D&ids=1234567890123456789)").size(),
              1u);
    EXPECT_EQ(dumped(*client).size(), 11u);
    EXPECT_EQ(client->post("/_sim/threats", "[1,2]").status, 400);
    EXPECT_EQ(client->post("/_sim/reset", "").status, 200);
    EXPECT_EQ(dumped(*client).size(), 10u);
    EXPECT_TRUE(client->get("/_sim/requests").json().at("requests").as_array().empty());
    EXPECT_EQ(client->get("/_sim/nothing").status, 404);
}

TEST(Server, KeepAliveServesManyRequestsOnOneConnection) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    for (int i = 0; i < 25; ++i) ASSERT_EQ(client->get(std::string(threats_path) + "?limit=1").status, 200);
    EXPECT_EQ(client->connections_opened(), 1);
}
