// Every invalid playbook fixture, with the exact text a user sees. The messages are part of the
// interface: change them on purpose, here and in docs/playbooks.md.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "test_support.hpp"

using namespace s1pilot::config;
using s1pilot::config::fixtures::invalid_playbooks;
using ::testing::ElementsAre;

namespace {

struct invalid_case {
    const char* file;
    std::vector<std::string> expected;
};

void PrintTo(const invalid_case& c, std::ostream* os) {
    *os << c.file;
}

class InvalidPlaybook : public ::testing::TestWithParam<invalid_case> {};

TEST_P(InvalidPlaybook, ReportsExactlyTheseDiagnostics) {
    const auto& c = GetParam();
    auto result = load_playbooks({fixtures::invalid_dir / c.file});
    EXPECT_FALSE(result.ok());
    EXPECT_TRUE(result.playbooks.empty());
    EXPECT_EQ(fixtures::messages(result.diagnostics, fixtures::invalid_dir), c.expected);
}

const std::vector<invalid_case> cases{
    {"misspelt-match-key.yaml",
     {R"(misspelt-match-key.yaml:4:3: unknown key "clasifications" in match; did you mean "classifications"?)"}},
    {"misspelt-top-key.yaml",
     {R"(misspelt-top-key.yaml:1:1: missing required key "actions" (what to do with the matched threats))",
      R"(misspelt-top-key.yaml:4:1: unknown key "actons" in playbook; did you mean "actions"?)"}},
    {"wrong-type.yaml", {R"(wrong-type.yaml:3:12: match.siteIds: expected a list of strings, not a mapping)"}},
    {"bad-enum-mode.yaml", {R"(bad-enum-mode.yaml:2:7: mode: expected one of enforce, dry-run, not "enforced")"}},
    {"bad-enum-match.yaml",
     {R"(bad-enum-match.yaml:4:21: invalid value "evil" for confidenceLevels: expected one of malicious, suspicious, n/a)"}},
    {"unknown-action.yaml",
     {R"(unknown-action.yaml:5:5: unknown action "quarantine" in actions[0]; expected one of mitigate, incident, verdict, note, isolate)",
      R"(unknown-action.yaml:6:5: unknown action "mitigat" in actions[1]; did you mean "mitigate"?)"}},
    {"bad-duration.yaml",
     {R"(bad-duration.yaml:3:10: trigger.every: expected a duration like 30s, 5m, 24h, not "1 minute")"}},
    {"missing-name.yaml",
     {R"(missing-name.yaml:1:1: missing required key "name" (a unique id like contain-ransomware))"}},
    {"missing-scope.yaml",
     {"missing-scope.yaml:2:1: match has no scope and could select every threat in the console: add one of ids, "
      "agentIds, accountIds, siteIds, groupIds (or tenant: true with allow_tenant_wide: true)"}},
    {"tenant-without-allow.yaml",
     {R"(tenant-without-allow.yaml:3:11: match.tenant: true selects every threat in the console: add "allow_tenant_wide: true" to the playbook to confirm, or narrow the match with one of ids, agentIds, accountIds, siteIds, groupIds)"}},
    {"syntax-error.yaml", {"syntax-error.yaml:4:1: invalid YAML: end of sequence flow not found"}},
    {"empty.yaml", {"empty.yaml:1:1: empty playbook: expected a mapping with name, match and actions"}},
    {"every-too-often.yaml",
     {"every-too-often.yaml:2:18: trigger.every: 2s is too often: the minimum is 5s (omit every to run on webhook "
      "or by hand only)"}},
    {"bad-name.yaml",
     {R"(bad-name.yaml:1:7: name: "Contain_Ransomware" is not a valid name: use lowercase letters, digits and '-', starting with a letter or digit, at most 64 characters)"}},
    {"empty-actions.yaml", {"empty-actions.yaml:4:10: actions: at least one action is required"}},
    {"bad-incident-status.yaml",
     {R"(bad-incident-status.yaml:5:24: actions[0].incident.status: expected one of unresolved, in_progress, resolved, not "closed")"}},
    {"unknown-placeholder.yaml",
     {"unknown-placeholder.yaml:5:11: actions[0].note: unknown placeholder {{playbok}}; did you mean {{playbook}}?",
      "unknown-placeholder.yaml:7:11: actions[2].note: unknown placeholder {{sha1}}; known placeholders: "
      "{{playbook}}, {{run}}, {{console}}, {{mode}}, {{time}}, {{matched}}, {{threat_id}}, {{threat_name}}, "
      "{{classification}}, {{computer_name}}, {{agent_id}}, {{site_id}}"}},
    {"positive-relative-time.yaml",
     {R"(positive-relative-time.yaml:4:19: match.createdAt__gte: a relative time counts back from now and must be negative: write "-24h" for 24h ago)"}},
    {"deeply-nested.yaml", {"deeply-nested.yaml:3:76: document nested deeper than 64 levels: refused"}},
    {"two-actions-one-item.yaml",
     {R"(two-actions-one-item.yaml:5:5: actions[0]: one action per list item, found mitigate, note: start each with "- ")"}},
    {"filter-key-at-top.yaml",
     {R"(filter-key-at-top.yaml:2:1: unknown key "siteIds" in playbook; it is a filter key: indent it under match)"}},
    {"quoted-boolean.yaml", {R"(quoted-boolean.yaml:3:12: trigger.webhook: expected true or false, not "yes")"}},
    {"duplicate-action.yaml",
     {"duplicate-action.yaml:7:5: actions[2]: the same action as actions[0]: each action is done once per threat"}},
    {"isolate-with-filter-target.yaml",
     {"isolate-with-filter-target.yaml:6:14: actions[0].isolate: needs target: threats (the agents to isolate are "
      "those of the listed threats)"}},
    {"not-a-mapping.yaml", {"not-a-mapping.yaml:1:1: expected a mapping with name, match and actions, not a list"}},
    {"missing-incident-status.yaml",
     {R"(missing-incident-status.yaml:6:7: missing required key "status" in actions[0].incident (one of unresolved, in_progress, resolved))"}},
    {"two-documents.yaml", {"two-documents.yaml:7:1: a second YAML document: write one per file"}},
    {"bad-max-threats.yaml",
     {R"(bad-max-threats.yaml:5:16: limits.max_threats: expected a whole number from 1 to 1000000, not "lots")",
      R"(bad-max-threats.yaml:6:14: limits.on_exceed: expected one of hold, first, not "skip")"}},
    {"ids-as-one-string.yaml",
     {R"(ids-as-one-string.yaml:3:12: siteIds: "1364475734565842019,1364475734565842020" is not an id (ids are decimal numbers); to give several, write a YAML list: [1364475734565842019, 1364475734565842020])"}},
    {"non-numeric-ids.yaml",
     {R"(non-numeric-ids.yaml:3:8: ids: "abc" is not an id (ids are decimal numbers))",
      R"(non-numeric-ids.yaml:4:12: siteIds: " " is not an id (ids are decimal numbers))",
      R"(non-numeric-ids.yaml:5:13: groupIds: "g-1" is not an id (ids are decimal numbers))"}},
    {"invalid-utf8.yaml", {"invalid-utf8.yaml:4:28: threatDetails__contains: the value is not valid UTF-8"}},
    // DESIGN §4, "Query encoding": string filters (query, displayName) keep their commas.
    {"comma-in-list-value.yaml",
     {R"(comma-in-list-value.yaml:4:36: commandLineArguments__contains: "-enc,JAB" contains a comma, which the )"
      R"(console reads as a list separator (it would match "-enc" or "JAB" on their own); write separate list )"
      R"(items ["-enc", "JAB"] if either alone should match, or search for the whole text with the string )"
      R"(filter query: "-enc,JAB")",
      R"(comma-in-list-value.yaml:7:7: filePath__contains: "a,b,c" contains a comma, which the console reads as )"
      R"(a list separator (it would match "a", "b" or "c" on their own); write separate list items ["a", "b", )"
      R"("c"] if any alone should match, or search for the whole text with the string filter query: "a,b,c")"}},
    {"bad-confirm-within.yaml",
     {"bad-confirm-within.yaml:5:19: limits.confirm_within: expected between 10s and 7d, not 2s"}},
    {"tab-indentation.yaml",
     {"tab-indentation.yaml:3:9: invalid YAML: illegal map value; YAML indentation must use spaces, not tabs"}},
};

INSTANTIATE_TEST_SUITE_P(Fixtures, InvalidPlaybook, ::testing::ValuesIn(cases),
                         [](const ::testing::TestParamInfo<invalid_case>& info) {
                             std::string name = info.param.file;
                             name = name.substr(0, name.find('.'));
                             for (char& c : name)
                                 if (c == '-') c = '_';
                             return name;
                         });

TEST(InvalidPlaybooks, EveryFixtureHasAnExpectation) {
    // A fixture without a test cannot fail: keep the folder and the table in step.
    std::size_t fixtures = 0;
    for (const auto& item : std::filesystem::directory_iterator(fixtures::invalid_dir))
        if (item.is_regular_file() && !item.path().filename().string().starts_with("config-") &&
            !item.path().filename().string().starts_with("duplicate-name-"))
            ++fixtures;
    EXPECT_EQ(fixtures, cases.size());
}

TEST(InvalidPlaybooks, DuplicateNameNamesBothLocations) {
    EXPECT_THAT(
        invalid_playbooks({"duplicate-name-a.yaml", "duplicate-name-b.yaml"}),
        ElementsAre(R"(duplicate-name-b.yaml:2:7: name: duplicate playbook name "same-name" (also defined at )" +
                    (fixtures::invalid_dir / "duplicate-name-a.yaml").string() + ":1:7)"));
}

TEST(InvalidPlaybooks, EveryProblemInEveryFileAtOnce) {
    auto got = invalid_playbooks({"bad-enum-mode.yaml", "empty.yaml", "missing-scope.yaml"});
    ASSERT_EQ(got.size(), 3u);
    EXPECT_TRUE(got[0].starts_with("bad-enum-mode.yaml:2:7: "));
    EXPECT_TRUE(got[1].starts_with("empty.yaml:1:1: "));
    EXPECT_TRUE(got[2].starts_with("missing-scope.yaml:2:1: "));
}

TEST(InvalidPlaybooks, DeepBlockNestingIsRefusedNotFollowed) {
    std::string text = "name: deep\nmatch:\n";
    std::string indent = "  ";
    for (int i = 0; i < 80; ++i) {
        text += indent + "k" + std::to_string(i) + ":\n";
        indent += "  ";
    }
    text += indent + "leaf: 1\n";
    std::vector<s1pilot::core::diagnostic> diagnostics;
    EXPECT_FALSE(parse_playbook(text, "deep.yaml", diagnostics));
    EXPECT_THAT(fixtures::messages(diagnostics, ""),
                ElementsAre("deep.yaml:65:127: document nested deeper than 64 levels: refused"));
}

TEST(InvalidPlaybooks, VeryDeepFlowNestingDoesNotReachTheParser) {
    std::string text = "name: deep\nmatch: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
    std::vector<s1pilot::core::diagnostic> diagnostics;
    EXPECT_FALSE(parse_playbook(text, "deep.yaml", diagnostics));
    EXPECT_THAT(fixtures::messages(diagnostics, ""),
                ElementsAre("deep.yaml:2:72: document nested deeper than 64 levels: refused"));
}

TEST(InvalidPlaybooks, AliasBombIsRefused) {
    std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 10; ++i)
        text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + std::string("*a") +
                std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
                std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
                std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
                std::to_string(i - 1) + "]\n";
    std::vector<s1pilot::core::diagnostic> diagnostics;
    EXPECT_FALSE(parse_playbook(text, "bomb.yaml", diagnostics));
    EXPECT_THAT(
        fixtures::messages(diagnostics, ""),
        ElementsAre("bomb.yaml:1:1: document has more than 100000 nodes (aliases counted where used): refused"));
}

TEST(InvalidPlaybooks, FileLargerThanOneMebibyteIsRefused) {
    auto path = std::filesystem::temp_directory_path() / "s1pilot-config-test-huge.yaml";
    {
        std::ofstream out(path);
        out << "# " << std::string(1024 * 1024, 'x') << "\n";
    }
    auto result = load_playbooks({path});
    std::filesystem::remove(path);
    EXPECT_THAT(fixtures::messages(result.diagnostics, path.parent_path()),
                ElementsAre("s1pilot-config-test-huge.yaml: file is larger than 1 MiB: refused"));
}

TEST(InvalidPlaybooks, TextLargerThanOneMebibyteIsRefused) {
    // parse_playbook is handed text by tools and tests, not only by the file loader.
    std::vector<s1pilot::core::diagnostic> diagnostics;
    EXPECT_FALSE(parse_playbook("# " + std::string(1024 * 1024, 'x') + "\n", "huge.yaml", diagnostics));
    EXPECT_THAT(fixtures::messages(diagnostics, ""), ElementsAre("huge.yaml: file is larger than 1 MiB: refused"));
}

// Found by fuzzing (tests/fuzz/playbook_fuzz.cpp): yaml-cpp's LoadAll never returns on a token
// that cannot start a document, allocating an empty document per turn, so a reload of such a
// playbook hung the daemon until memory ran out. It is now an error naming the token.
TEST(InvalidPlaybooks, StrayTokenAtTheTopIsAnErrorNotAHang) {
    std::vector<s1pilot::core::diagnostic> diagnostics;
    EXPECT_FALSE(parse_playbook(",", "comma.yaml", diagnostics));
    EXPECT_FALSE(parse_playbook("# a comment\n  ,#\n", "indented.yaml", diagnostics));
    EXPECT_FALSE(parse_playbook("name: a\n---\n,\n", "after-a-document.yaml", diagnostics));
    EXPECT_THAT(fixtures::messages(diagnostics, ""),
                ElementsAre("comma.yaml:1:1: invalid YAML: unexpected \",\" where a value should start",
                            "indented.yaml:2:3: invalid YAML: unexpected \",\" where a value should start",
                            "after-a-document.yaml:3:1: a second YAML document: write one per file"));
}

TEST(InvalidPlaybooks, TabInIndentationIsNamed) {
    const std::string hint = "; YAML indentation must use spaces, not tabs";
    std::vector<s1pilot::core::diagnostic> diagnostics;
    // A tab after spaces, and a tab before a list item.
    EXPECT_FALSE(parse_playbook("name: t\nmatch:\n  siteIds: [1]\n\tosTypes: [linux]\n", "a.yaml", diagnostics));
    EXPECT_FALSE(parse_playbook("name: t\nactions:\n \t- note: hi\n", "b.yaml", diagnostics));
    // A syntax error on a line without a tab says nothing about tabs, even if another line has one.
    EXPECT_FALSE(parse_playbook("name: t\t# note\nmatch:\n  siteIds: [1\n", "c.yaml", diagnostics));
    EXPECT_THAT(fixtures::messages(diagnostics, ""),
                ElementsAre("a.yaml:4:2: invalid YAML: end of map not found" + hint,
                            "b.yaml:3:3: invalid YAML: illegal block entry" + hint,
                            "c.yaml:4:1: invalid YAML: end of sequence flow not found"));
}

TEST(InvalidPlaybooks, MissingFileIsReportedByName) {
    EXPECT_THAT(invalid_playbooks({"no-such-playbook.yaml"}),
                ElementsAre("no-such-playbook.yaml: cannot read: No such file or directory"));
}

}  // namespace
