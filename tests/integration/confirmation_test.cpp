// Confirmation, black-box (DESIGN §4): s1sim's agents carry kills out after a delay, some agents
// are offline, some mitigations fail. Every kill on an online agent is confirmed; a kill on an
// offline agent is audited action.unconfirmed after confirm_within (agent offline), or confirmed
// if the agent comes back before; a failed one is confirmed_failed with the console's status; and
// nothing is ever sent twice.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

constexpr const char* site = "1364475734565842020";

/// A kill playbook on one site, followed for `confirm_within`.
fs::path kill_playbook(const scenario& s, const std::string& confirm_within) {
    const auto file = s.dir.path() / "playbooks" / "contain.yaml";
    write_text(file, std::string("name: contain\nmatch:\n  siteIds: [\"") + site +
                         "\"]\nlimits:\n  max_threats: 1000\n  confirm_within: " + confirm_within +
                         "\nactions:\n  - mitigate: kill\n");
    return file;
}

/// Threat ids of the site by their agent's state in s1sim's dump.
struct site_threats {
    std::set<std::string> online, offline;
    std::map<std::string, std::string> agent_of;
};

site_threats threats_of_site(const sim_process& sim) {
    site_threats out;
    const auto dump = sim.dump();  // named: a range-for would not keep the temporary alive
    for (const auto& t : dump.at("data").as_array()) {
        const auto& info = t.at("agentRealtimeInfo").as_object();
        if (info.at("siteId").as_string() != site) continue;
        const std::string id(t.at("id").as_string());
        out.agent_of[id] = std::string(info.at("agentId").as_string());
        const auto* active = info.if_contains("agentIsActive");
        (active != nullptr && active->is_bool() && !active->as_bool() ? out.offline : out.online).insert(id);
    }
    return out;
}

/// Threat ids of the audit records of `event` whose `state` is `state`.
std::set<std::string> audited(const pilot& p, const std::string& event, const std::string& state) {
    std::set<std::string> ids;
    for (const auto& r : p.audit_events(event)) {
        if (text_of(r, "state") != state) continue;
        for (const auto& id : r.at("threat_ids").as_array()) ids.insert(std::string(id.as_string()));
    }
    return ids;
}

TEST(Confirmation, OnlineAgentsConfirmOfflineOnesAreUnconfirmedUnlessTheyComeBackAndNothingIsResent) {
    sim_options options;
    options.extra_args = {"--agents-offline", "0.2", "--agent-delay", "2s"};
    scenario s(options);
    ASSERT_TRUE(s.sim->started()) << s.sim->stderr_text();
    const auto threats = threats_of_site(*s.sim);
    ASSERT_GT(threats.online.size(), 10u);
    ASSERT_GT(threats.offline.size(), 2u);
    s.configure({kill_playbook(s, "12s")});
    auto once = s.s1pilot.start({"once", "-c", s.s1pilot.config_path().string(), "--confirm-wait", "40s"});
    // One offline agent comes back before the deadline: its kills are confirmed after the delay.
    ASSERT_TRUE(wait_until([&] { return !s.sim->posts().empty() || !once->running(); }, 60s));
    const std::string revived_threat = *threats.offline.begin();
    const std::string revived_agent = threats.agent_of.at(revived_threat);
    const auto online = s.sim->admin().post("/_sim/agents/" + revived_agent + "/online", "");
    ASSERT_EQ(online.status, 200) << online.body;
    const auto code = once->wait(120s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << once->stderr_text();

    std::set<std::string> expected_confirmed = threats.online, expected_unconfirmed;
    for (const auto& id : threats.offline)
        (threats.agent_of.at(id) == revived_agent ? expected_confirmed : expected_unconfirmed).insert(id);
    EXPECT_EQ(audited(s.s1pilot, "action.confirmed", "confirmed"), expected_confirmed);
    EXPECT_EQ(audited(s.s1pilot, "action.unconfirmed", "unconfirmed"), expected_unconfirmed);
    for (const auto& r : s.s1pilot.audit_events("action.unconfirmed")) {
        EXPECT_EQ(text_of(r, "last_status"), "pending");
        EXPECT_TRUE(r.at("agent_offline").as_bool());
    }
    EXPECT_TRUE(contains(once->stdout_text(),
                         "0 awaiting the agents, " + std::to_string(expected_unconfirmed.size()) + " unconfirmed"))
        << once->stdout_text();

    // Exactly one kill POST per batch of 100, whatever the agents did: nothing resent.
    const auto total = threats.online.size() + threats.offline.size();
    std::size_t kills = 0, ids_posted = 0, confirmation_reads = 0;
    bool after_posts = false;
    for (const auto& r : s.sim->requests()) {
        if (r.method == "POST") {
            ++kills;
            ids_posted += static_cast<std::size_t>(std::count(r.body.begin(), r.body.end(), ',')) + 1;
            after_posts = true;
        } else if (after_posts && r.path.ends_with("/threats")) {
            ++confirmation_reads;
        }
    }
    EXPECT_EQ(kills, (total + 99) / 100);
    std::printf("confirmation reads: %zu GETs for %zu kills (%.1f per 1,000 mitigations)\n", confirmation_reads, total,
                1000.0 * static_cast<double>(confirmation_reads) / static_cast<double>(total));
    const auto again = s.s1pilot.once();
    EXPECT_EQ(again.code, 0) << again.describe();
    EXPECT_EQ(s.sim->posts().size(), kills) << "a second once resent a kill the agents had not confirmed";
}

TEST(Confirmation, AMitigationTheAgentFailsIsConfirmedFailedWithTheConsolesStatusAndNotResent) {
    sim_options options;
    options.extra_args = {"--faults", "mitigation_failed=0.1"};
    scenario s(options);
    ASSERT_TRUE(s.sim->started()) << s.sim->stderr_text();
    s.configure({kill_playbook(s, "30s")});
    const auto once = s.s1pilot.once({"--confirm-wait", "60s"});
    EXPECT_EQ(once.code, 0) << once.describe();
    const auto failed = audited(s.s1pilot, "action.confirmed", "confirmed_failed");
    const auto confirmed = audited(s.s1pilot, "action.confirmed", "confirmed");
    EXPECT_FALSE(failed.empty());
    EXPECT_FALSE(confirmed.empty());
    EXPECT_TRUE(audited(s.s1pilot, "action.unconfirmed", "unconfirmed").empty());
    for (const auto& r : s.s1pilot.audit_events("action.confirmed")) {
        if (text_of(r, "state") != "confirmed_failed") continue;
        EXPECT_EQ(text_of(r, "last_status"), "failed");
        EXPECT_EQ(text_of(r, "outcome"), "failure");
    }
    EXPECT_TRUE(contains(once.out, std::to_string(failed.size()) + " confirmed failed")) << once.out;
    const auto posts = s.sim->posts().size();
    EXPECT_EQ(s.s1pilot.once().code, 0);
    EXPECT_EQ(s.sim->posts().size(), posts) << "a kill the agent failed was resent";
}

}  // namespace
}  // namespace s1pilot::integration
