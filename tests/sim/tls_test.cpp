// s1sim's TLS (docs/s1sim.md): the version each request came over is journaled, --tls-version
// limits what the server accepts, and a handshake the client gave up on is counted in
// /_sim/stats while the journal stays empty. RELIABILITY #15's black-box tests read these.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "certificate.hpp"
#include "sim_fixture.hpp"

using namespace s1sim::test;

namespace {

std::string first_journaled_tls(https_client& client) {
    auto requests = client.get("/_sim/requests").json().at("requests").as_array();
    if (requests.empty()) return "no request journaled";
    const auto& tls = requests.front().at("tls");
    return tls.is_string() ? std::string(tls.get_string()) : "null";
}

}  // namespace

TEST(SimTls, TheJournalNamesTheNegotiatedVersion) {
    running_sim sim(test_options(10));
    auto client = sim.client();
    auto r = client->get(std::string(threats_path) + "?limit=1");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.tls_version, "TLSv1.3");
    EXPECT_EQ(first_journaled_tls(*client), "TLSv1.3");
}

TEST(SimTls, OneVersionOnlyWhenAsked) {
    s1sim::server_options net;
    net.tls = s1sim::tls_versions::only_1_2;
    running_sim sim(test_options(10), net);
    auto client = sim.client();
    auto r = client->get(std::string(threats_path) + "?limit=1");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.tls_version, "TLSv1.2");
    EXPECT_EQ(first_journaled_tls(*client), "TLSv1.2");
}

TEST(SimTls, TheVersionFlagAcceptsOnlyKnownValues) {
    EXPECT_EQ(s1sim::parse_tls_versions("1.2+"), s1sim::tls_versions::tls_1_2_and_1_3);
    EXPECT_EQ(s1sim::parse_tls_versions("1.1"), s1sim::tls_versions::only_1_1);
    EXPECT_EQ(s1sim::parse_tls_versions("1.2"), s1sim::tls_versions::only_1_2);
    EXPECT_EQ(s1sim::parse_tls_versions("1.3"), s1sim::tls_versions::only_1_3);
    EXPECT_FALSE(s1sim::parse_tls_versions("1.0"));
    EXPECT_FALSE(s1sim::parse_tls_versions("TLSv1.3"));
    EXPECT_FALSE(s1sim::parse_tls_versions(""));
}

TEST(SimTls, ARefusedHandshakeIsCountedAndNothingIsJournaled) {
    running_sim sim(test_options(10));
    // A client trusting another CA refuses s1sim's certificate before sending anything.
    https_client stranger(sim.srv().port(), s1sim::generate_identity().ca_pem, test_token);
    stranger.timeout = std::chrono::seconds(30);
    auto refused = stranger.get(std::string(threats_path) + "?limit=1");
    EXPECT_EQ(refused.status, 0);
    EXPECT_NE(refused.error.find("handshake"), std::string::npos) << refused.error;

    auto client = sim.client();
    // The server learns of the failure when the client's alert arrives: a bounded wait.
    std::int64_t failed = 0;
    for (int i = 0; i < 500 && failed == 0; ++i) {
        failed = client->get("/_sim/stats").json().at("tlsHandshakesFailed").as_int64();
        if (failed == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(failed, 1);
    EXPECT_EQ(first_journaled_tls(*client), "no request journaled");
    // A reset forgets the count with the journal.
    ASSERT_EQ(client->post("/_sim/reset", "{}").status, 200);
    EXPECT_EQ(client->get("/_sim/stats").json().at("tlsHandshakesFailed").as_int64(), 0);
}
