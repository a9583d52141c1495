// The pure steps of a run: limits, what is left, batching, filters and the requests built.

#include "s1pilot/engine/plan.hpp"

#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/keys.hpp"
#include "s1pilot/filter/wire.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include "playbooks.hpp"

namespace s1pilot::engine {
namespace {

using test::playbook_with;
namespace json = boost::json;

config::limits_config limits(int max, config::exceed_policy on_exceed) {
    config::limits_config l;
    l.max_threats = max;
    l.on_exceed = on_exceed;
    return l;
}

TEST(limits, under_or_at_the_cap_keeps_everything) {
    EXPECT_EQ(apply_limits(0, limits(3, config::exceed_policy::hold)), (limit_decision{false, 0}));
    EXPECT_EQ(apply_limits(3, limits(3, config::exceed_policy::hold)), (limit_decision{false, 3}));
}

TEST(limits, hold_acts_on_none_and_first_keeps_the_oldest) {
    EXPECT_EQ(apply_limits(4, limits(3, config::exceed_policy::hold)), (limit_decision{true, 0}));
    EXPECT_EQ(apply_limits(4, limits(3, config::exceed_policy::first)), (limit_decision{false, 3}));
}

TEST(restrict_match, sets_ids_and_intersects_with_the_matchs_own) {
    auto p = playbook_with("  - mitigate: kill");
    auto r = restrict_match(p.match, {"5", "6", "5"});
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<filter::string_list>(r->find("ids")->val), (filter::string_list{"5", "6"}));
    EXPECT_TRUE(r->find("siteIds"));

    filter::threat_filter with_ids = p.match;
    with_ids.set(*filter::find_key("ids"), filter::string_list{"6", "9"});
    auto both = restrict_match(with_ids, {"5", "6"});
    ASSERT_TRUE(both);
    EXPECT_EQ(std::get<filter::string_list>(both->find("ids")->val), (filter::string_list{"6"}));
    EXPECT_FALSE(restrict_match(with_ids, {"5"}));
    EXPECT_FALSE(restrict_match(p.match, {}));
}

TEST(ledger_step, keeps_threats_with_anything_to_do_or_pending_in_resolve_order) {
    std::vector<open_threats> remaining{{{3}, {}}, {{1}, {4}}};
    EXPECT_EQ(threats_left({1, 2, 3, 4}, remaining), (std::vector<s1::object_id>{1, 3, 4}));
    // A threat open for two actions, or resolved twice, is left once, where it first came.
    std::vector<open_threats> twice{{{3, 1}, {}}, {{1}, {3}}};
    EXPECT_EQ(threats_left({3, 2, 1, 3}, twice), (std::vector<s1::object_id>{3, 1}));
}

TEST(ledger_step, the_ledgers_text_ids_become_numbers) {
    state::remaining_action r{"mitigate:kill", {"3", "1364475734565842019"}, {"4"}};
    EXPECT_EQ(to_open_threats(r), (open_threats{{3, 1364475734565842019ULL}, {4}}));
    state::remaining_action odd{"mitigate:kill", {"run:r-1", "7"}, {""}};
    EXPECT_EQ(to_open_threats(odd), (open_threats{{7}, {}}));
}

TEST(work_for_action, stop_skips_threats_that_failed_an_earlier_action) {
    open_threats r{{1, 2, 3, 9}, {4}};
    auto stop = work_for_action(r, {1, 2, 3, 4}, {2, 4}, config::error_policy::stop);
    EXPECT_EQ(stop.to_do, (std::vector<s1::object_id>{1, 3}));  // 9 is not selected (limit)
    EXPECT_TRUE(stop.pending.empty());
    EXPECT_EQ(stop.skipped, (std::vector<s1::object_id>{2, 4}));

    auto go_on = work_for_action(r, {1, 2, 3, 4}, {2, 4}, config::error_policy::proceed);
    EXPECT_EQ(go_on.to_do, (std::vector<s1::object_id>{1, 2, 3}));
    EXPECT_EQ(go_on.pending, (std::vector<s1::object_id>{4}));
    EXPECT_TRUE(go_on.skipped.empty());
}

TEST(batching, cuts_into_full_batches_and_a_rest) {
    EXPECT_EQ(batch_sizes(0, 100), (std::vector<std::size_t>{}));
    EXPECT_EQ(batch_sizes(250, 100), (std::vector<std::size_t>{100, 100, 50}));
    EXPECT_EQ(batch_sizes(2, 0), (std::vector<std::size_t>{1, 1}));
}

TEST(filters, action_filter_is_the_batch_plus_the_carried_scope_only) {
    auto p = playbook_with("  - mitigate: kill");
    p.match.set(*filter::find_key("agentIds"), filter::string_list{"77"});
    const auto f = batch_filter(p.match.resolved(core::timestamp{}), {"1", "2"});
    EXPECT_EQ(json::serialize(filter::to_json(f)),
              R"({"ids":["1","2"],"siteIds":["7"],"accountIds":["3"],"agentIds":["77"]})");
    const auto agents = agent_filter(p.match, {"77", "78"});
    EXPECT_EQ(json::serialize(filter::to_json(agents)), R"({"ids":["77","78"],"siteIds":["7"],"accountIds":["3"]})");
}

TEST(ledger_keys, name_actions_and_tell_two_notes_apart) {
    auto p = playbook_with(
        "  - mitigate: rollback-remediation\n  - note: first\n  - note: second\n"
        "  - incident: {status: in_progress, verdict: true_positive}");
    EXPECT_EQ(ledger_key(p.actions[0]), "mitigate:rollback-remediation");
    EXPECT_TRUE(ledger_key(p.actions[1]).starts_with("note:"));
    EXPECT_EQ(ledger_key(p.actions[1]).size(), 5u + 16u);
    EXPECT_NE(ledger_key(p.actions[1]), ledger_key(p.actions[2]));
    EXPECT_EQ(ledger_key(p.actions[3]), "incident:in_progress:true_positive");
}

std::vector<threat_ref> refs(std::size_t n) {
    std::vector<threat_ref> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back({100 + i,
                       500 + i / 2,
                       {},
                       std::make_shared<const threat_texts>(
                           threat_texts{7, "name" + std::to_string(i), "Ransomware", "host" + std::to_string(i)})});
    return out;
}

std::vector<const threat_ref*> pointers(const std::vector<threat_ref>& threats) {
    std::vector<const threat_ref*> out;
    for (const auto& t : threats) out.push_back(&t);
    return out;
}

note_values values() {
    return {"contain", "r-000007", "sim", "enforce", "2026-01-01T00:00:00.000000Z", 3};
}

TEST(plan_calls, batches_a_mitigation_with_the_exact_request) {
    auto p = playbook_with("  - mitigate: kill");
    const auto threats = refs(5);
    auto plan = plan_calls(p.actions[0], p.match.resolved(core::timestamp{}), pointers(threats), 2, values());
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->calls.size(), 3u);
    EXPECT_EQ(plan->calls[0].threat_ids, (std::vector<std::string>{"100", "101"}));
    EXPECT_EQ(plan->calls[2].threat_ids, (std::vector<std::string>{"104"}));
    EXPECT_EQ(plan->calls[0].request.target, "/web/api/v2.1/threats/mitigate/kill");
    EXPECT_EQ(plan->calls[0].request.body,
              R"({"filter":{"ids":["100","101"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
}

TEST(plan_calls, a_note_with_per_threat_placeholders_goes_one_threat_per_call) {
    auto p = playbook_with("  - note: \"{{threat_name}} on {{computer_name}} by {{playbook}} ({{run}}, {{matched}})\"");
    const auto threats = refs(3);
    auto plan = plan_calls(p.actions[0], p.match, pointers(threats), 100, values());
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->calls.size(), 3u);
    EXPECT_EQ(plan->calls[1].note_text, "name1 on host1 by contain (r-000007, 3)");
    EXPECT_EQ(plan->calls[1].request.target, "/web/api/v2.1/threats/notes");
    const auto body = json::parse(plan->calls[1].request.body);
    EXPECT_EQ(body.at("data").at("text").as_string(), "name1 on host1 by contain (r-000007, 3)");
    EXPECT_EQ(json::serialize(body.at("filter").at("ids")), R"(["101"])");
}

TEST(plan_calls, a_run_level_note_is_batched) {
    auto p = playbook_with("  - note: \"by {{playbook}}\"");
    const auto threats = refs(3);
    auto plan = plan_calls(p.actions[0], p.match, pointers(threats), 100, values());
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->calls.size(), 1u);
    EXPECT_EQ(plan->calls[0].note_text, "by contain");
}

TEST(plan_calls, isolate_posts_distinct_agents_with_account_site_group_scope) {
    auto p = playbook_with("  - isolate: agents");
    p.match.set(*filter::find_key("agentIds"), filter::string_list{"500"});
    auto threats = refs(4);
    threats[3].agent_id = 0;  // no agent: cannot be isolated
    auto plan = plan_calls(p.actions[0], p.match, pointers(threats), 100, values());
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->calls.size(), 1u);
    EXPECT_EQ(plan->calls[0].threat_ids, (std::vector<std::string>{"100", "101", "102"}));
    EXPECT_EQ(plan->calls[0].agent_ids, (std::vector<std::string>{"500", "501"}));
    EXPECT_EQ(plan->calls[0].request.target, "/web/api/v2.1/agents/actions/disconnect");
    EXPECT_EQ(plan->calls[0].request.body,
              R"({"filter":{"ids":["500","501"],"siteIds":["7"],"accountIds":["3"]},"data":{}})");
    EXPECT_EQ(plan->no_agent, (std::vector<std::string>{"103"}));
}

TEST(plan_calls, incident_and_verdict_bodies) {
    auto p = playbook_with("  - incident: {status: in_progress, verdict: true_positive}\n  - verdict: suspicious");
    const auto threats = refs(1);
    auto incident = plan_calls(p.actions[0], p.match, pointers(threats), 10, values());
    auto verdict = plan_calls(p.actions[1], p.match, pointers(threats), 10, values());
    ASSERT_TRUE(incident && verdict);
    EXPECT_EQ(incident->calls[0].request.target, "/web/api/v2.1/threats/incident");
    EXPECT_EQ(json::serialize(json::parse(incident->calls[0].request.body).at("data")),
              R"({"incidentStatus":"in_progress","analystVerdict":"true_positive"})");
    EXPECT_EQ(verdict->calls[0].request.target, "/web/api/v2.1/threats/analyst-verdict");
}

TEST(plan_filter_call, sends_the_match_itself) {
    auto p = playbook_with("  - verdict: true_positive");
    auto call = plan_filter_call(p.actions[0], p.match.resolved(core::parse_timestamp("2026-01-02T00:00:00Z").value()),
                                 values());
    ASSERT_TRUE(call);
    const auto body = json::parse(call->request.body);
    EXPECT_EQ(json::serialize(body.at("filter")),
              R"({"siteIds":["7"],"accountIds":["3"],"classifications":["Ransomware"],)"
              R"("createdAt__gte":"2026-01-01T00:00:00.000000Z"})");
}

TEST(build_request, refuses_an_empty_filter) {
    auto p = playbook_with("  - mitigate: kill");
    auto r = build_request(p.actions[0], filter::threat_filter{}, "");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), core::errc::empty_filter);
}

TEST(threat_refs, keep_placeholder_texts_only_when_asked) {
    s1::threat_record t;
    t.id = 1;
    t.agent_id = 2;
    t.threat_name = "evil.exe";
    EXPECT_EQ(make_ref(t, false).threat_name(), "");
    EXPECT_EQ(make_ref(t, false).texts, nullptr);  // nothing kept: 40 bytes, no allocation
    EXPECT_EQ(make_ref(t, true).threat_name(), "evil.exe");
    EXPECT_EQ(make_ref(t, true), make_ref(t, true));  // equal by value, not by pointer
    EXPECT_NE(make_ref(t, true), make_ref(t, false));
    t.threat_name.clear();
    EXPECT_EQ(make_ref(t, true).texts, nullptr);  // no text to keep
    static_assert(sizeof(threat_ref) <= 40);
    EXPECT_TRUE(needs_threat_details(playbook_with("  - note: \"{{threat_id}}\"")));
    EXPECT_FALSE(needs_threat_details(playbook_with("  - note: \"{{run}}\"")));
}

}  // namespace
}  // namespace s1pilot::engine
