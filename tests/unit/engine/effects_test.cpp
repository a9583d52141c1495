// Reconciliation decisions: is an action's effect visible on a freshly read threat, and what a
// ledger row keeps so that the check works after a crash.

#include "s1pilot/engine/effects.hpp"

#include "s1pilot/engine/plan.hpp"
#include "s1pilot/filter/keys.hpp"

#include <gtest/gtest.h>

#include "playbooks.hpp"

namespace s1pilot::engine {
namespace {

using test::playbook_with;

s1::threat_record threat(s1::object_id id) {
    s1::threat_record t;
    t.id = id;
    return t;
}

TEST(effect_present, mitigation_needs_an_entry_for_that_action_that_did_not_fail) {
    const effect kill = parse_effect("mitigate:kill", "").value();
    auto t = threat(1);
    EXPECT_FALSE(effect_present(kill, t, nullptr));
    t.mitigations.push_back({s1::mitigation_action::quarantine, s1::mitigation_result::success, std::nullopt});
    EXPECT_FALSE(effect_present(kill, t, nullptr));
    t.mitigations.push_back({s1::mitigation_action::kill, s1::mitigation_result::failed, std::nullopt});
    EXPECT_FALSE(effect_present(kill, t, nullptr));
    t.mitigations.push_back({s1::mitigation_action::kill, s1::mitigation_result::pending, std::nullopt});
    EXPECT_TRUE(effect_present(kill, t, nullptr));
}

// An older entry for the same mitigation, since undone, must not pass for this request's effect:
// quarantined, un-quarantined, then a new quarantine lost in a crash is not done.
TEST(effect_present, a_mitigation_counts_only_entries_beyond_the_baseline_of_its_intent) {
    const effect quarantine = parse_effect("mitigate:quarantine", "").value();
    const auto at = [](const char* text) { return core::parse_timestamp(text); };
    auto t = threat(1);
    t.mitigations.push_back(
        {s1::mitigation_action::quarantine, s1::mitigation_result::success, at("2026-11-20T10:00:00Z")});
    t.mitigations.push_back(
        {s1::mitigation_action::un_quarantine, s1::mitigation_result::success, at("2026-11-20T11:00:00Z")});
    const auto baseline = baseline_of(s1::mitigation_action::quarantine, t.mitigations);
    EXPECT_EQ(baseline, (mitigation_baseline{1, at("2026-11-20T10:00:00Z")}));
    EXPECT_TRUE(effect_present(quarantine, t, nullptr));  // without a baseline: any entry
    EXPECT_FALSE(effect_present(quarantine, t, nullptr, &baseline));

    // A console that appends: a new entry past the baseline's count.
    auto appended = t;
    appended.mitigations.push_back({s1::mitigation_action::quarantine, s1::mitigation_result::pending, std::nullopt});
    EXPECT_TRUE(effect_present(quarantine, appended, nullptr, &baseline));
    appended.mitigations.back().status = s1::mitigation_result::failed;
    EXPECT_FALSE(effect_present(quarantine, appended, nullptr, &baseline));

    // A console that keeps one entry per action and updates it in place: a later lastUpdate.
    auto updated = t;
    updated.mitigations[0].last_update = at("2026-11-21T09:00:00Z");
    EXPECT_TRUE(effect_present(quarantine, updated, nullptr, &baseline));
}

TEST(effect_present, incident_compares_status_and_the_verdict_when_asked) {
    auto p = playbook_with(
        "  - incident: {status: in_progress, verdict: true_positive}\n"
        "  - incident: {status: resolved}");
    const auto with_verdict = effect_of(p.actions[0]);
    const auto status_only = effect_of(p.actions[1]);
    auto t = threat(1);
    t.incident = s1::incident_status::in_progress;
    EXPECT_FALSE(effect_present(with_verdict, t, nullptr));
    t.verdict = s1::analyst_verdict::true_positive;
    EXPECT_TRUE(effect_present(with_verdict, t, nullptr));
    EXPECT_FALSE(effect_present(status_only, t, nullptr));
    t.incident = s1::incident_status::resolved;
    EXPECT_TRUE(effect_present(status_only, t, nullptr));
}

TEST(effect_present, verdict_note_and_isolate) {
    const effect verdict = parse_effect("verdict:suspicious", "").value();
    const effect note = parse_effect("note:0123456789abcdef", "Contained by s1pilot").value();
    const effect isolate = parse_effect("isolate:agents", "").value();
    auto t = threat(1);
    EXPECT_FALSE(effect_present(verdict, t, nullptr));
    t.verdict = s1::analyst_verdict::suspicious;
    EXPECT_TRUE(effect_present(verdict, t, nullptr));

    std::vector<std::string> notes{"something else"};
    EXPECT_FALSE(effect_present(note, t, &notes));
    EXPECT_FALSE(effect_present(note, t, nullptr));
    notes.push_back("Contained by s1pilot");
    EXPECT_TRUE(effect_present(note, t, &notes));

    t.network = s1::network_status::connected;
    EXPECT_FALSE(effect_present(isolate, t, nullptr));
    t.network = s1::network_status::disconnecting;
    EXPECT_TRUE(effect_present(isolate, t, nullptr));
    t.network = s1::network_status::disconnected;
    EXPECT_TRUE(effect_present(isolate, t, nullptr));
}

TEST(parse_effect, reads_every_key_the_engine_writes_and_refuses_others) {
    auto p = playbook_with(
        "  - mitigate: un-quarantine\n  - incident: {status: resolved, verdict: false_positive}\n"
        "  - verdict: undefined\n  - isolate: agents\n  - note: hello");
    for (const auto& a : p.actions) {
        const std::string text = std::holds_alternative<config::note_action>(a) ? "hello" : "";
        const auto parsed = parse_effect(ledger_key(a), text);
        ASSERT_TRUE(parsed) << ledger_key(a);
        EXPECT_EQ(*parsed, effect_of(a, text)) << ledger_key(a);
    }
    EXPECT_FALSE(parse_effect("mitigate:explode", ""));
    EXPECT_FALSE(parse_effect("note:abc", ""));  // a note without its text cannot be checked
    EXPECT_FALSE(parse_effect("reboot", ""));
}

TEST(row_detail, round_trips_console_scope_and_text) {
    row_detail d;
    d.console = "prod";
    d.scope.set(*filter::find_key("siteIds"), filter::string_list{"7", "8"});
    d.note_text = "text with \"quotes\"";
    const auto back = decode_detail(encode_detail(d));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, d);
    EXPECT_FALSE(decode_detail("not json"));
    EXPECT_FALSE(decode_detail("{}"));

    d.baseline = mitigation_baseline{2, core::parse_timestamp("2026-11-20T10:00:00.123456Z")};
    EXPECT_EQ(decode_detail(encode_detail(d)), d);
    d.baseline = mitigation_baseline{0, std::nullopt};
    EXPECT_EQ(decode_detail(encode_detail(d)), d);
    EXPECT_FALSE(decode_detail(R"({"console":"prod","baseline":{"latest":"2026-11-20T10:00:00Z"}})"));
    EXPECT_FALSE(decode_detail(R"({"console":"prod","baseline":{"entries":1,"latest":"yesterday"}})"));
}

TEST(row_detail, a_baseline_added_to_the_encoded_rest_is_the_whole_encoding) {
    row_detail d;
    d.console = "prod";
    d.scope.set(*filter::find_key("siteIds"), filter::string_list{"7"});
    const auto rest = encode_detail(d);
    for (const auto& b : {mitigation_baseline{0, std::nullopt},
                          mitigation_baseline{3, core::parse_timestamp("2026-11-20T10:00:00.123456Z")}}) {
        d.baseline = b;
        EXPECT_EQ(with_baseline(rest, b), encode_detail(d));
        EXPECT_EQ(decode_detail(with_baseline(rest, b)), d);
    }
    d.baseline.reset();
    d.note_text = "a note";  // (a note has no baseline, but the rule holds whatever comes before)
    const auto noted = encode_detail(d);
    d.baseline = mitigation_baseline{1, std::nullopt};
    EXPECT_EQ(with_baseline(noted, *d.baseline), encode_detail(d));
}

TEST(split_by_effect, sorts_threats_into_done_resend_and_unknown) {
    const effect note = parse_effect("note:x", "hi").value();
    std::vector<s1::threat_record> read{threat(1), threat(2), threat(3)};
    const std::vector<std::string> with_note{"hi"};
    const std::vector<std::string> without{};
    auto split = split_by_effect(note, {"1", "2", "3", "4"}, read,
                                 [&](const std::string& id) -> const std::vector<std::string>* {
                                     if (id == "1") return &with_note;
                                     if (id == "2") return &without;
                                     return nullptr;  // notes of 3 could not be read
                                 });
    EXPECT_EQ(split.done, (std::vector<std::string>{"1"}));
    EXPECT_EQ(split.resend, (std::vector<std::string>{"2"}));
    EXPECT_EQ(split.unknown, (std::vector<std::string>{"3", "4"}));  // 4 was not returned at all
}

}  // namespace
}  // namespace s1pilot::engine
