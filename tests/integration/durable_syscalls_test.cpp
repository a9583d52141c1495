// What durability costs and in what order, by strace around the real binary (RELIABILITY row 9,
// docs/performance.md "Grouped syncs"): every batch's intent (its ledger rows and its audit
// record) is synced before its POST leaves; a batch's results share the next batch's syncs, so
// a POST costs at most two fdatasync (one per file), not four.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scenario.hpp"
#include "strace.hpp"

namespace s1pilot::integration {
namespace {

/// What the trace shows, in order: a sync completed, an audit intent written, a socket send.
enum class step { synced, intent, send };

std::vector<step> steps_of(const std::string& trace) {
    std::vector<step> out;
    std::istringstream lines(trace);
    for (std::string line; std::getline(lines, line);) {
        // A write holds the batch before's results and then the intent: the whole string is traced.
        // `-f` splits a call that another thread interrupts into "<unfinished ...>" and
        // "<... name resumed>": a sync counts when it completes, a send when it starts.
        const bool unfinished = line.find("<unfinished ...>") != std::string::npos;
        if ((line.find("fdatasync(") != std::string::npos && !unfinished) ||
            line.find("<... fdatasync resumed>") != std::string::npos)
            out.push_back(step::synced);
        else if (line.find(" write(") != std::string::npos && line.find("action.intent") != std::string::npos)
            out.push_back(step::intent);
        else if (line.find(" sendto(") != std::string::npos || line.find(" sendmsg(") != std::string::npos)
            out.push_back(step::send);
    }
    return out;
}

TEST(DurableSyscalls, EachIntentIsSyncedBeforeItsPostAndAPostCostsAtMostTwoSyncs) {
    if (!on_path("strace")) GTEST_SKIP() << "strace is not installed (scripts/deps installs it)";
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("many-batches.yaml")}, 5);
    const auto trace_file = s.dir.path() / "strace.txt";
    if (auto probe = run_to_end({.argv = {"strace", "-o", "/dev/null", "true"},
                                 .stdout_file = s.dir.path() / "probe.out",
                                 .stderr_file = s.dir.path() / "probe.err"},
                                30s);
        probe.code != 0) {
        GTEST_SKIP() << "strace cannot trace here: " << probe.err;
    }
    auto run = s.s1pilot.run_under(
        {"strace", "-f", "-s", "1000000", "-e", "trace=fdatasync,write,sendto,sendmsg", "-o", trace_file.string()},
        {"once", "-c", s.s1pilot.config_path().string(), "--confirm-wait", "0s"}, 240s, traced_environment());
    ASSERT_EQ(run.code, 0) << run.describe();
    const auto posts = s.sim->posts().size();
    ASSERT_GE(posts, 20u) << "the fixture must need many batches";

    const auto steps = steps_of(read_text(trace_file));
    std::size_t intents = 0, syncs = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (steps[i] == step::synced) ++syncs;
        if (steps[i] != step::intent) continue;
        ++intents;
        // The ledger's sync between the previous send and the intent's audit write; the audit
        // log's sync between that write and the next send (the POST).
        bool ledger_synced = false, audit_synced = false;
        for (std::size_t j = i; j-- > 0 && steps[j] != step::send;)
            ledger_synced = ledger_synced || steps[j] == step::synced;
        for (std::size_t j = i + 1; j < steps.size() && steps[j] != step::send; ++j)
            audit_synced = audit_synced || steps[j] == step::synced;
        EXPECT_TRUE(ledger_synced) << "intent " << intents << ": the ledger was not synced before it";
        EXPECT_TRUE(audit_synced) << "intent " << intents << ": the audit log was not synced before the POST";
    }
    EXPECT_EQ(intents, posts);
    // Two per POST, plus a fixed few for the run's start and end and the process's own records.
    EXPECT_LE(syncs, 2 * posts + 30) << syncs << " syncs for " << posts << " POSTs";
    RecordProperty("syncs", static_cast<int>(syncs));
    RecordProperty("posts", static_cast<int>(posts));
}

}  // namespace
}  // namespace s1pilot::integration
