// Black-box checks of what a run may send: `once --dry-run` sends nothing even when an earlier
// process left rows pending (start-up reconciliation is not run), the match's `limit` caps a run
// without breaking its GETs, and a threat the console skipped (remediate on Linux) is reported
// as skipped, not as done.

#include "s1pilot/core/clock.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <csignal>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

const std::string verdict_path = std::string(api_prefix) + "/threats/analyst-verdict";

// Up to `n` threats of site ...020 whose verdict is not `suspicious` yet.
std::vector<std::string> unsuspected_ids(const dataset& data, std::size_t n) {
    std::vector<std::string> ids;
    for (const auto& t : data.threats())
        if (field(t.as_object(), {"agentRealtimeInfo", "siteId"}) == "1364475734565842020" &&
            field(t.as_object(), {"threatInfo", "analystVerdict"}) != "suspicious" && ids.size() < n)
            ids.push_back(field(t.as_object(), {"id"}));
    return ids;
}

// The ledger's status of each row of (playbook, action), read after s1pilot has exited.
std::vector<state::action_status> statuses(const fs::path& db, const std::string& playbook, const std::string& action,
                                           const std::vector<std::string>& ids) {
    core::system_clock clock;
    auto ledger = state::sqlite_ledger::open(db, clock);
    EXPECT_TRUE(ledger) << ledger.error().message;
    std::vector<state::action_status> out;
    if (!ledger) return out;
    for (const auto& id : ids) {
        auto found = (*ledger)->find(playbook, action, id);
        EXPECT_TRUE(found && *found) << "no ledger row for threat " << id;
        if (found && *found) out.push_back((*found)->status);
    }
    return out;
}

// Leaves one pending `verdict:suspicious` row per returned threat whose effect is absent: the
// verdict is refused (429) and s1pilot killed while it waits to try again, after its intent is
// durable. The configuration holds pending-verdict.yaml and `others`.
std::vector<std::string> leave_pending_verdicts(scenario& s, const std::vector<fs::path>& others = {}) {
    const auto ids = unsuspected_ids(dataset(s.sim->dump()), 4);
    EXPECT_EQ(ids.size(), 4u);
    const auto file = s.fixture("pending-verdict.yaml");
    fill_ids(file, ids);
    auto console = s.console();
    console.retry = "{max_attempts: 5, base: 200ms, cap: 30s}";  // a 429 keeps the row pending a while
    auto playbooks = others;
    playbooks.insert(playbooks.begin(), file);
    s.s1pilot.write_config(console, playbooks);

    s.sim->set_rate_limits("write=0.001/s:burst=0.5");
    auto child = s.s1pilot.start({"once", "-c", s.s1pilot.config_path().string(), "it-pending-verdict"});
    auto refused = [&] {
        for (const auto& p : s.sim->posts())
            if (p.path == verdict_path && p.status == 429) return true;
        return false;
    };
    EXPECT_TRUE(wait_until([&] { return refused() || !child->running(); }, 180s) && refused()) << child->stderr_text();
    EXPECT_TRUE(child->running()) << "s1pilot exited before it could be killed";
    EXPECT_EQ(child->stop(SIGKILL), 128 + SIGKILL);
    s.sim->set_rate_limits("read=1000/s:burst=1000");
    return ids;
}

TEST(RunSafety, DryRunSendsNothingAndLeavesPendingRowsForTheNextEnforcingRun) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const auto ids = leave_pending_verdicts(s);
    ASSERT_FALSE(HasFailure());
    const auto posts_before = s.sim->posts().size();
    const std::vector<state::action_status> all_pending(ids.size(), state::action_status::pending);
    ASSERT_EQ(statuses(s.s1pilot.state_path(), "it-pending-verdict", "verdict:suspicious", ids), all_pending);

    auto dry = s.s1pilot.once({"--dry-run"});
    EXPECT_EQ(dry.code, 0) << dry.describe();
    EXPECT_EQ(s.sim->posts().size(), posts_before) << "a dry run sent " << s.sim->posts().back().path;
    EXPECT_EQ(statuses(s.s1pilot.state_path(), "it-pending-verdict", "verdict:suspicious", ids), all_pending);
    for (const auto& r : s.s1pilot.audit_events("action.reconciled"))
        ADD_FAILURE() << "a dry run reconciled: " << boost::json::serialize(r);

    auto enforcing = s.s1pilot.once();
    EXPECT_EQ(enforcing.code, 0) << enforcing.describe();
    const std::vector<state::action_status> all_done(ids.size(), state::action_status::done);
    EXPECT_EQ(statuses(s.s1pilot.state_path(), "it-pending-verdict", "verdict:suspicious", ids), all_done);
    const dataset after(s.sim->dump());
    for (const auto& id : ids) EXPECT_EQ(field(*after.find(id), {"threatInfo", "analystVerdict"}), "suspicious");
    EXPECT_GE(s.s1pilot.audit_events("action.reconciled").size(), 1u);
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

// `once OTHER` still reconciles every playbook's pending rows with that playbook loaded: the rows
// of a playbook that was merely not named are finished, not failed as "no longer loaded".
TEST(RunSafety, NamingOnePlaybookStillReconcilesTheOthersPendingRows) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const auto ids = leave_pending_verdicts(s, {s.fixture("note-only.yaml")});
    ASSERT_FALSE(HasFailure());

    auto other = s.s1pilot.once({"it-note-only"});
    EXPECT_EQ(other.code, 0) << other.describe();
    const std::vector<state::action_status> all_done(ids.size(), state::action_status::done);
    EXPECT_EQ(statuses(s.s1pilot.state_path(), "it-pending-verdict", "verdict:suspicious", ids), all_done);
    for (const auto& r : s.s1pilot.audit_events("action.reconciled"))
        EXPECT_EQ(boost::json::serialize(r).find("no longer loaded"), std::string::npos) << boost::json::serialize(r);
    const dataset after(s.sim->dump());
    for (const auto& id : ids) EXPECT_EQ(field(*after.find(id), {"threatInfo", "analystVerdict"}), "suspicious");
}

TEST(RunSafety, TheMatchsLimitCapsARunAndNeverReachesAGet) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("limit.yaml")});
    auto first = s.s1pilot.once();
    EXPECT_EQ(first.code, 0) << first.describe();
    EXPECT_NE(first.out.find("it-limit: matched 25, acted 3 (1 call), held no, failed 0"), std::string::npos)
        << first.out;
    for (const auto& r : s.sim->requests()) {
        if (r.method == "GET") {
            EXPECT_EQ(r.status, 200) << r.path << "?" << r.query;
        }
    }
    const auto posts = s.sim->posts();
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(body_ids(posts[0]).size(), 3u);
    // The next run takes the next three oldest.
    auto second = s.s1pilot.once();
    EXPECT_EQ(second.code, 0) << second.describe();
    ASSERT_EQ(s.sim->posts().size(), 2u);
    const auto earlier = body_ids(posts[0]);
    const auto next = body_ids(s.sim->posts()[1]);
    EXPECT_EQ(next.size(), 3u);
    for (const auto& id : next) EXPECT_EQ(std::count(earlier.begin(), earlier.end(), id), 0) << id;
}

TEST(RunSafety, ARemediationTheConsoleSkipsIsReportedSkipped) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("remediate-linux.yaml")});
    auto r = s.s1pilot.once();
    EXPECT_EQ(r.code, 0) << r.describe();
    EXPECT_NE(r.out.find("acted 4 (1 call), held no, failed 0, skipped 4"), std::string::npos) << r.out;
    std::size_t skipped = 0;
    for (const auto& record : s.s1pilot.audit_events("action.result")) {
        EXPECT_EQ(text_of(record, "outcome"), "skipped") << boost::json::serialize(record);
        EXPECT_EQ(text_of(record, "reason"), "remediate: not_supported");
        skipped += record.at("threat_ids").as_array().size();
    }
    EXPECT_EQ(skipped, 4u);
    // Final: the next run does not repeat the skip; it takes the next four.
    auto again = s.s1pilot.once();
    EXPECT_EQ(again.code, 0) << again.describe();
    const auto posts = s.sim->posts();
    ASSERT_EQ(posts.size(), 2u);
    const auto earlier = body_ids(posts[0]);
    for (const auto& id : body_ids(posts[1])) EXPECT_EQ(std::count(earlier.begin(), earlier.end(), id), 0) << id;
}

}  // namespace
}  // namespace s1pilot::integration
