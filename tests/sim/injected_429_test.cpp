// Injected 429s with the Retry-After a test chooses (seconds, an exact HTTP-date, garbage, a
// negative or a huge value), and faults restricted to reads or to writes: what the retry tests of
// s1pilot (tests/integration/faults_test.cpp) drive s1sim with.

#include <gtest/gtest.h>

#include <chrono>

#include "sim_fixture.hpp"

using namespace s1sim::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string api = "/web/api/v2.1";
const std::string kill_first = R"({"filter":{"ids":["1590000000000104729"]},"data":{}})";

std::string mitigation_of_first(https_client& client) {
    return std::string(
        dumped(client, "ids=1590000000000104729").at(0).at("threatInfo").at("mitigationStatus").as_string());
}

json::object last_journaled(https_client& client) {
    auto all = client.get("/_sim/requests").json().at("requests").as_array();
    return all.empty() ? json::object{} : all.back().as_object();
}

}  // namespace

TEST(Injected429, AnswersWithTheRetryAfterAsWrittenAndAppliesNothing) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    for (const char* value : {"2", "-5", "soon", "99999999999"}) {
        SCOPED_TRACE(value);
        const auto faults = json::serialize(json::object{{"status429", 1}, {"retry_after", value}});
        ASSERT_EQ(client->put("/_sim/faults", faults).status, 200);
        auto r = client->post(api + "/threats/mitigate/kill", kill_first);
        EXPECT_EQ(r.status, 429);
        EXPECT_EQ(r.json().at("errors").at(0).at("code").as_int64(), 4290010);
        EXPECT_EQ(r.header("retry-after"), value);
        EXPECT_EQ(mitigation_of_first(*client), "not_mitigated");
        auto entry = last_journaled(*client);
        EXPECT_EQ(entry.at("fault"), "status429");
        EXPECT_EQ(entry.at("status").as_int64(), 429);
        EXPECT_EQ(entry.at("delayMs").as_int64(), 0);
    }
    // Without retry_after the 429 has no Retry-After at all.
    ASSERT_EQ(client->put("/_sim/faults", R"({"spec":"status429=1"})").status, 200);
    auto bare = client->get(std::string(threats_path) + "?limit=1");
    EXPECT_EQ(bare.status, 429);
    EXPECT_EQ(bare.header("retry-after"), "");
    ASSERT_EQ(client->put("/_sim/faults", "{}").status, 200);
    EXPECT_EQ(client->post(api + "/threats/mitigate/kill", kill_first).status, 200);
}

TEST(Injected429, ADateRetryAfterCountsFromAWholeSecondTheAnswerIsHeldTo) {
    std::string error;
    auto config = s1sim::parse_faults("status429=1,retry_after=date+2s", error);
    ASSERT_TRUE(config) << error;
    std::chrono::milliseconds hold{};
    auto now = *s1pilot::core::parse_timestamp("2024-05-01T00:00:00.2505Z");
    EXPECT_EQ(s1sim::injected_retry_after(*config, now, hold), "Wed, 01 May 2024 00:00:03 GMT");
    EXPECT_EQ(hold, 749ms);  // rounded down: the hold never ends after the whole second
    now = *s1pilot::core::parse_timestamp("2024-05-01T00:00:01Z");
    EXPECT_EQ(s1sim::injected_retry_after(*config, now, hold), "Wed, 01 May 2024 00:00:03 GMT");
    EXPECT_EQ(hold, 0ms);

    // Over the wire: the answer is held, and the journal says for how long.
    auto options = test_options(10);
    options.faults = *config;
    auto clock = std::make_shared<test_clock>(*s1pilot::core::parse_timestamp("2024-05-01T00:00:00.6Z"));
    options.clock = clock;
    running_sim running(options);
    auto client = running.client();
    const auto started = std::chrono::steady_clock::now();
    auto r = client->get(std::string(threats_path) + "?limit=1");
    EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms);  // a lower bound: load cannot break it
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.header("retry-after"), "Wed, 01 May 2024 00:00:03 GMT");
    EXPECT_EQ(last_journaled(*client).at("delayMs").as_int64(), 400);
}

TEST(Injected429, FaultsCanConcernOnlyReadsOrOnlyWrites) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    const std::string read = std::string(threats_path) + "?limit=1";
    ASSERT_EQ(client->put("/_sim/faults", R"({"spec":"status503=1,only=writes"})").status, 200);
    EXPECT_EQ(client->get(read).status, 200);
    EXPECT_EQ(client->post(api + "/threats/mitigate/kill", kill_first).status, 503);
    EXPECT_EQ(mitigation_of_first(*client), "not_mitigated");
    ASSERT_EQ(client->put("/_sim/faults", R"({"status503":1,"only":"reads"})").status, 200);
    EXPECT_EQ(client->get(read).status, 503);
    EXPECT_EQ(client->post(api + "/threats/mitigate/kill", kill_first).status, 200);
    auto shown = client->get("/_sim/faults").json();
    EXPECT_EQ(shown.at("only"), "reads");
    EXPECT_EQ(shown.at("status429").to_number<double>(), 0);
    EXPECT_EQ(shown.at("retry_after"), "");
}

TEST(Injected429, ParsingNamesTheBadItem) {
    std::string error;
    EXPECT_FALSE(s1sim::parse_faults("status429=1,retry_after=date+soon", error));
    EXPECT_NE(error.find("retry_after=date+D"), std::string::npos) << error;
    EXPECT_FALSE(s1sim::parse_faults("status503=1,only=posts", error));
    EXPECT_NE(error.find("only must be reads, writes or all"), std::string::npos) << error;
    EXPECT_FALSE(s1sim::faults_from_json(json::object{{"retry_after", "two\r\nX-Evil: 1"}}, error));
    EXPECT_NE(error.find("retry_after must be printable"), std::string::npos) << error;
    auto ok = s1sim::parse_faults("status429=0.5,retry_after=120,only=writes", error);
    ASSERT_TRUE(ok) << error;
    EXPECT_DOUBLE_EQ(ok->status429, 0.5);
    EXPECT_EQ(ok->retry_after, "120");
    EXPECT_EQ(ok->only, s1sim::fault_target::writes);
}

TEST(Injected429, WithoutItASeedNamesTheSameFaultsAsBefore) {
    // status429 draws only when it is set: without it a request still takes exactly the seven
    // draws it took before the fault existed, so the sequences other tests pinned are unchanged.
    std::string error;
    auto plain = *s1sim::parse_faults("status503=0.3,seed=11", error);
    s1sim::rng drawn(plain.seed), counted(plain.seed);
    for (int i = 0; i < 100; ++i) {
        s1sim::draw_faults(plain, drawn);
        for (int k = 0; k < 7; ++k) counted.unit();
        auto a = drawn, b = counted;
        ASSERT_EQ(a.next(), b.next()) << "request " << i;
    }
    auto with = *s1sim::parse_faults("status503=0.3,status429=0.5,seed=11", error);
    s1sim::rng r(with.seed);
    int throttled = 0;
    for (int i = 0; i < 1000; ++i) throttled += s1sim::draw_faults(with, r).status == 429;
    EXPECT_GT(throttled, 250);  // about (1 - 0.3) * 0.5 of them
    EXPECT_LT(throttled, 450);
}
