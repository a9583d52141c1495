// The engine's metrics as the audit records drive them, the endpoint label, the containment
// action, and the status's JSON both ways.

#include "s1pilot/engine/metrics.hpp"
#include "s1pilot/engine/status.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "playbooks.hpp"

namespace s1pilot::engine {
namespace {

boost::json::object record(std::string_view text) {
    return boost::json::parse(text).as_object();
}

TEST(engine_metrics, action_results_count_threats_by_outcome_and_unknown_ones_as_ambiguous) {
    core::metrics_registry registry;
    engine_metrics m(registry);
    m.observe_record(record(R"({"event":"action.result","playbook":"p","action":"mitigate:kill",
        "outcome":"success","threat_ids":["1","2","3"]})"));
    m.observe_record(record(R"({"event":"action.result","playbook":"p","action":"mitigate:kill",
        "outcome":"unknown","threat_ids":["4","5"]})"));
    m.observe_record(record(R"({"event":"action.result","playbook":"p","action":"mitigate:kill",
        "outcome":"success","threat_ids":[]})"));  // target: filter: the run counts once
    EXPECT_EQ(m.actions.value({"p", "mitigate:kill", "success"}), 4);
    EXPECT_EQ(m.actions.value({"p", "mitigate:kill", "unknown"}), 2);
    EXPECT_EQ(m.ambiguous.value({"p", "mitigate:kill"}), 1);
    EXPECT_EQ(m.audit_records.value({}), 3);
}

TEST(engine_metrics, run_ends_set_results_held_and_the_last_success) {
    core::metrics_registry registry;
    engine_metrics m(registry);
    m.observe_record(record(R"({"event":"run.end","playbook":"p","result":"held"})"));
    EXPECT_EQ(m.runs.value({"p", "held"}), 1);
    EXPECT_EQ(m.held.value({"p"}), 1);
    EXPECT_EQ(m.last_success.value({"p"}), 0);
    m.observe_record(record(R"({"event":"run.end","playbook":"p","result":"ok"})"));
    EXPECT_EQ(m.held.value({"p"}), 0);
    EXPECT_GT(m.last_success.value({"p"}), 1.7e9);
    m.observe_record(record(R"({"event":"action.confirmed","playbook":"p","action":"mitigate:kill",
        "state":"confirmed","threat_ids":["1","2"]})"));
    m.observe_record(record(R"({"event":"action.unconfirmed","playbook":"p","action":"mitigate:kill",
        "state":"unconfirmed","threat_ids":["3"]})"));
    EXPECT_EQ(m.confirmations.value({"p", "mitigate:kill", "confirmed"}), 2);
    EXPECT_EQ(m.confirmations.value({"p", "mitigate:kill", "unconfirmed"}), 1);
}

TEST(engine_metrics, publishing_playbooks_sets_intervals_and_drops_removed_ones) {
    core::metrics_registry registry;
    engine_metrics m(registry);
    auto polled = test::playbook_with("  - note: x", "trigger: {every: 90s}\n");
    auto other = test::playbook_with("  - note: y");
    other.name = "other";
    m.publish_playbooks({polled, other});
    EXPECT_EQ(m.interval.value({"contain"}), 90);
    m.observe_record(record(R"({"event":"run.end","playbook":"other","result":"held"})"));
    EXPECT_EQ(m.held.value({"other"}), 1);
    m.publish_playbooks({polled});
    const auto text = registry.render();
    EXPECT_EQ(text.find("playbook=\"other\"}"), std::string::npos) << text;
    EXPECT_NE(text.find("s1pilot_playbook_held{playbook=\"contain\"} 0"), std::string::npos) << text;
}

TEST(engine_metrics, endpoint_labels_hide_ids_so_that_their_values_stay_few) {
    EXPECT_EQ(endpoint_label("/web/api/v2.1/threats"), "/web/api/v2.1/threats");
    EXPECT_EQ(endpoint_label("/web/api/v2.1/threats/1590000000000104729/notes"), "/web/api/v2.1/threats/{id}/notes");
    EXPECT_EQ(endpoint_label("/web/api/v2.1/threats/mitigate/kill"), "/web/api/v2.1/threats/mitigate/kill");
}

TEST(engine_metrics, containment_is_the_first_mitigation_or_isolation_else_the_first_action) {
    EXPECT_EQ(containment_key(test::playbook_with("  - note: x\n  - mitigate: quarantine\n  - mitigate: kill")),
              "mitigate:quarantine");
    EXPECT_EQ(containment_key(test::playbook_with("  - verdict: true_positive\n  - isolate: agents")), "isolate:agents");
    EXPECT_EQ(containment_key(test::playbook_with("  - verdict: true_positive\n  - note: x")), "verdict:true_positive");
}

TEST(engine_status, its_json_reads_back_the_same) {
    engine_status s;
    s.ready = false;
    s.reason = "audit log: disk full";
    s.generation = 3;
    s.active_runs = 1;
    playbook_status p;
    p.name = "contain";
    p.mode = "enforce";
    p.console = "prod";
    p.every = std::chrono::minutes(1);
    p.webhook = true;
    p.next_run = core::parse_timestamp("2026-12-06T06:00:00.000000Z");
    p.runs = 4;
    p.held_runs = 1;
    p.last = last_run{"r-000012", "webhook", "ok", *core::parse_timestamp("2026-12-06T05:59:00.000000Z"),
                      *core::parse_timestamp("2026-12-06T05:59:01.500000Z"), 12, 10, 3, 1, "one failed"};
    s.playbooks.push_back(p);
    playbook_status idle;
    idle.name = "manual";
    idle.mode = "dry-run";
    idle.console = "prod";
    s.playbooks.push_back(idle);
    console_status c;
    c.name = "prod";
    c.url = "https://usea1.example.net";
    c.read = {5, 10, 4.9, std::chrono::milliseconds(0)};
    c.write = {2, 4, 1.4, std::chrono::milliseconds(1500)};
    c.throttled = 2;
    c.last_error = "HTTP 503";
    c.last_error_at = core::parse_timestamp("2026-12-06T05:58:00.000000Z");
    s.consoles.push_back(c);

    const auto back = status_from_json(to_json(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->reason, s.reason);
    EXPECT_EQ(back->generation, 3u);
    ASSERT_EQ(back->playbooks.size(), 2u);
    EXPECT_EQ(back->playbooks[0].every, p.every);
    EXPECT_EQ(back->playbooks[0].next_run, p.next_run);
    ASSERT_TRUE(back->playbooks[0].last);
    EXPECT_EQ(back->playbooks[0].last->run_id, "r-000012");
    EXPECT_EQ(back->playbooks[0].last->ended, p.last->ended);
    EXPECT_EQ(back->playbooks[0].last->error, "one failed");
    EXPECT_FALSE(back->playbooks[1].last);
    EXPECT_FALSE(back->playbooks[1].every);
    ASSERT_EQ(back->consoles.size(), 1u);
    EXPECT_EQ(back->consoles[0].write.paused_for, std::chrono::milliseconds(1500));
    EXPECT_DOUBLE_EQ(back->consoles[0].write.current_rate, 1.4);
    EXPECT_EQ(back->consoles[0].last_error_at, c.last_error_at);
    EXPECT_FALSE(status_from_json(boost::json::parse(R"({"ready":true})")));
    EXPECT_FALSE(status_from_json(boost::json::parse(R"({"ready":true,"playbooks":[{"name":1}],"consoles":[]})")));
}

}  // namespace
}  // namespace s1pilot::engine
