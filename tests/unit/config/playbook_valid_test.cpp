// Valid playbooks: the shipped examples, and what each key turns into.
#include "s1pilot/config/schema.hpp"
#include "s1pilot/filter/schema.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_support.hpp"

using namespace s1pilot;
using namespace s1pilot::config;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path examples = std::filesystem::path(S1PILOT_SOURCE_DIR) / "config" / "playbooks";

std::optional<playbook> parse(const std::string& text, std::vector<core::diagnostic>& diagnostics) {
    return parse_playbook(text, "test.yaml", diagnostics);
}

const std::string scoped = "name: t\nmatch:\n  siteIds: [\"1364475734565842019\"]\n";

TEST(ExamplePlaybooks, EveryOneValidatesWithoutErrorsOrWarnings) {
    auto result = load_playbooks({examples});
    EXPECT_TRUE(result.ok());
    EXPECT_EQ(fixtures::messages(result.diagnostics, examples), std::vector<std::string>{});
    EXPECT_GE(result.playbooks.size(), 4u);
    for (const char* name :
         {"contain-ransomware", "triage-suspicious", "cleanup-benign-pua", "isolate-lateral-movement"})
        EXPECT_TRUE(std::any_of(result.playbooks.begin(), result.playbooks.end(), [&](const playbook& p) {
            return p.name == name;
        })) << name;
}

TEST(ExamplePlaybooks, ContainRansomwareReadsAsWritten) {
    auto result = load_playbooks({examples / "contain-ransomware.yaml"});
    ASSERT_TRUE(result.ok());
    const playbook& p = result.playbooks.at(0);
    EXPECT_EQ(p.name, "contain-ransomware");
    EXPECT_EQ(p.mode, run_mode::enforce);
    EXPECT_EQ(p.trigger.every, std::chrono::milliseconds(60s));
    EXPECT_TRUE(p.trigger.webhook);
    EXPECT_EQ(p.limits.max_threats, 25);
    EXPECT_EQ(p.limits.on_exceed, exceed_policy::hold);
    EXPECT_EQ(p.limits.cooldown, std::chrono::milliseconds(7 * 24h));
    EXPECT_EQ(p.on_error, error_policy::stop);
    EXPECT_EQ(p.target, target_kind::threats);
    ASSERT_EQ(p.actions.size(), 4u);
    EXPECT_EQ(action_name(p.actions[0]), "mitigate:kill");
    EXPECT_EQ(action_name(p.actions[1]), "mitigate:quarantine");
    EXPECT_EQ(action_name(p.actions[2]), "incident:in_progress:true_positive");
    EXPECT_EQ(action_name(p.actions[3]), "note");
    EXPECT_TRUE(p.match.has_scope());
    const auto* created = p.match.find("createdAt__gte");
    ASSERT_NE(created, nullptr);
    EXPECT_EQ(std::get<filter::relative_time>(created->val).offset, std::chrono::microseconds(-24h));
    const auto* sites = p.match.find("siteIds");
    ASSERT_NE(sites, nullptr);
    EXPECT_EQ(std::get<filter::string_list>(sites->val),
              (filter::string_list{"1364475734565842019", "1364475734565842020"}));
    EXPECT_EQ(p.sha256.size(), 64u);
}

TEST(ExamplePlaybooks, Sha256IsOfTheFileBytes) {
    // printf 'name: t\nmatch: {ids: ["1"]}\nactions: [{verdict: suspicious}]\n' | sha256sum
    std::vector<core::diagnostic> d;
    auto p = parse_playbook("name: t\nmatch: {ids: [\"1\"]}\nactions: [{verdict: suspicious}]\n", "x", d);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->sha256, "5ee6ef9373f27f85fcf76eb4b03baa9e1f6f462a725cf1af99881785db79bbf3");
}

TEST(PlaybookValues, DefaultsWhenKeysAreOmitted) {
    std::vector<core::diagnostic> d;
    auto p = parse(scoped + "actions:\n  - verdict: suspicious\n", d);
    ASSERT_TRUE(p) << (d.empty() ? "" : d[0].message);
    EXPECT_EQ(p->mode, run_mode::enforce);
    EXPECT_FALSE(p->trigger.every);
    EXPECT_FALSE(p->trigger.webhook);
    EXPECT_EQ(p->target, target_kind::threats);
    EXPECT_EQ(p->limits.max_threats, 50);
    EXPECT_EQ(p->limits.on_exceed, exceed_policy::hold);
    EXPECT_FALSE(p->limits.cooldown);
    EXPECT_EQ(p->on_error, error_policy::stop);
    EXPECT_TRUE(p->console.empty());
    EXPECT_TRUE(d.empty());
}

TEST(PlaybookValues, MaxThreatsGoesUpToAMillionAndNoFurther) {
    std::vector<core::diagnostic> d;
    auto p = parse(scoped + "limits: {max_threats: 1000000}\nactions:\n  - verdict: suspicious\n", d);
    ASSERT_TRUE(p) << (d.empty() ? "" : d[0].message);
    EXPECT_EQ(p->limits.max_threats, 1'000'000);
    d.clear();
    EXPECT_FALSE(parse(scoped + "limits: {max_threats: 1000001}\nactions:\n  - verdict: suspicious\n", d));
    ASSERT_FALSE(d.empty());
    EXPECT_EQ(d[0].message, R"(limits.max_threats: expected a whole number from 1 to 1000000, not "1000001")");
}

TEST(PlaybookValues, ScalarWhereAListIsWantedIsAListOfOne) {
    std::vector<core::diagnostic> d;
    auto p =
        parse("name: t\nmatch:\n  siteIds: 1364475734565842019\n  osTypes: windows\nactions: [{mitigate: kill}]\n", d);
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<filter::string_list>(p->match.find("siteIds")->val), filter::string_list{"1364475734565842019"});
    EXPECT_EQ(std::get<filter::string_list>(p->match.find("osTypes")->val), filter::string_list{"windows"});
}

TEST(PlaybookValues, YamlIntegerIdsKeepEveryDigit) {
    // Ids are 19-digit numbers: read as their text, never through a double or an int64.
    std::vector<core::diagnostic> d;
    auto p = parse(
        "name: t\nmatch:\n  siteIds: [1364475734565842019, 18446744073709551615]\n"
        "  accountIds: [\"0433241117337583618\"]\nactions: [{mitigate: kill}]\n",
        d);
    ASSERT_TRUE(p) << (d.empty() ? "" : core::to_string(d[0]));
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(std::get<filter::string_list>(p->match.find("siteIds")->val),
              (filter::string_list{"1364475734565842019", "18446744073709551615"}));
    EXPECT_EQ(std::get<filter::string_list>(p->match.find("accountIds")->val),
              filter::string_list{"0433241117337583618"});
}

TEST(PlaybookValues, TimesBooleansNumbersAndTags) {
    std::vector<core::diagnostic> d;
    auto p = parse(scoped +
                       "  createdAt__lt: 2024-01-31T10:00:00Z\n"
                       "  updatedAt__gte: -90m\n"
                       "  rebootRequired: false\n"
                       "  limit: 10\n"
                       "  agentTagsData: {env: [prod, staging]}\n"
                       "actions: [{mitigate: kill}]\n",
                   d);
    ASSERT_TRUE(p) << (d.empty() ? "" : core::to_string(d[0]));
    EXPECT_EQ(core::format_timestamp(std::get<core::timestamp>(p->match.find("createdAt__lt")->val)),
              "2024-01-31T10:00:00.000000Z");
    EXPECT_EQ(std::get<filter::relative_time>(p->match.find("updatedAt__gte")->val).offset,
              std::chrono::microseconds(-90min));
    EXPECT_EQ(std::get<bool>(p->match.find("rebootRequired")->val), false);
    EXPECT_EQ(std::get<std::int64_t>(p->match.find("limit")->val), 10);
    EXPECT_EQ(std::get<std::string>(p->match.find("agentTagsData")->val), R"({"env":["prod","staging"]})");
}

TEST(PlaybookValues, TenantWideNeedsTheExplicitOptIn) {
    std::vector<core::diagnostic> d;
    auto p = parse(
        "name: t\nallow_tenant_wide: true\nmatch: {tenant: true, classifications: [Ransomware]}\n"
        "actions: [{mitigate: kill}]\n",
        d);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->allow_tenant_wide);
    EXPECT_TRUE(d.empty());
}

TEST(PlaybookValues, UnseenClassificationIsOnlyAWarning) {
    auto result = load_playbooks({fixtures::valid_dir / "unseen-classification.yaml"});
    EXPECT_TRUE(result.ok());
    ASSERT_EQ(result.playbooks.size(), 1u);
    EXPECT_EQ(
        fixtures::messages(result.diagnostics, fixtures::valid_dir),
        std::vector<std::string>{
            R"(unseen-classification.yaml:5:20: warning: unknown classification "Cryptominer" (known: Malware, Ransomware, Trojan, Infostealer, Manual, PUA, Exploit, Hacktool, Backdoor, Worm); it is sent as written)"});
}

TEST(PlaybookValues, EveryActionKind) {
    std::vector<core::diagnostic> d;
    auto p = parse(scoped +
                       "actions:\n"
                       "  - mitigate: rollback-remediation\n"
                       "  - incident: {status: resolved}\n"
                       "  - verdict: false_positive\n"
                       "  - note: \"{{ threat_id }} by {{playbook}}\"\n"
                       "  - isolate: agents\n",
                   d);
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<mitigate_action>(p->actions[0]).kind, mitigation::rollback_remediation);
    EXPECT_EQ(action_name(p->actions[1]), "incident:resolved");
    EXPECT_EQ(action_name(p->actions[2]), "verdict:false_positive");
    const auto& note = std::get<note_action>(p->actions[3]).text;
    EXPECT_TRUE(note.per_threat());
    EXPECT_EQ(note.render(
                  [](placeholder ph) { return ph == placeholder::threat_id ? std::string("T1") : std::string("pb"); }),
              "T1 by pb");
    EXPECT_EQ(action_name(p->actions[4]), "isolate:agents");
    EXPECT_EQ(to_string(mitigation::un_quarantine), "un-quarantine");
}

TEST(PlaybookSchema, IsDraft202012AndEmbedsTheFilterSchema) {
    auto schema = playbook_schema();
    EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
    EXPECT_EQ(schema.at("properties").at("match").as_object(), filter::match_schema());
    EXPECT_EQ(schema.at("required"), (boost::json::array{"name", "match", "actions"}));
    EXPECT_EQ(schema.at("additionalProperties"), false);
    EXPECT_EQ(schema.at("properties").at("actions").at("items").at("oneOf").as_array().size(), 5u);
}

}  // namespace
