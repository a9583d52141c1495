// TLS (DESIGN §5, RELIABILITY #15): s1pilot verifies the console's certificate chain and host
// name before it sends anything. A refused handshake leaves s1sim's journal empty: no request,
// so no token, ever reached a server s1pilot could not authenticate. Each refusal has a
// positive control in the same test, so a test that cannot fail would show.

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

// A refused run: it failed (not a usage or configuration error), said why, and sent nothing.
void expect_refused(const scenario& s, const run_result& run) {
    EXPECT_TRUE(run.code == 1 || run.code == 4) << run.describe();
    EXPECT_TRUE(contains(lower(run.err + run.out), "certificate")) << "the error does not say why: " << run.describe();
    EXPECT_TRUE(s.sim->requests().empty()) << "s1sim received a request: " << s.sim->requests().front().path;
}

// The positive control: the same playbook against the same kind of server works.
void expect_works(const scenario& s, const run_result& run) {
    EXPECT_EQ(run.code, 0) << run.describe();
    EXPECT_FALSE(s.sim->posts().empty()) << "the playbook posted nothing: the control proves nothing";
}

TEST(Tls, AnUntrustedCertificateIsRefusedBeforeAnyRequest) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("note-only.yaml");
    auto console = s.console();

    console.ca_file.reset();  // the system trust store: s1sim's generated CA is not in it
    s.s1pilot.write_config(console, {file});
    expect_refused(s, s.s1pilot.once());

    temp_dir other;
    auto pki = make_pki(other.path());
    ASSERT_TRUE(pki);
    console.ca_file = pki->ca;  // a CA, but not the one that signed s1sim's certificate
    s.s1pilot.write_config(console, {file});
    expect_refused(s, s.s1pilot.once());

    console.ca_file = s.sim->ca_file();
    s.s1pilot.write_config(console, {file});
    expect_works(s, s.s1pilot.once());
    s.s1pilot.expect_token_never_written();
}

TEST(Tls, ACertificateForAnotherHostNameIsRefused) {
    temp_dir pki_dir;
    auto pki = make_pki(pki_dir.path());
    ASSERT_TRUE(pki);
    {
        scenario s({.cert_file = pki->wrong_cert,
                    .key_file = pki->wrong_key,
                    .ca_file = pki->ca,
                    .host_name = "wrong.example"});
        ASSERT_TRUE(s.sim->started());
        s.configure({s.fixture("note-only.yaml")});  // url https://127.0.0.1:<port>, ca_file: the test CA
        expect_refused(s, s.s1pilot.once());
        s.s1pilot.expect_token_never_written();
    }
    scenario s({.cert_file = pki->good_cert, .key_file = pki->good_key, .ca_file = pki->ca});
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("note-only.yaml")});
    expect_works(s, s.s1pilot.once());
}

}  // namespace
}  // namespace s1pilot::integration
