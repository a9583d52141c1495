#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/wire.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "filter_test_support.hpp"

using namespace s1pilot;
using namespace s1pilot::filter;
using namespace std::chrono_literals;
using s1pilot::filter::test::at;
using s1pilot::filter::test::key;

namespace {

threat_filter one(std::string_view name, value v) {
    threat_filter f;
    f.set(key(name), std::move(v));
    return f;
}

std::vector<std::string> texts(const std::vector<core::diagnostic>& problems) {
    std::vector<std::string> out;
    for (const auto& d : problems) out.push_back(core::to_string(d));
    return out;
}

using lines = std::vector<std::string>;

// The problems a query produces; expects failure.
lines query_errors(std::string_view query) {
    std::vector<core::diagnostic> problems;
    auto r = parse_query(query, problems);
    EXPECT_FALSE(r.has_value()) << query;
    if (!r) {
        EXPECT_EQ(r.error(), core::make_error_code(core::errc::invalid_filter));
    }
    return texts(problems);
}

lines json_errors(std::string_view json) {
    std::vector<core::diagnostic> problems;
    auto r = from_json(boost::json::parse(json).as_object(), problems);
    EXPECT_FALSE(r.has_value()) << json;
    if (!r) {
        EXPECT_EQ(r.error(), core::make_error_code(core::errc::invalid_filter));
    }
    return texts(problems);
}

parsed_query parse_ok(std::string_view query) {
    std::vector<core::diagnostic> problems;
    auto r = parse_query(query, problems);
    EXPECT_TRUE(r.has_value()) << query << ": " << (problems.empty() ? "" : problems[0].message);
    return r ? *r : parsed_query{};
}

threat_filter json_ok(std::string_view json) {
    std::vector<core::diagnostic> problems;
    auto r = from_json(boost::json::parse(json).as_object(), problems);
    EXPECT_TRUE(r.has_value()) << json << ": " << (problems.empty() ? "" : problems[0].message);
    return r ? *r : threat_filter{};
}

}  // namespace

// ---- to_query: one exact string per key family ---------------------------------------------

TEST(FilterToQuery, EveryKeyFamily) {
    EXPECT_EQ(to_query(one("siteIds", string_list{"1364475734565842019", "2"})), "siteIds=1364475734565842019,2");
    EXPECT_EQ(to_query(one("osTypesNin", string_list{"linux", "windows_legacy"})), "osTypesNin=linux,windows_legacy");
    EXPECT_EQ(to_query(one("filePath__contains", string_list{R"(\Users\jdoe)", "invoice"})),
              "filePath__contains=%5CUsers%5Cjdoe,invoice");
    EXPECT_EQ(to_query(one("createdAt__gt", at("2024-01-31T10:00:00Z"))), "createdAt__gt=2024-01-31T10:00:00.000000Z");
    EXPECT_EQ(to_query(one("createdAt__gte", at("2024-01-31"))), "createdAt__gte=2024-01-31T00:00:00.000000Z");
    EXPECT_EQ(to_query(one("updatedAt__lt", at("2024-01-31T10:00:00.5+00:00"))),
              "updatedAt__lt=2024-01-31T10:00:00.500000Z");
    EXPECT_EQ(to_query(one("updatedAt__lte", at("2018-02-27T04:49:26.257525Z"))),
              "updatedAt__lte=2018-02-27T04:49:26.257525Z");
    EXPECT_EQ(to_query(one("rebootRequired", true)), "rebootRequired=true");
    EXPECT_EQ(to_query(one("resolved", false)), "resolved=false");
    EXPECT_EQ(to_query(one("noteExists", true)), "noteExists=true");
    EXPECT_EQ(to_query(one("hasAgentTags", false)), "hasAgentTags=false");
    EXPECT_EQ(to_query(one("agentTagsData", std::string(R"({"env":["prod"]})"))),
              "agentTagsData=%7B%22env%22:%5B%22prod%22%5D%7D");
    EXPECT_EQ(to_query(one("query", std::string("invoice 8812"))), "query=invoice%208812");
    EXPECT_EQ(to_query(one("displayName", std::string("invoice_8812.exe"))), "displayName=invoice_8812.exe");
    EXPECT_EQ(to_query(one("limit", std::int64_t{25})), "limit=25");
    EXPECT_EQ(to_query(one("countsFor", std::string("osTypes,classifications"))),
              "countsFor=osTypes%2Cclassifications");
    EXPECT_EQ(to_query(one("tenant", true)), "tenant=true");
    EXPECT_EQ(to_query(one("confidenceLevels", string_list{"n/a"})), "confidenceLevels=n%2Fa");
    EXPECT_EQ(to_query(one("osArchs", string_list{"64 bit"})), "osArchs=64%20bit");
    EXPECT_EQ(to_query(threat_filter{}), "");
}

TEST(FilterToQuery, TermsInOrderJoinedByAmpersand) {
    threat_filter f;
    f.set(key("siteIds"), string_list{"1"});
    f.set(key("classifications"), string_list{"Ransomware"});
    f.set(key("confidenceLevels"), string_list{"malicious"});
    f.set(key("mitigationStatuses"), string_list{"not_mitigated"});
    f.set(key("createdAt__gte"), at("2024-01-31T00:00:00Z"));
    EXPECT_EQ(to_query(f),
              "siteIds=1&classifications=Ransomware&confidenceLevels=malicious&mitigationStatuses=not_mitigated&"
              "createdAt__gte=2024-01-31T00:00:00.000000Z");
}

TEST(FilterToQuery, AwkwardValuesArePercentEncoded) {
    EXPECT_EQ(to_query(one("ids", string_list{"a", "c"})), "ids=a,c");  // the separator stays literal
    EXPECT_EQ(to_query(one("computerName__contains", string_list{"my host"})), "computerName__contains=my%20host");
    EXPECT_EQ(to_query(one("filePath__contains", string_list{"a&b=c+d"})), "filePath__contains=a%26b%3Dc%2Bd");
    EXPECT_EQ(to_query(one("filePath__contains", string_list{"Müller/€"})),
              "filePath__contains=M%C3%BCller%2F%E2%82%AC");
    EXPECT_EQ(to_query(one("storylines", string_list{"YWdlbnRfaWQ6NTgwMjkzODE=", "a+b/c="})),
              "storylines=YWdlbnRfaWQ6NTgwMjkzODE%3D,a%2Bb%2Fc%3D");
    EXPECT_EQ(to_query(one("query", std::string("#?%"))), "query=%23%3F%25");
}

TEST(FilterToQuery, ACommaInAListItemIsRefusedNotEncoded) {
    // The console decodes %2C before it splits: the item would become two broader terms.
    auto f = one("commandLineArguments__contains", string_list{"-nop", "-enc,JAB"});
    EXPECT_TRUE(has_list_item_with_comma(f));
    try {
        (void)to_query(f);
        ADD_FAILURE() << "to_query encoded a list item holding a comma";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(),
                     R"(filter key commandLineArguments__contains holds the list item "-enc,JAB" with a comma, which )"
                     R"(the console would split into separate terms: refused (validation should have caught it))");
    }
    // String filters are single values: their commas are data.
    auto text = one("query", std::string("-enc,JAB"));
    EXPECT_FALSE(has_list_item_with_comma(text));
    EXPECT_EQ(to_query(text), "query=-enc%2CJAB");
    EXPECT_FALSE(has_list_item_with_comma(one("ids", string_list{"1", "2"})));
}

TEST(FilterToQuery, RelativeTimeIsAProgrammingError) {
    auto f = one("createdAt__gte", relative_time{-24h});
    EXPECT_THROW(to_query(f), std::logic_error);
    EXPECT_THROW(to_json(f), std::logic_error);
    EXPECT_NO_THROW(to_query(f.resolved(at("2024-01-31"))));
}

// ---- to_json --------------------------------------------------------------------------------

TEST(FilterToJson, EveryKeyFamily) {
    threat_filter f;
    f.set(key("ids"), string_list{"1596270471532451327"});
    f.set(key("osTypesNin"), string_list{"linux", "macos"});
    f.set(key("filePath__contains"), string_list{"a,b"});
    f.set(key("createdAt__gte"), at("2024-01-31T10:00:00Z"));
    f.set(key("updatedAt__lt"), at("2024-02-01T00:00:00.000001Z"));
    f.set(key("pendingActions"), false);
    f.set(key("resolved"), true);
    f.set(key("noteExists"), true);
    f.set(key("hasAgentTags"), true);
    f.set(key("agentTagsData"), std::string(R"({"env":["prod"]})"));
    f.set(key("query"), std::string("invoice"));
    f.set(key("displayName"), std::string("invoice_8812.exe"));
    f.set(key("limit"), std::int64_t{50});
    f.set(key("countsFor"), std::string("osTypes"));
    f.set(key("tenant"), true);
    EXPECT_EQ(boost::json::serialize(to_json(f)),
              R"({"ids":["1596270471532451327"],"osTypesNin":["linux","macos"],"filePath__contains":["a,b"],)"
              R"("createdAt__gte":"2024-01-31T10:00:00.000000Z","updatedAt__lt":"2024-02-01T00:00:00.000001Z",)"
              R"("pendingActions":false,"resolved":true,"noteExists":true,"hasAgentTags":true,)"
              R"("agentTagsData":"{\"env\":[\"prod\"]}","query":"invoice","displayName":"invoice_8812.exe",)"
              R"("limit":50,"countsFor":"osTypes","tenant":true})");
    EXPECT_TRUE(to_json(threat_filter{}).empty());
}

// ---- parse_query ----------------------------------------------------------------------------

TEST(FilterParseQuery, ListsByCommaAndByRepetitionAreMerged) {
    auto q = parse_ok("siteIds=1,2&classifications=Malware&siteIds=3");
    ASSERT_EQ(q.filter.terms().size(), 2u);
    EXPECT_EQ(std::get<string_list>(q.filter.find("siteIds")->val), (string_list{"1", "2", "3"}));
    EXPECT_EQ(q.filter.terms()[0].key->name, "siteIds");
}

TEST(FilterParseQuery, DecodesBeforeSplittingSoAnEncodedCommaSeparatesLikeALiteralOne) {
    // As the console does (reference §2): generated API clients send `siteIds=1%2C2`.
    auto q = parse_ok("filePath__contains=a%2Cb,c%20d,e+f,g%2Bh&query=two+words%2C+three");
    EXPECT_EQ(std::get<string_list>(q.filter.find("filePath__contains")->val),
              (string_list{"a", "b", "c d", "e f", "g+h"}));
    // A string filter is one value: its comma stays.
    EXPECT_EQ(std::get<std::string>(q.filter.find("query")->val), "two words, three");
    EXPECT_EQ(parse_ok("siteIds=1%2C2%2c3").filter, parse_ok("siteIds=1,2,3").filter);
    // Repeated keys still merge, whichever separator each one uses.
    EXPECT_EQ(std::get<string_list>(parse_ok("ids=1%2C2&ids=3,4&ids=5").filter.find("ids")->val),
              (string_list{"1", "2", "3", "4", "5"}));
    // An encoded trailing separator leaves an empty item, refused like a literal one.
    EXPECT_EQ(query_errors("siteIds=1%2C"), lines{"siteIds must not contain an empty string"});
    EXPECT_EQ(std::get<string_list>(parse_ok("computerName__contains=M%C3%BCller").filter.terms()[0].val),
              string_list{"Müller"});
}

TEST(FilterParseQuery, ScalarsAndTimes) {
    auto q = parse_ok("resolved=false&createdAt__gte=2024-01-31T10:00:00Z&displayName=x.exe&tenant=true");
    EXPECT_EQ(std::get<bool>(q.filter.find("resolved")->val), false);
    EXPECT_EQ(std::get<core::timestamp>(q.filter.find("createdAt__gte")->val), at("2024-01-31T10:00:00Z"));
    EXPECT_EQ(std::get<std::string>(q.filter.find("displayName")->val), "x.exe");
    EXPECT_EQ(std::get<bool>(q.filter.find("tenant")->val), true);
}

TEST(FilterParseQuery, PaginationParameters) {
    auto q = parse_ok(
        "siteIds=1&limit=1000&skip=20&cursor=YWdlbnRfaWQ6NTgwMjkzODE%3D&countOnly=true&sortBy=createdAt"
        "&sortOrder=desc");
    EXPECT_EQ(q.filter.terms().size(), 1u);
    EXPECT_EQ(q.params.limit, 1000);
    EXPECT_EQ(q.params.skip, 20);
    EXPECT_EQ(q.params.cursor, "YWdlbnRfaWQ6NTgwMjkzODE=");
    EXPECT_TRUE(q.params.count_only);
    EXPECT_EQ(q.params.sort_by, "createdAt");
    EXPECT_TRUE(q.params.sort_descending);
    auto d = parse_ok("");
    EXPECT_TRUE(d.filter.empty());
    EXPECT_EQ(d.params.limit, 10);
    EXPECT_EQ(d.params.skip, 0);
    EXPECT_EQ(d.params.cursor, "");
    EXPECT_FALSE(d.params.count_only);
    EXPECT_FALSE(d.params.sort_descending);
    EXPECT_FALSE(parse_ok("sortOrder=asc&limit=1").params.sort_descending);
}

// Found by fuzzing (tests/fuzz/sim_query_fuzz.cpp): Boost.URL 1.81 measures the query again with
// strlen, so the bytes after a view that is not NUL-terminated became part of its last parameter
// (and an empty view at the end of a heap block was read past; the dev preset's ASan sees that).
TEST(FilterParseQuery, OnlyTheViewIsReadNotWhatFollowsIt) {
    const std::string text = "siteIds=1,2&resolved=true";
    auto q = parse_ok(std::string_view(text).substr(0, 9));  // "siteIds=1"
    ASSERT_EQ(q.filter.terms().size(), 1u);
    EXPECT_EQ(std::get<string_list>(q.filter.find("siteIds")->val), string_list{"1"});
    EXPECT_TRUE(parse_ok(std::string_view(text).substr(0, 0)).filter.empty());
    const std::vector<char> exact{'x'};  // an empty view at the very end of a heap block
    EXPECT_TRUE(parse_ok(std::string_view(exact.data() + 1, 0)).filter.empty());
}

TEST(FilterParseQuery, ABase64CursorSurvivesRawPlusSlashAndEquals) {
    // A cursor never holds a space, so `+` in it is data even when a client forgot to encode it.
    EXPECT_EQ(parse_ok("cursor=ab+c/d==").params.cursor, "ab+c/d==");
    EXPECT_EQ(parse_ok("cursor=ab%2Bc%2Fd%3D%3D").params.cursor, "ab+c/d==");
}

TEST(FilterParseQuery, PaginationErrorsNameTheParameter) {
    EXPECT_EQ(query_errors("limit=0"), lines{R"(invalid value "0" for limit: expected a whole number from 1 to 1000)"});
    EXPECT_EQ(query_errors("limit=1001"),
              lines{R"(invalid value "1001" for limit: expected a whole number from 1 to 1000)"});
    EXPECT_EQ(query_errors("limit=ten"),
              lines{R"(invalid value "ten" for limit: expected a whole number from 1 to 1000)"});
    EXPECT_EQ(query_errors("skip=-1"), lines{R"(invalid value "-1" for skip: expected a whole number from 0 to 1000)"});
    EXPECT_EQ(query_errors("countOnly=yes"), lines{R"(invalid value "yes" for countOnly: expected true or false)"});
    EXPECT_EQ(query_errors("sortOrder=up"), lines{R"(invalid value "up" for sortOrder: expected asc or desc)"});
    EXPECT_EQ(query_errors("limit=5&limit=6"), lines{R"(parameter "limit" is given more than once)"});
}

TEST(FilterParseQuery, FilterErrorsNameTheParameter) {
    EXPECT_EQ(query_errors("siteId=1"), lines{R"(unknown query parameter "siteId" (did you mean "siteIds"?))"});
    EXPECT_EQ(query_errors("sortby=id"), lines{R"(unknown query parameter "sortby" (did you mean "sortBy"?))"});
    EXPECT_EQ(query_errors("severity=high"), lines{R"(unknown query parameter "severity")"});
    EXPECT_EQ(query_errors("resolved=yes"), lines{R"(invalid value "yes" for resolved: expected true or false)"});
    EXPECT_EQ(
        query_errors("createdAt__gte=-24h"),
        lines{R"(invalid value "-24h" for createdAt__gte: expected a UTC time such as 2018-02-27T04:49:26.257525Z)"});
    EXPECT_EQ(query_errors("updatedAt__lt=1700000000"),
              lines{R"(invalid value "1700000000" for updatedAt__lt: expected a UTC time such as )"
                    R"(2018-02-27T04:49:26.257525Z)"});
    EXPECT_EQ(query_errors("resolved=true&resolved=false"), lines{R"(parameter "resolved" is given more than once)"});
    EXPECT_EQ(query_errors("siteIds="), lines{"siteIds must not be an empty list"});
    EXPECT_EQ(query_errors("siteIds=1,"), lines{"siteIds must not contain an empty string"});
    EXPECT_EQ(query_errors("confidenceLevels=critical"),
              lines{R"(invalid value "critical" for confidenceLevels: expected one of malicious, suspicious, n/a)"});
    for (auto bad : {"ids=%ZZ", "ids=1 2", "ids=M\xC3\xBC", "ids=a|b", "ids=50%"})
        EXPECT_EQ(query_errors(bad), lines{R"(the query string is not valid: it holds a character that must be )"
                                           R"(percent-encoded, or a "%" not followed by two hex digits)"})
            << bad;
}

TEST(FilterParseQuery, ReportsEveryProblemAtOnceAndKeepsEarlierOnes) {
    std::vector<core::diagnostic> problems(1);  // an earlier, unrelated problem
    problems[0].message = "earlier";
    auto r = parse_query("limit=0&siteId=1&osTypes=bsd&resolved=maybe", problems);
    EXPECT_FALSE(r);
    EXPECT_EQ(texts(problems),
              (lines{"earlier", R"(invalid value "0" for limit: expected a whole number from 1 to 1000)",
                     R"(unknown query parameter "siteId" (did you mean "siteIds"?))",
                     R"(invalid value "maybe" for resolved: expected true or false)",
                     R"(invalid value "bsd" for osTypes: expected one of windows, macos, linux, windows_legacy)"}));
}

TEST(FilterParseQuery, WarningsDoNotFail) {
    std::vector<core::diagnostic> problems;
    auto r = parse_query("classifications=Cryptominer", problems);
    ASSERT_TRUE(r);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].level, core::severity::warning);
    EXPECT_EQ(std::get<string_list>(r->filter.terms()[0].val), string_list{"Cryptominer"});
}

// ---- from_json ------------------------------------------------------------------------------

TEST(FilterFromJson, ToleratesKnownClientVariations) {
    auto f = json_ok(
        R"({"ids":"1,2, 3","siteIds":["225494730938493804",1364475734565842019],"tenant":"true","resolved":false,)"
        R"("noteExists":"false","limit":"5","createdAt__gte":"2024-01-31T10:00:00Z",)"
        R"("agentTagsData":{"env":["prod"]},"countsFor":"osTypes"})");
    EXPECT_EQ(std::get<string_list>(f.find("ids")->val), (string_list{"1", "2", "3"}));
    EXPECT_EQ(std::get<string_list>(f.find("siteIds")->val),
              (string_list{"225494730938493804", "1364475734565842019"}));
    EXPECT_EQ(std::get<bool>(f.find("tenant")->val), true);
    EXPECT_EQ(std::get<bool>(f.find("resolved")->val), false);
    EXPECT_EQ(std::get<bool>(f.find("noteExists")->val), false);
    EXPECT_EQ(std::get<std::int64_t>(f.find("limit")->val), 5);
    EXPECT_EQ(std::get<core::timestamp>(f.find("createdAt__gte")->val), at("2024-01-31T10:00:00Z"));
    EXPECT_EQ(std::get<std::string>(f.find("agentTagsData")->val), R"({"env":["prod"]})");
    EXPECT_EQ(f.terms().size(), 9u);
    EXPECT_EQ(f.terms()[0].key->name, "ids");
    EXPECT_EQ(std::get<std::int64_t>(json_ok(R"({"limit":7})").find("limit")->val), 7);
}

TEST(FilterFromJson, ErrorsNameTheKey) {
    EXPECT_EQ(json_errors(R"({"siteId":["1"]})"), lines{R"(unknown filter key "siteId" (did you mean "siteIds"?))"});
    EXPECT_EQ(json_errors(R"({"severity":["high"]})"), lines{R"(unknown filter key "severity")"});
    EXPECT_EQ(json_errors(R"({"ids":[true]})"), lines{"ids must be a list of strings"});
    EXPECT_EQ(json_errors(R"({"ids":5})"), lines{"ids must be a list of strings"});
    EXPECT_EQ(json_errors(R"({"ids":[]})"), lines{"ids must not be an empty list"});
    EXPECT_EQ(json_errors(R"({"tenant":"yes"})"), lines{R"(invalid value "yes" for tenant: expected true or false)"});
    EXPECT_EQ(json_errors(R"({"tenant":1})"), lines{"tenant must be true or false"});
    EXPECT_EQ(json_errors(R"({"limit":0})"), lines{"limit must be at least 1"});
    EXPECT_EQ(json_errors(R"({"limit":"five"})"), lines{R"(invalid value "five" for limit: expected a whole number)"});
    EXPECT_EQ(json_errors(R"({"limit":2.5})"), lines{"limit must be a whole number"});
    EXPECT_EQ(
        json_errors(R"({"createdAt__gte":"-24h"})"),
        lines{R"(invalid value "-24h" for createdAt__gte: expected a UTC time such as 2018-02-27T04:49:26.257525Z)"});
    EXPECT_EQ(json_errors(R"({"createdAt__gte":1700000000})"),
              lines{"createdAt__gte must be a UTC time such as 2018-02-27T04:49:26.257525Z"});
    EXPECT_EQ(json_errors(R"({"query":["a"]})"), lines{"query must be a string"});
    EXPECT_EQ(json_errors(R"({"analystVerdicts":["benign"],"siteIds":["1"]})"),
              lines{R"(invalid value "benign" for analystVerdicts: expected one of undefined, true_positive, )"
                    R"(false_positive, suspicious)"});
    EXPECT_EQ(json_errors(R"({"agentTagsData":{"env":"prod"}})"),
              lines{R"(agentTagsData must be a JSON object whose values are lists of strings, e.g. {"env":["prod"]})"});
}

// ---- round trips over the whole table -------------------------------------------------------

TEST(FilterRoundTrip, QueryForEveryKey) {
    for (const auto& k : keys()) {
        auto f = one(k.name, test::sample_value(k));
        auto q = parse_ok(to_query(f));
        if (k.kind == match_kind::limit) {
            // In a GET query `limit` is the page size.
            EXPECT_TRUE(q.filter.empty());
            EXPECT_EQ(q.params.limit, std::get<std::int64_t>(f.terms()[0].val));
            continue;
        }
        EXPECT_EQ(q.filter, f) << k.name << ": " << to_query(f);
    }
}

TEST(FilterRoundTrip, JsonForEveryKey) {
    for (const auto& k : keys()) {
        auto f = one(k.name, test::sample_value(k));
        std::vector<core::diagnostic> problems;
        auto back = from_json(to_json(f), problems);
        ASSERT_TRUE(back) << k.name;
        EXPECT_TRUE(problems.empty()) << k.name;
        EXPECT_EQ(*back, f) << k.name << ": " << boost::json::serialize(to_json(f));
    }
}

TEST(FilterRoundTrip, AllKeysAtOnceAndAwkwardValues) {
    threat_filter f;
    for (const auto& k : keys())
        if (k.kind != match_kind::limit) f.set(k, test::sample_value(k));
    f.set(key("filePath__contains"), string_list{"a;b", "sp ace", "a&b", "k=v", "1+1", "Müller €", "%41", "YWdl+/="});
    EXPECT_EQ(parse_ok(to_query(f)).filter, f);
    std::vector<core::diagnostic> problems;
    auto back = from_json(to_json(f), problems);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, f);
}
