// What reading large pages costs in system calls, counted by strace around the real binary
// (docs/performance.md, "No spinning"). The event loop must wait for data, not poll for it: a
// TLS stream read in 512-byte pieces completed each piece through the event loop, about 34
// epoll_wait per socket read, and a per-read timer re-armed the timerfd once per socket read.
// Both bounds below are far from the spinning figures and far from what a correct client needs,
// so timing noise cannot move a run across them.

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "scenario.hpp"
#include "strace.hpp"

namespace s1pilot::integration {
namespace {

TEST(ReadSyscalls, LargePagesAreReadWithoutSpinningOrRearmingTimers) {
    if (!on_path("strace")) GTEST_SKIP() << "strace is not installed (scripts/deps installs it)";
    scenario s({.threats = 20000});
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("read-heavy.yaml")});
    const auto table_file = s.dir.path() / "strace.txt";
    if (auto probe = run_to_end({.argv = {"strace", "-o", "/dev/null", "true"},
                                 .stdout_file = s.dir.path() / "probe.out",
                                 .stderr_file = s.dir.path() / "probe.err"},
                                30s);
        probe.code != 0) {
        GTEST_SKIP() << "strace cannot trace here: " << probe.err;
    }

    auto run = s.s1pilot.run_under({"strace", "-f", "-c", "-o", table_file.string()},
                                   {"plan", "-c", s.s1pilot.config_path().string()}, 240s, traced_environment());
    ASSERT_EQ(run.code, 0) << run.describe();
    const auto requests = s.sim->requests().size();
    ASSERT_GE(requests, 4u) << "the fixture must need several full pages";

    auto calls = syscall_counts(read_text(table_file));
    const long socket_reads = calls["recvfrom"] + calls["recvmsg"];
    const long waits = calls["epoll_wait"] + calls["epoll_pwait"];
    // Megabytes arrive in 17 KiB TLS reads: hundreds of socket reads per page.
    ASSERT_GT(socket_reads, 300) << read_text(table_file);
    // At most one wait per socket read that found data (Asio polls once before it runs the
    // completion) and one per read that found none; spinning was 34 per read.
    EXPECT_LE(waits, 2 * socket_reads) << read_text(table_file);
    // A deadline per phase: a few timers per request (connect, handshake, write, read), never
    // one per socket read.
    EXPECT_LE(calls["timerfd_settime"], static_cast<long>(4 * requests + 8)) << read_text(table_file);
}

}  // namespace
}  // namespace s1pilot::integration
