#include "s1pilot/core/diagnostic.hpp"
#include "s1pilot/filter/filter.hpp"
#include "s1pilot/filter/wire.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "filter_test_support.hpp"

using namespace s1pilot;
using namespace s1pilot::filter;
using namespace std::chrono_literals;
using s1pilot::filter::test::at;
using s1pilot::filter::test::key;

namespace {

// Every diagnostic as `to_string` shows it (warnings carry "warning: ").
std::vector<std::string> messages(std::string_view name, const value& v, bool* ok = nullptr) {
    std::vector<core::diagnostic> out;
    bool result = validate(key(name), v, out);
    if (ok) *ok = result;
    std::vector<std::string> text;
    for (const auto& d : out) {
        EXPECT_TRUE(d.file.empty());
        EXPECT_EQ(d.line, 0);
        text.push_back(core::to_string(d));
    }
    return text;
}

using lines = std::vector<std::string>;

}  // namespace

TEST(FilterValidate, SampleValueOfEveryKeyIsValid) {
    for (const auto& k : keys()) {
        std::vector<core::diagnostic> out;
        EXPECT_TRUE(validate(k, test::sample_value(k), out)) << k.name;
        EXPECT_TRUE(out.empty()) << k.name << ": " << (out.empty() ? "" : out[0].message);
    }
}

TEST(FilterValidate, ClosedSetNamesEveryAllowedValue) {
    bool ok = true;
    EXPECT_EQ(messages("confidenceLevels", string_list{"critical"}, &ok),
              lines{R"(invalid value "critical" for confidenceLevels: expected one of malicious, suspicious, n/a)"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("osTypesNin", string_list{"linux", "Windows", "bsd"}, &ok),
              (lines{R"(invalid value "Windows" for osTypesNin: expected one of windows, macos, linux, windows_legacy)",
                     R"(invalid value "bsd" for osTypesNin: expected one of windows, macos, linux, windows_legacy)"}));
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("incidentStatuses", string_list{"open"}),
              lines{R"(invalid value "open" for incidentStatuses: expected one of unresolved, in_progress, resolved)"});
    EXPECT_EQ(messages("analystVerdictsNin", string_list{"benign"}),
              lines{R"(invalid value "benign" for analystVerdictsNin: expected one of undefined, true_positive, )"
                    R"(false_positive, suspicious)"});
    EXPECT_EQ(messages("osArchs", string_list{"x86_64"}),
              lines{R"(invalid value "x86_64" for osArchs: expected one of 32 bit, 64 bit, ARM64)"});
    // Titles are not keys (reference §6.4).
    EXPECT_EQ(messages("engines", string_list{"SentinelOne Cloud"}).size(), 1u);
    EXPECT_TRUE(messages("detectionEnginesNin", string_list{"sentinelone_cloud", "driver_blocking"}).empty());
    EXPECT_TRUE(messages("agentMachineTypes", string_list{"kubernetes pod"}).empty());
    EXPECT_TRUE(messages("initiatedBy", string_list{"watchtower_cloud_detection"}).empty());
}

TEST(FilterValidate, OpenSetOnlyWarns) {
    bool ok = false;
    EXPECT_EQ(messages("classifications", string_list{"Ransomware", "Ransomwear"}, &ok),
              lines{R"(warning: unknown classification "Ransomwear" (known: Malware, Ransomware, Trojan, )"
                    R"(Infostealer, Manual, PUA, Exploit, Hacktool, Backdoor, Worm); it is sent as written)"});
    EXPECT_TRUE(ok);
    std::vector<core::diagnostic> out;
    EXPECT_TRUE(validate(key("classificationsNin"), string_list{"Cryptominer"}, out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].level, core::severity::warning);
    EXPECT_FALSE(core::has_errors(out));
}

TEST(FilterValidate, ListsMustBeNonEmptyWithoutEmptyStrings) {
    bool ok = true;
    EXPECT_EQ(messages("siteIds", string_list{}, &ok), lines{"siteIds must not be an empty list"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("ids", string_list{"1", ""}, &ok), lines{"ids must not contain an empty string"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("filePath__contains", string_list{""}),
              lines{"filePath__contains must not contain an empty string"});
}

TEST(FilterValidate, ScopeKeysTakeOnlyDecimalIds) {
    bool ok = true;
    // A string where a YAML list was meant: one value with a comma, which matches nothing.
    EXPECT_EQ(messages("siteIds", string_list{"1364475734565842019,1364475734565842020"}, &ok),
              lines{R"(siteIds: "1364475734565842019,1364475734565842020" is not an id (ids are decimal numbers); )"
                    R"(to give several, write a YAML list: [1364475734565842019, 1364475734565842020])"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("groupIds", string_list{"11, 22 33"}),
              lines{R"(groupIds: "11, 22 33" is not an id (ids are decimal numbers); )"
                    R"(to give several, write a YAML list: [11, 22, 33])"});
    EXPECT_EQ(messages("siteIds", string_list{" "}, &ok),
              lines{R"(siteIds: " " is not an id (ids are decimal numbers))"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("ids", string_list{"abc"}, &ok), lines{R"(ids: "abc" is not an id (ids are decimal numbers))"});
    EXPECT_FALSE(ok);
    // One message per offending item; a list with one bad part gets no list suggestion.
    EXPECT_EQ(messages("agentIds", string_list{"12", "-5", "1,abc", "0x1F"}),
              (lines{R"(agentIds: "-5" is not an id (ids are decimal numbers))",
                     R"(agentIds: "1,abc" is not an id (ids are decimal numbers))",
                     R"(agentIds: "0x1F" is not an id (ids are decimal numbers))"}));
    EXPECT_EQ(messages("accountIds", string_list{" 123"}),
              lines{R"(accountIds: " 123" is not an id (ids are decimal numbers))"});
    // Up to 20 digits (2^64 - 1 has 20).
    EXPECT_TRUE(messages("accountIds", string_list{"18446744073709551615", "0", "1364475734565842019"}, &ok).empty());
    EXPECT_TRUE(ok);
    EXPECT_EQ(messages("accountIds", string_list{"123456789012345678901"}),
              lines{R"(accountIds: "123456789012345678901" is not an id (ids are decimal numbers))"});
    // The echo stays on one line and short.
    EXPECT_EQ(messages("ids", string_list{"1\n2\"3\\"}),
              lines{R"(ids: "1\x0a2\"3\\" is not an id (ids are decimal numbers))"});
    EXPECT_EQ(messages("ids", string_list{std::string(70, 'x')}),
              lines{"ids: \"" + std::string(64, 'x') + "...\" is not an id (ids are decimal numbers)"});
    // An empty item has its own message, not a second one.
    EXPECT_EQ(messages("ids", string_list{"", "7"}), lines{"ids must not contain an empty string"});
    // Other list keys take any text.
    EXPECT_TRUE(messages("storylines", string_list{"abc,def"}).empty());
}

TEST(FilterValidate, TheSimulatorsQueryParserAppliesTheSameRules) {
    // s1sim reads GET /threats through parse_query, which validates every term.
    std::vector<core::diagnostic> problems;
    EXPECT_FALSE(parse_query("siteIds=1364475734565842019%2C%20136&ids=abc&query=%FF", problems));
    std::vector<std::string> text;
    for (const auto& d : problems) text.push_back(core::to_string(d));
    EXPECT_EQ(text,
              (lines{R"(siteIds: " 136" is not an id (ids are decimal numbers))",
                     R"(ids: "abc" is not an id (ids are decimal numbers))", "query: the value is not valid UTF-8"}));
    problems.clear();
    EXPECT_TRUE(parse_query("siteIds=1364475734565842019,1364475734565842020", problems));
    EXPECT_TRUE(problems.empty());
}

TEST(FilterValidate, StringValuesMustBeUtf8) {
    bool ok = true;
    EXPECT_EQ(messages("threatDetails__contains", string_list{"\xff\xfe"}, &ok),
              lines{"threatDetails__contains: the value is not valid UTF-8"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("displayName", std::string("caf\xc3"), &ok), lines{"displayName: the value is not valid UTF-8"});
    EXPECT_FALSE(ok);
    // Overlong, surrogate, above U+10FFFF, a lone continuation byte.
    for (const char* bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                            "a\x80"
                            "b"})
        EXPECT_EQ(messages("query", std::string(bad)), lines{"query: the value is not valid UTF-8"}) << bad;
    // Only that: no other message repeats the broken bytes.
    EXPECT_EQ(messages("osTypes", string_list{"linux", "\xffwindows"}), lines{"osTypes: the value is not valid UTF-8"});
    EXPECT_EQ(messages("siteIds", string_list{"12\xff"}), lines{"siteIds: the value is not valid UTF-8"});
    EXPECT_TRUE(messages("threatDetails__contains",
                         string_list{"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x99\x82"}, &ok)
                    .empty());
    EXPECT_TRUE(ok);
}

TEST(FilterValidate, WrongTypeNamesTheExpectedOne) {
    EXPECT_EQ(messages("siteIds", std::string("1")), lines{"siteIds must be a list of strings"});
    EXPECT_EQ(messages("resolved", std::string("true")), lines{"resolved must be true or false"});
    EXPECT_EQ(messages("query", true), lines{"query must be a string"});
    EXPECT_EQ(messages("limit", std::string("10")), lines{"limit must be a whole number"});
    EXPECT_EQ(messages("createdAt__gte", std::int64_t{1700000000}),
              lines{"createdAt__gte must be a UTC time (e.g. 2018-02-27T04:49:26.257525Z) or a negative duration "
                    "(e.g. -24h)"});
    EXPECT_EQ(messages("tenant", string_list{"true"}), lines{"tenant must be true or false"});
}

TEST(FilterValidate, StringsNumbersAndTimes) {
    bool ok = true;
    EXPECT_EQ(messages("displayName", std::string{}, &ok), lines{"displayName must not be empty"});
    EXPECT_FALSE(ok);
    EXPECT_EQ(messages("limit", std::int64_t{0}), lines{"limit must be at least 1"});
    EXPECT_EQ(messages("limit", std::int64_t{-5}), lines{"limit must be at least 1"});
    EXPECT_TRUE(messages("limit", std::int64_t{1}).empty());
    EXPECT_TRUE(messages("createdAt__gte", relative_time{-24h}).empty());
    EXPECT_TRUE(messages("createdAt__gte", relative_time{0us}).empty());
    EXPECT_EQ(messages("updatedAt__lt", relative_time{5h}),
              lines{R"(updatedAt__lt must be a negative duration (now minus), e.g. -24h: "5h" is in the future)"});
    EXPECT_TRUE(messages("updatedAt__lt", at("2024-01-01")).empty());
}

TEST(FilterValidate, AgentTagsDataIsAJsonObjectOfStringLists) {
    const std::string shape =
        R"(agentTagsData must be a JSON object whose values are lists of strings, e.g. {"env":["prod"]})";
    EXPECT_TRUE(messages("agentTagsData", std::string(R"({"env":["prod","staging"],"ownerNin":["bob"]})")).empty());
    EXPECT_EQ(messages("agentTagsData", std::string("env=prod")), lines{shape});
    EXPECT_EQ(messages("agentTagsData", std::string(R"(["prod"])")), lines{shape});
    EXPECT_EQ(messages("agentTagsData", std::string(R"({"env":"prod"})")), lines{shape});
    EXPECT_EQ(messages("agentTagsData", std::string(R"({"env":["prod",1]})")), lines{shape});
    EXPECT_EQ(messages("agentTagsData", std::string(R"({"env":["prod"])")), lines{shape});
    EXPECT_EQ(messages("agentTagsData", std::string("{}")), lines{"agentTagsData must name at least one tag key"});
    EXPECT_EQ(messages("agentTagsData", std::string(R"({"env":[]})")),
              lines{R"(agentTagsData: the list for tag key "env" must not be empty)"});
}

TEST(ThreatFilter, SetReplacesInPlaceAndEraseRemoves) {
    threat_filter f;
    EXPECT_TRUE(f.empty());
    f.set(key("siteIds"), string_list{"1"});
    f.set(key("resolved"), false);
    f.set(key("siteIds"), string_list{"2", "3"});
    ASSERT_EQ(f.terms().size(), 2u);
    EXPECT_EQ(f.terms()[0].key->name, "siteIds");
    EXPECT_EQ(std::get<string_list>(f.terms()[0].val), (string_list{"2", "3"}));
    ASSERT_NE(f.find("resolved"), nullptr);
    EXPECT_EQ(f.find("nothing"), nullptr);
    f.erase("siteIds");
    EXPECT_EQ(f.find("siteIds"), nullptr);
    EXPECT_EQ(f.terms().size(), 1u);
    f.erase("siteIds");  // absent: no effect
    EXPECT_EQ(f.terms().size(), 1u);
}

TEST(ThreatFilter, ScopeNeedsANonEmptyScopeKey) {
    threat_filter f;
    f.set(key("classifications"), string_list{"Malware"});
    f.set(key("tenant"), true);
    EXPECT_FALSE(f.has_scope());
    f.set(key("siteIds"), string_list{});
    EXPECT_FALSE(f.has_scope());
    for (auto name : {"ids", "agentIds", "accountIds", "siteIds", "groupIds"}) {
        threat_filter g;
        g.set(key(name), string_list{"1"});
        EXPECT_TRUE(g.has_scope()) << name;
    }
}

TEST(ThreatFilter, ResolvedReplacesRelativeTimesOnly) {
    threat_filter f;
    f.set(key("siteIds"), string_list{"1"});
    f.set(key("createdAt__gte"), relative_time{-24h});
    f.set(key("updatedAt__lt"), at("2024-01-01T00:00:00Z"));
    EXPECT_TRUE(f.has_relative_times());
    auto r = f.resolved(at("2024-03-10T12:00:00.5Z"));
    EXPECT_FALSE(r.has_relative_times());
    EXPECT_TRUE(f.has_relative_times()) << "the original is unchanged";
    EXPECT_EQ(std::get<core::timestamp>(r.find("createdAt__gte")->val), at("2024-03-09T12:00:00.5Z"));
    EXPECT_EQ(std::get<core::timestamp>(r.find("updatedAt__lt")->val), at("2024-01-01T00:00:00Z"));
    EXPECT_EQ(r.terms()[0], f.terms()[0]);
    EXPECT_NE(r, f);
}

TEST(ThreatFilter, CarriedScopeKeepsAgentAccountSiteGroupButNotIds) {
    threat_filter f;
    f.set(key("ids"), string_list{"9"});
    f.set(key("groupIds"), string_list{"g"});
    f.set(key("classifications"), string_list{"Malware"});
    f.set(key("siteIds"), string_list{"s"});
    f.set(key("accountIds"), string_list{"a"});
    f.set(key("agentIds"), string_list{"x"});
    auto c = f.carried_scope();
    ASSERT_EQ(c.terms().size(), 4u);
    EXPECT_EQ(c.terms()[0].key->name, "groupIds");  // the match's order
    EXPECT_EQ(c.terms()[1].key->name, "siteIds");
    EXPECT_EQ(c.terms()[2].key->name, "accountIds");
    EXPECT_EQ(c.terms()[3].key->name, "agentIds");
    EXPECT_EQ(c.find("ids"), nullptr);
    EXPECT_TRUE(threat_filter{}.carried_scope().empty());
}

// ---- comma_in_list_item (DESIGN §4, "Query encoding") -----------------------------------------

TEST(FilterCommaInListItem, NamesTheItemTheTermsItWouldBecomeAndWhatToWriteInstead) {
    EXPECT_EQ(comma_in_list_item(key("commandLineArguments__contains"), "-enc,JAB"),
              R"(commandLineArguments__contains: "-enc,JAB" contains a comma, which the console reads as a list )"
              R"(separator (it would match "-enc" or "JAB" on their own); write separate list items ["-enc", )"
              R"("JAB"] if either alone should match, or search for the whole text with the string filter query: )"
              R"("-enc,JAB")");
    // Empty parts are not terms anyone meant; three parts say "any".
    EXPECT_EQ(comma_in_list_item(key("filePath__contains"), ",a,,b,c,"),
              R"(filePath__contains: ",a,,b,c," contains a comma, which the console reads as a list separator )"
              R"((it would match "a", "b" or "c" on their own); write separate list items ["a", "b", "c"] if any )"
              R"(alone should match, or search for the whole text with the string filter query: ",a,,b,c,")");
    EXPECT_EQ(comma_in_list_item(key("storylines"), "a,"),
              R"(storylines: "a," contains a comma, which the console reads as a list separator; write the value )"
              R"(without it)");
}

TEST(FilterCommaInListItem, SuggestsQueryOnlyWhereQuerySearchesTheSameText) {
    // query does not search cloud fields, and storylines is not a text search.
    EXPECT_EQ(comma_in_list_item(key("cloudAccount__contains"), "a,b"),
              R"(cloudAccount__contains: "a,b" contains a comma, which the console reads as a list separator )"
              R"((it would match "a" or "b" on their own); write separate list items ["a", "b"] if either alone )"
              R"(should match)");
    EXPECT_EQ(comma_in_list_item(key("storylines"), "a,b").find("query"), std::string::npos);
    // An open set (classifications) is checked; it also warns about the unknown value.
    EXPECT_NE(comma_in_list_item(key("classifications"), "Ransomware,Trojan"), "");
}

TEST(FilterCommaInListItem, ItemsWithoutCommasStringKeysAndKeysThatRefuseCommasAlreadyPass) {
    EXPECT_EQ(comma_in_list_item(key("commandLineArguments__contains"), "-enc JAB"), "");
    // Single values keep their commas: nothing splits them.
    EXPECT_EQ(comma_in_list_item(key("query"), "-enc,JAB"), "");
    EXPECT_EQ(comma_in_list_item(key("displayName"), "a,b.exe"), "");
    EXPECT_EQ(comma_in_list_item(key("countsFor"), "osTypes,classifications"), "");
    // Ids and closed enums are refused by validate() with their own message (not said twice).
    EXPECT_EQ(comma_in_list_item(key("siteIds"), "1,2"), "");
    EXPECT_EQ(comma_in_list_item(key("osTypes"), "windows,linux"), "");
    EXPECT_FALSE(messages("osTypes", string_list{"windows,linux"}).empty());
    // validate() itself accepts the comma: JSON bodies carry it unsplit.
    EXPECT_TRUE(messages("storylines", string_list{"abc,def"}).empty());
}
