// The console through an HTTP CONNECT proxy (DESIGN §5, RELIABILITY #16): s1pilot's `proxy:`
// setting against a local proxy answering 200, 407 or 502 in front of s1sim. Through a tunnel the
// TLS session is s1pilot's own with the console: the certificate is verified against the
// console's name, not the proxy's address. A refusal is an error naming the proxy and its
// status, and nothing reaches the console.

#include <gtest/gtest.h>

#include "connect_proxy.hpp"
#include "pki.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

// The console as `https://localhost:<port>` through `proxy`: the certificate must name localhost.
void configure_through(const scenario& s, const connect_proxy& proxy) {
    auto console = s.console();
    console.url = "https://localhost:" + std::to_string(s.sim->port());
    console.proxy = proxy.url();
    s.s1pilot.write_config(console, {s.fixture("note-only.yaml")});
}

TEST(Proxy, ATunnelWorksAndTheConsolesNameIsVerifiedThroughIt) {
    temp_dir pki_dir;
    auto pki = make_pki(pki_dir.path());
    ASSERT_TRUE(pki);
    const auto localhost_target = [](const scenario& s) { return "localhost:" + std::to_string(s.sim->port()); };
    {
        // A certificate naming localhost and no address: it verifies only against the console's
        // name, which the proxy never sees inside the tunnel.
        scenario s({.cert_file = pki->name_only.cert,
                    .key_file = pki->name_only.key,
                    .ca_file = pki->ca,
                    .host_name = "localhost"});
        ASSERT_TRUE(s.sim->started());
        connect_proxy proxy(200);
        configure_through(s, proxy);
        const auto run = s.s1pilot.once();
        EXPECT_EQ(run.code, 0) << run.describe();
        EXPECT_FALSE(s.sim->posts().empty()) << "nothing came through the tunnel";
        const auto targets = proxy.targets();
        ASSERT_FALSE(targets.empty()) << "s1pilot did not use the proxy";
        for (const auto& t : targets) EXPECT_EQ(t, localhost_target(s));
        EXPECT_GT(proxy.bytes_from_origin(), 0u);
    }
    // The same tunnel to a console whose certificate names another host: refused after the
    // CONNECT, before any request.
    scenario s(
        {.cert_file = pki->wrong.cert, .key_file = pki->wrong.key, .ca_file = pki->ca, .host_name = "wrong.example"});
    ASSERT_TRUE(s.sim->started());
    connect_proxy proxy(200);
    configure_through(s, proxy);
    const auto run = s.s1pilot.once();
    EXPECT_TRUE(run.code == 1 || run.code == 4) << run.describe();
    EXPECT_TRUE(contains(run.err + run.out, "certificate")) << run.describe();
    const auto targets = proxy.targets();
    ASSERT_FALSE(targets.empty()) << "s1pilot did not use the proxy";
    EXPECT_EQ(targets.front(), localhost_target(s));
    EXPECT_TRUE(s.sim->requests().empty()) << "a request reached a console s1pilot could not authenticate";
    EXPECT_TRUE(wait_until([&] { return s.sim->handshakes_failed() > 0; }, 30s))
        << "no handshake reached s1sim through the tunnel";
}

TEST(Proxy, ARefusedConnectIsAnErrorNamingTheProxyAndNothingIsSent) {
    for (const int status : {407, 502}) {
        SCOPED_TRACE("proxy answers " + std::to_string(status));
        scenario s;
        ASSERT_TRUE(s.sim->started());
        connect_proxy proxy(status);
        auto console = s.console();
        console.proxy = proxy.url();
        s.s1pilot.write_config(console, {s.fixture("note-only.yaml")});
        const auto run = s.s1pilot.once();
        EXPECT_TRUE(run.code == 1 || run.code == 4) << run.describe();
        const auto said = run.err + run.out;
        EXPECT_TRUE(contains(said, "proxy 127.0.0.1:" + std::to_string(proxy.port()))) << run.describe();
        EXPECT_TRUE(contains(said, "HTTP " + std::to_string(status))) << run.describe();
        const auto targets = proxy.targets();
        ASSERT_FALSE(targets.empty()) << "s1pilot did not ask the proxy";
        EXPECT_EQ(targets.front(), "127.0.0.1:" + std::to_string(s.sim->port()));
        EXPECT_TRUE(s.sim->requests().empty());
        EXPECT_EQ(s.sim->handshakes_failed(), 0) << "nothing should have reached s1sim at all";
    }
}

}  // namespace
}  // namespace s1pilot::integration
