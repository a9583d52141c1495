// Failures of the console, black-box (RELIABILITY rows 1, 3 and 6): the real s1pilot against the
// real s1sim injecting them. Every figure is measured in s1sim's journal (`receivedNs`, the
// monotonic clock when it had read a request, plus `delayMs`, how long it held the answer), not
// with sleeps in the test, and printed for the record. Rows 4 and 5 are in outage_test.cpp.
//
// Row 1, Retry-After: the next attempt arrives at least the Retry-After after the 429 was answered
// and at most 0.25 s later, for seconds and for an HTTP-date; garbage or a negative value falls
// back to the backoff; a huge value is capped by retry.cap. Row 3, the attempts bound: a console
// that always answers 503 gets exactly max_attempts tries per call (a GET is retried; a POST is
// sent again only after reading the threats back), and a call ends within timeouts.call. Row 6:
// nothing listens for 3 s, then s1sim comes up: every action is done exactly once.

#include "s1pilot/policy/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "pki.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

using std::chrono::milliseconds;

const std::string threats_path = std::string(api_prefix) + "/threats";
const std::string kill_path = std::string(api_prefix) + "/threats/mitigate/kill";

// Seconds from each answer to the arrival of the attempt after it.
std::vector<double> gaps(const std::vector<journal_entry>& attempts) {
    std::vector<double> out;
    for (std::size_t i = 1; i < attempts.size(); ++i)
        out.push_back(seconds(attempts[i].received_ns - answered_ns(attempts[i - 1])));
    return out;
}

std::string listed(const std::vector<double>& values) {
    std::string out;
    for (double v : values) out += (out.empty() ? "" : ", ") + std::to_string(v).substr(0, 5) + " s";
    return out;
}

// `once` of note-only.yaml while s1sim injects `faults` into every request: none gets through,
// so the journal holds the attempts of the run's first call (its resolve GET), and only those.
std::vector<journal_entry> attempts_of_a_refused_run(const std::string& faults, const std::string& retry,
                                                     const std::string& call_timeout = "120s",
                                                     std::string* log = nullptr) {
    scenario s({.extra_args = {"--faults", faults}});
    if (!s.sim->started()) return {};
    auto console = s.console();
    console.retry = retry;
    console.call_timeout = call_timeout;
    s.s1pilot.write_config(console, {s.fixture("note-only.yaml")});
    const auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 1) << "the run should fail: its first call never got through\n" << run.describe();
    if (log != nullptr) *log = run.err;
    auto attempts = s.sim->requests();
    for (const auto& a : attempts) {
        EXPECT_EQ(a.method + " " + a.path, "GET " + threats_path) << "only the first call's attempts";
        EXPECT_EQ(a.query, attempts.front().query) << "a retry repeats its request";
        EXPECT_NE(a.received_ns, 0);
    }
    s.s1pilot.expect_token_never_written();
    return attempts;
}

// Row 1 for one Retry-After value the client must honour: every gap in [wait, wait + 0.25 s].
void expect_retry_after_honoured(const std::string& retry_after, double wait) {
    const auto attempts =
        attempts_of_a_refused_run("status429=1,retry_after=" + retry_after, "{max_attempts: 3, base: 100ms, cap: 10s}");
    ASSERT_EQ(attempts.size(), 3u) << "max_attempts tries of the call";
    const auto measured = gaps(attempts);
    std::printf("[row 1] Retry-After %s: next attempt after %s (pass: %.2f to %.2f s)\n", retry_after.c_str(),
                listed(measured).c_str(), wait, wait + 0.25);
    for (double gap : measured) {
        EXPECT_GE(gap, wait) << "sent before the console allowed it";
        EXPECT_LE(gap, wait + 0.25);
    }
}

TEST(Faults, RetryAfterInSecondsIsWaitedOutAndNoLonger) {
    expect_retry_after_honoured("2", 2.0);
}

TEST(Faults, RetryAfterAsAnHttpDateIsWaitedOutAndNoLonger) {
    // s1sim holds the answer to a whole second and dates the retry 2 s after it: an HTTP-date has
    // whole seconds only, and the journal's delayMs says how long the hold was.
    expect_retry_after_honoured("date+2s", 2.0);
}

TEST(Faults, GarbageOrNegativeRetryAfterFallsBackToTheBackoff) {
    // Failure n backs off uniformly in [0, min(cap, base * 2^(n-1))]; a 429 without a usable
    // Retry-After also pauses that class of calls for the limiter's default pause. So the next
    // attempt comes after max(pause, backoff): neither at once nor never, and the call still
    // ends after max_attempts.
    const milliseconds base{500}, cap{2000};
    const double pause = std::chrono::duration<double>(policy::adaptation_settings{}.default_pause).count();
    for (const std::string value : {"soon", "-5"}) {
        SCOPED_TRACE("Retry-After: " + value);
        const auto attempts =
            attempts_of_a_refused_run("status429=1,retry_after=" + value, "{max_attempts: 4, base: 500ms, cap: 2s}");
        ASSERT_EQ(attempts.size(), 4u) << "max_attempts tries of the call";
        const auto measured = gaps(attempts);
        std::printf("[row 1] Retry-After %s: next attempt after %s\n", value.c_str(), listed(measured).c_str());
        for (std::size_t n = 1; n <= measured.size(); ++n) {
            const double ceiling = std::chrono::duration<double>(std::min(cap, base * (1 << (n - 1)))).count();
            EXPECT_GE(measured[n - 1], pause) << "attempt " << n + 1 << " came at once";
            EXPECT_LE(measured[n - 1], std::max(pause, ceiling) + 0.25) << "attempt " << n + 1;
        }
    }
}

TEST(Faults, AHugeRetryAfterIsCappedByTheRetryCap) {
    const auto attempts =
        attempts_of_a_refused_run("status429=1,retry_after=99999999999", "{max_attempts: 3, base: 100ms, cap: 3s}");
    ASSERT_EQ(attempts.size(), 3u) << "max_attempts tries of the call within its deadline";
    const auto measured = gaps(attempts);
    std::printf("[row 1] Retry-After 99999999999 with retry.cap 3s: next attempt after %s\n", listed(measured).c_str());
    for (double gap : measured) {
        EXPECT_GE(gap, 3.0);
        EXPECT_LE(gap, 3.25);
    }
}

TEST(Faults, AlwaysUnavailableAReadIsTriedExactlyMaxAttemptsWithinTheCallDeadline) {
    const auto attempts = attempts_of_a_refused_run("status503=1", "{max_attempts: 4, base: 200ms, cap: 1s}", "30s");
    ASSERT_EQ(attempts.size(), 4u);
    for (const auto& a : attempts) EXPECT_EQ(a.status, 503);
    const double took = seconds(answered_ns(attempts.back()) - attempts.front().received_ns);
    std::printf(
        "[row 3] always 503, max_attempts 4: %zu tries of GET /threats in %.3f s (timeouts.call 30 s; "
        "backoff ceilings 0.2 + 0.4 + 0.8 s)\n",
        attempts.size(), took);
    EXPECT_LE(took, 30.0);
}

TEST(Faults, TheCallDeadlineEndsRetriesThatMaxAttemptsWouldAllow) {
    std::string log;
    const auto attempts =
        attempts_of_a_refused_run("status503=1", "{max_attempts: 50, base: 500ms, cap: 1s}", "3s", &log);
    const double took = attempts.empty() ? 0 : seconds(answered_ns(attempts.back()) - attempts.front().received_ns);
    std::printf("[row 3] always 503, max_attempts 50, timeouts.call 3s: %zu tries in %.3f s\n", attempts.size(), took);
    EXPECT_GE(attempts.size(), 2u);
    EXPECT_LT(attempts.size(), 50u);
    EXPECT_LE(took, 3.0);
    EXPECT_TRUE(contains(log, "call deadline of 3s would pass")) << log;
}

TEST(Faults, AlwaysUnavailableAWriteIsSentExactlyMaxAttemptsTimesEachAfterAReadBack) {
    scenario s({.extra_args = {"--faults", "status503=1,only=writes"}});
    ASSERT_TRUE(s.sim->started());
    // A kill, then three more actions, on threats without any mitigation yet: the kill's effect is
    // absent at every read-back, and the later actions are left out once it failed (on_error: stop).
    const auto fresh = s.fixture_on_fresh_threats("crash.yaml", 5);
    const auto& file = fresh.first;
    const auto& ids = fresh.second;
    ASSERT_EQ(ids.size(), 5u);
    auto console = s.console();
    console.retry = "{max_attempts: 4, base: 100ms, cap: 1s}";
    s.s1pilot.write_config(console, {file});
    const auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 4) << "the kill failed, the rest was left out\n" << run.describe();

    const auto requests = s.sim->requests();
    const auto posts = s.sim->posts();
    ASSERT_EQ(posts.size(), 4u) << "max_attempts sends of the batch, then given up";
    for (const auto& p : posts) {
        EXPECT_EQ(p.path, kill_path);
        EXPECT_EQ(p.body, posts.front().body) << "the same batch";
        EXPECT_EQ(p.status, 503);
    }
    EXPECT_EQ(body_ids(posts.front()).size(), ids.size());
    // Never resent blindly: a read of the batch's threats (answered) between two sends.
    for (std::size_t i = 0, sent = 0; i < requests.size(); ++i) {
        if (requests[i].method != "POST") continue;
        if (++sent == 1) continue;
        ASSERT_GT(i, 0u);
        EXPECT_EQ(requests[i - 1].method, "GET") << "POST " << sent << " followed another POST";
        EXPECT_TRUE(contains(requests[i - 1].query, "ids=")) << requests[i - 1].query;
        EXPECT_EQ(requests[i - 1].status, 200);
    }
    std::size_t intents = 0;
    for (const auto& r : s.s1pilot.audit_events("action.intent")) {
        EXPECT_EQ(r.at("attempt").to_number<std::int64_t>(), static_cast<std::int64_t>(++intents));
    }
    EXPECT_EQ(intents, 4u);
    std::printf("[row 3] writes always 503, max_attempts 4: %zu sends of the batch, a read-back before each resend\n",
                posts.size());
    s.s1pilot.expect_token_never_written();
}

// A port on 127.0.0.1 that refuses connections until it is released: bound (so that no one else
// takes it), never listening. s1sim may bind it too (both sockets say SO_REUSEADDR).
class refused_port {
public:
    refused_port() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int on = 1;
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof(address);
        if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
            ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            return;
        port_ = ntohs(address.sin_port);
    }
    ~refused_port() { release(); }
    refused_port(const refused_port&) = delete;
    refused_port& operator=(const refused_port&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    void release() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

TEST(Faults, NothingListeningForThreeSecondsThenEveryActionIsDoneExactlyOnce) {
    temp_dir dir;
    const auto pki = make_pki(dir.path());
    ASSERT_TRUE(pki);
    refused_port reserved;
    ASSERT_NE(reserved.port(), 0);
    pilot s1pilot(dir.path());
    const auto file = s1pilot.copy_playbook(fs::path(S1PILOT_TEST_DATA) / "integration" / "first.yaml");
    console_settings console{.url = "https://127.0.0.1:" + std::to_string(reserved.port()), .ca_file = pki->ca};
    console.retry = "{max_attempts: 20, base: 500ms, cap: 2s}";  // 3 s of refusals fit many times over
    s1pilot.write_config(console, {file});

    const auto started = monotonic_ns();
    auto once = s1pilot.start({"once", "-c", s1pilot.config_path().string()});
    std::this_thread::sleep_for(3s);  // the outage itself, not a wait for something to happen
    const auto up_from = monotonic_ns();
    auto sim = std::make_unique<sim_process>(
        dir.path(), s1pilot.token(),
        sim_options{
            .cert_file = pki->good.cert, .key_file = pki->good.key, .ca_file = pki->ca, .port = reserved.port()});
    reserved.release();
    ASSERT_TRUE(sim->started()) << sim->stderr_text();
    const auto code = once->wait(120s);
    ASSERT_TRUE(code.has_value()) << "s1pilot once did not end";
    EXPECT_EQ(*code, 0) << once->stderr_text();

    const auto requests = sim->requests();
    ASSERT_FALSE(requests.empty());
    std::printf("[row 6] nothing listening for %.3f s; first request arrived %.3f s after s1pilot started\n",
                seconds(up_from - started), seconds(requests.front().received_ns - started));
    EXPECT_GE(requests.front().received_ns, up_from);
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(sim->dump());
    const auto expected = expect_run(*p, data, pinned_instant());
    // Every action once per threat: the ids of each action's POSTs, each exactly once, all 200.
    const auto records = s1pilot.audit_records();
    const note_context context{.run_id = last_run_id(records, p->name), .matched = expected.acted.size()};
    check_posts(*p, expected.acted, sim->posts(), 100, context);
    std::printf("[row 6] %zu POSTs for %zu threats x %zu actions, each (action, threat) applied once\n",
                sim->posts().size(), expected.acted.size(), p->actions.size());
    expect_audit_verifies(s1pilot.audit_path(), s1pilot.audit_key());
    s1pilot.expect_token_never_written();
}

}  // namespace
}  // namespace s1pilot::integration
