// TLS (DESIGN §5, RELIABILITY #15): s1pilot verifies the console's certificate chain, host name
// and validity, and speaks TLS 1.2 or later, before it sends anything. A refused handshake leaves
// s1sim's journal empty while s1sim counts a failed handshake: s1pilot did reach the server, and
// no request, so no token, reached one it could not authenticate. Each refusal has a positive
// control in the same test, so a test that cannot fail would show.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "pki.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// A refused run: it failed (not a usage or configuration error), said why (`why` appears in
// its output), s1sim saw a handshake fail and received no request.
void expect_refused(const scenario& s, const run_result& run, const std::string& why) {
    EXPECT_TRUE(run.code == 1 || run.code == 4) << run.describe();
    EXPECT_TRUE(contains(lower(run.err + run.out), why)) << "the error does not say " << why << ": " << run.describe();
    const auto requests = s.sim->requests();
    EXPECT_TRUE(requests.empty()) << "s1sim received a request: " << requests.front().path;
    // s1sim notices the failed handshake when the client's alert or close arrives: a bounded wait.
    EXPECT_TRUE(wait_until([&] { return s.sim->handshakes_failed() > 0; }, 30s))
        << "s1sim saw no failed handshake: did s1pilot reach it at all?";
}

// The positive control: the same playbook against the same kind of server works, every request
// over `version`.
void expect_works(const scenario& s, const run_result& run, const std::string& version = "TLSv1.3") {
    EXPECT_EQ(run.code, 0) << run.describe();
    EXPECT_FALSE(s.sim->posts().empty()) << "the playbook posted nothing: the control proves nothing";
    for (const auto& r : s.sim->requests()) EXPECT_EQ(r.tls, version) << r.method << " " << r.path;
}

TEST(Tls, AnUntrustedCertificateIsRefusedBeforeAnyRequest) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("note-only.yaml");
    auto console = s.console();

    console.ca_file.reset();  // the system trust store: s1sim's generated CA is not in it
    s.s1pilot.write_config(console, {file});
    expect_refused(s, s.s1pilot.once(), "certificate");

    temp_dir other;
    auto pki = make_pki(other.path());
    ASSERT_TRUE(pki);
    console.ca_file = pki->ca;  // a CA, but not the one that signed s1sim's certificate
    s.s1pilot.write_config(console, {file});
    expect_refused(s, s.s1pilot.once(), "certificate");

    console.ca_file = s.sim->ca_file();
    s.s1pilot.write_config(console, {file});
    expect_works(s, s.s1pilot.once());
}

// s1sim serving `defective` is refused, saying `why`; then the control: the same run against
// the certificate for 127.0.0.1 of the same CA works.
void expect_refused_unlike_the_good_certificate(const test_pki& pki, sim_options defective, const std::string& why) {
    {
        scenario s(std::move(defective));
        ASSERT_TRUE(s.sim->started());
        s.configure({s.fixture("note-only.yaml")});  // url https://127.0.0.1:<port>, ca_file: the test CA
        expect_refused(s, s.s1pilot.once(), why);
    }
    scenario s({.cert_file = pki.good.cert, .key_file = pki.good.key, .ca_file = pki.ca});
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("note-only.yaml")});
    expect_works(s, s.s1pilot.once());
}

TEST(Tls, ACertificateForAnotherHostNameIsRefused) {
    temp_dir pki_dir;
    auto pki = make_pki(pki_dir.path());
    ASSERT_TRUE(pki);
    expect_refused_unlike_the_good_certificate(
        *pki,
        {.cert_file = pki->wrong.cert, .key_file = pki->wrong.key, .ca_file = pki->ca, .host_name = "wrong.example"},
        "certificate");
}

TEST(Tls, AnExpiredCertificateIsRefusedBeforeAnyRequest) {
    temp_dir pki_dir;
    auto pki = make_pki(pki_dir.path());
    ASSERT_TRUE(pki);
    expect_refused_unlike_the_good_certificate(*pki,
                                               {.cert_file = pki->expired.cert,
                                                .key_file = pki->expired.key,
                                                .ca_file = pki->ca,
                                                .admin_accepts_outdated = true},
                                               "expired");
}

// Whether a TLS 1.1 client (openssl s_client) completes a handshake with 127.0.0.1:port.
bool speaks_tls_1_1(const fs::path& dir, std::uint16_t port) {
    auto r = run_to_end({.argv = {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-tls1_1",
                                  "-cipher", "DEFAULT:@SECLEVEL=0"},
                         .stdout_file = dir / "s_client.out",
                         .stderr_file = dir / "s_client.err"},
                        60s);
    return contains(r.out, "Protocol  : TLSv1.1") && !contains(r.out, "Cipher is (NONE)");
}

TEST(Tls, ATls11OnlyServerIsRefusedBeforeAnyRequest) {
    {
        scenario s({.admin_accepts_outdated = true, .extra_args = {"--tls-version", "1.1"}});
        ASSERT_TRUE(s.sim->started());
        // The server really speaks TLS 1.1 (so the refusal below is about the version).
        ASSERT_TRUE(speaks_tls_1_1(s.dir.path(), s.sim->port())) << read_text(s.dir.path() / "s_client.out");
        s.configure({s.fixture("note-only.yaml")});
        expect_refused(s, s.s1pilot.once(), "tls handshake");
    }
    // TLS 1.2 is the oldest s1pilot accepts; by default it gets 1.3 (expect_works' default).
    {
        scenario s({.extra_args = {"--tls-version", "1.2"}});
        ASSERT_TRUE(s.sim->started());
        EXPECT_FALSE(speaks_tls_1_1(s.dir.path(), s.sim->port()));
        s.configure({s.fixture("note-only.yaml")});
        expect_works(s, s.s1pilot.once(), "TLSv1.2");
    }
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("note-only.yaml")});
    expect_works(s, s.s1pilot.once(), "TLSv1.3");
}

}  // namespace
}  // namespace s1pilot::integration
