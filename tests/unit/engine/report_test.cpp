// What people and the audit log see: summary lines, the plan table, exit codes, audit records,
// log lines; and the scheduler's pure decisions.

#include "s1pilot/engine/report.hpp"

#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/logging.hpp"
#include "s1pilot/engine/schedule.hpp"

#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace s1pilot::engine {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

run_report sample() {
    run_report r;
    r.playbook = "contain-ransomware";
    r.run_id = "r-000001";
    r.matched = 12;
    r.after_ledger = 12;
    r.acted = 12;
    r.actions.push_back({"mitigate:kill", 12, 1, 0, 0, 0, 0, {}});
    r.actions.push_back({"note", 11, 3, 1, 0, 1, 0, {}});
    return r;
}

TEST(summary_line, says_matched_acted_calls_held_and_failed) {
    EXPECT_EQ(summary_line(sample()), "contain-ransomware: matched 12, acted 12 (4 calls), held no, failed 1");
    auto held = sample();
    held.outcome = run_outcome::held;
    held.actions.clear();
    held.acted = 0;
    EXPECT_EQ(summary_line(held), "contain-ransomware: matched 12, acted 0 (0 calls), held yes, failed 0");
    auto broken = held;
    broken.outcome = run_outcome::failed;
    broken.error = "resolving the match failed: HTTP 401";
    EXPECT_EQ(
        summary_line(broken),
        "contain-ransomware: matched 12, acted 0 (0 calls), held no, failed 0: error: resolving the match failed: "
        "HTTP 401");
}

TEST(plan_table, lists_every_call_under_its_playbook) {
    auto r = sample();
    r.dry_run = true;
    r.actions[0].dry_calls.push_back({"POST", "/web/api/v2.1/threats/mitigate/kill", "{}", 12});
    r.actions[1].dry_calls.push_back({"POST", "/web/api/v2.1/threats/notes", "{}", 1});
    run_report held;
    held.playbook = "x";
    held.matched = 80;
    held.after_ledger = 60;
    held.outcome = run_outcome::held;
    EXPECT_EQ(plan_table({r, held}),
              "PLAYBOOK            MATCHED  AFTER LEDGER  HELD  CALLS\n"
              "contain-ransomware       12            12  no    POST /web/api/v2.1/threats/mitigate/kill (12 ids)\n"
              "                                                 POST /web/api/v2.1/threats/notes (1 id)\n"
              "x                        80            60  yes   none (held)\n");
}

TEST(once_exit_code, failure_beats_held_and_failed_actions) {
    auto ok = sample();
    ok.actions[1].failures = 0;
    EXPECT_EQ(once_exit_code({ok}), 0);
    EXPECT_EQ(once_exit_code({ok, sample()}), 4);
    auto held = ok;
    held.outcome = run_outcome::held;
    EXPECT_EQ(once_exit_code({held}), 4);
    auto failed = ok;
    failed.outcome = run_outcome::failed;
    EXPECT_EQ(once_exit_code({held, failed}), 1);
}

run_identity identity() {
    return {"r-000042", "contain-ransomware", std::string(64, 'f'), "prod", false};
}

TEST(audit_events, result_has_the_fields_of_design_6_in_order) {
    call_identity call{"mitigate:kill", "POST", "/web/api/v2.1/threats/mitigate/kill", {"1", "2"}, {}, "b-1", 1};
    call_answer answer{outcome::success, 200, 2, "rq-9", 84, "", ""};
    EXPECT_EQ(json::serialize(result_event(identity(), call, answer)),
              R"({"event":"action.result","run":"r-000042","playbook":"contain-ransomware","playbook_sha256":")" +
                  std::string(64, 'f') +
                  R"(","console":"prod","action":"mitigate:kill","method":"POST",)"
                  R"("path":"/web/api/v2.1/threats/mitigate/kill","batch":"b-1","threat_ids":["1","2"],)"
                  R"("outcome":"success","http_status":200,"affected":2,"s1_request_id":"rq-9","attempt":1,)"
                  R"("duration_ms":84,"dry_run":false})");
    answer = {outcome::failure, 400, std::nullopt, "rq-10", 3, "Validation Error (4000010)", ""};
    const auto failed = result_event(identity(), call, answer);
    EXPECT_EQ(failed.at("error").as_string(), "Validation Error (4000010)");
    EXPECT_TRUE(failed.at("affected").is_null());
}

TEST(audit_events, dry_run_carries_the_exact_body_and_reconciled_says_what_next) {
    call_identity call{"note", "POST", "/web/api/v2.1/threats/notes", {"1"}, {}, "b-2", 1};
    auto dry = dry_run_event(identity(), call, R"({"filter":{"ids":["1"]},"data":{"text":"x"}})");
    EXPECT_EQ(dry.at("outcome").as_string(), "dry_run");
    EXPECT_EQ(json::serialize(dry.at("body")), R"({"filter":{"ids":["1"]},"data":{"text":"x"}})");
    EXPECT_TRUE(dry.at("dry_run").as_bool());

    reconcile_counts counts{{"1"}, {"2"}, {}, "resending where the effect is absent"};
    auto rec = reconciled_event(identity(), "note", counts);
    EXPECT_EQ(rec.at("event").as_string(), "action.reconciled");
    EXPECT_EQ(rec.at("outcome").as_string(), "failure");
    EXPECT_EQ(json::serialize(rec.at("threat_ids")), R"(["1"])");
    EXPECT_EQ(json::serialize(rec.at("absent")), R"(["2"])");
    counts.absent.clear();
    EXPECT_EQ(reconciled_event(identity(), "note", counts).at("outcome").as_string(), "success");
}

TEST(audit_events, run_end_counts) {
    auto end = run_end_event(identity(), sample());
    EXPECT_EQ(end.at("event").as_string(), "run.end");
    EXPECT_EQ(end.at("outcome").as_string(), "failure");  // one action failed for one threat
    EXPECT_EQ(end.at("calls").as_uint64(), 4u);
    EXPECT_EQ(end.at("failures").as_uint64(), 1u);
    EXPECT_EQ(run_held_event(identity(), 80, 60, 25).at("outcome").as_string(), "skipped");
}

TEST(logging, json_and_text_bodies_quote_what_needs_it) {
    EXPECT_EQ(format_log_body(config::log_format::json, "run \"ok\"", {{"playbook", "a"}, {"run", "r-1"}}),
              R"("msg":"run \"ok\"","playbook":"a","run":"r-1")");
    EXPECT_EQ(format_log_body(config::log_format::text, "run failed", {{"playbook", "a"}, {"error", "HTTP 500 x"}}),
              R"(run failed playbook=a error="HTTP 500 x")");
}

TEST(schedule, first_delay_is_a_splay_below_the_interval_and_the_cap) {
    EXPECT_EQ(first_delay(60s, 10s, 0.0), 0ms);
    EXPECT_EQ(first_delay(60s, 10s, 0.5), 5s);
    EXPECT_LT(first_delay(60s, 10s, 0.99999999), 10s);
    EXPECT_LT(first_delay(5s, 10s, 0.99999999), 5s);
    EXPECT_EQ(first_delay(5s, 0ms, 0.7), 0ms);
}

TEST(schedule, a_trigger_during_a_run_is_coalesced_into_one_next_run) {
    trigger_gate gate;
    EXPECT_TRUE(gate.arrive({std::nullopt, "schedule"}));
    EXPECT_FALSE(gate.arrive({std::vector<std::string>{"1"}, "webhook"}));
    EXPECT_FALSE(gate.arrive({std::vector<std::string>{"2", "1"}, "webhook"}));
    auto next = gate.finish();
    ASSERT_TRUE(next);
    EXPECT_EQ(*next->threat_ids, (std::vector<std::string>{"1", "2"}));
    EXPECT_TRUE(gate.running());
    EXPECT_FALSE(gate.arrive({std::vector<std::string>{"3"}, "webhook"}));
    EXPECT_FALSE(gate.arrive({std::nullopt, "schedule"}));  // a whole run absorbs restricted ones
    next = gate.finish();
    ASSERT_TRUE(next);
    EXPECT_FALSE(next->threat_ids);
    EXPECT_FALSE(gate.finish());
    EXPECT_FALSE(gate.running());
    EXPECT_TRUE(gate.arrive({std::nullopt, "manual"}));
}

}  // namespace
}  // namespace s1pilot::engine
