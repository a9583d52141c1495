// `once` on a terminal shows its progress on stderr, and shows none of it otherwise (a pipe, a
// file, the journal). The terminal is a pseudo-terminal from util-linux's `script`.

#include <gtest/gtest.h>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

using namespace std::chrono_literals;

constexpr auto erase_line = "\x1b[2K";

TEST(Progress, OnATerminalOnceShowsPagesAndBatchesAndElsewhereNothing) {
    if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "util-linux's script is missing";
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("first.yaml")});

    // Not a terminal: no progress.
    const auto piped = s.s1pilot.once();
    ASSERT_EQ(piped.code, 0) << piped.describe();
    EXPECT_EQ(piped.err.find(erase_line), std::string::npos) << piped.err;
    EXPECT_EQ(piped.err.find("resolving"), std::string::npos) << piped.err;

    // A terminal, outside systemd: the progress line, erased before the summary. (The ledger
    // now has the first run's actions done, so a second playbook gives the run something to do.)
    s.configure({s.fixture("first.yaml"), s.fixture("note-only.yaml")});
    const std::vector<std::string> wrapper{
        "/bin/sh", "-c", "exec env -u INVOCATION_ID -u JOURNAL_STREAM TERM=xterm script -qec \"$*\" /dev/null", "sh"};
    const auto tty = s.s1pilot.run_under(wrapper, {"once", "-c", s.s1pilot.config_path().string()}, 120s);
    ASSERT_EQ(tty.code, 0) << tty.describe();
    // At most ten updates a second: the first event is shown, and a batch that ends an action.
    EXPECT_NE(tty.out.find("it-first: resolving… 25 threats"), std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find("it-note-only: note batch 1/1\r"), std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find(erase_line), std::string::npos) << tty.out;
    // The summary line comes after the progress was erased.
    const auto summary = tty.out.rfind("it-note-only: matched");  // the summary, not the log line
    ASSERT_NE(summary, std::string::npos) << tty.out;
    EXPECT_LT(tty.out.rfind(erase_line), summary) << tty.out;
}

}  // namespace
}  // namespace s1pilot::integration
