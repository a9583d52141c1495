#include "s1pilot/filter/keys.hpp"
#include "s1pilot/filter/schema.hpp"

#include <boost/json.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>

#include "filter_test_support.hpp"

using namespace s1pilot::filter;

namespace {

const std::string docs_path = std::string(S1PILOT_SOURCE_DIR "/docs/filters.md");

// The hand-written part of docs/filters.md; the table below it is keys_markdown().
constexpr std::string_view docs_intro =
    "# Threat filter keys\n"
    "\n"
    "The keys a playbook's `match` may use: every filter key of the SentinelOne Mitigate Threats\n"
    "(seed 000) and Update Threat Incident (seed 002) requests. s1pilot sends them as query\n"
    "parameters of `GET /threats` and as the `filter` object of action bodies; s1sim evaluates\n"
    "them the same way. Lists are comma-separated in a query, and the console decodes `%2C`\n"
    "before it splits, so no list item may hold a comma (validation refuses one; string keys\n"
    "such as `query` keep theirs); times are sent as\n"
    "`YYYY-MM-DDTHH:MM:SS.ffffffZ`, and a playbook may also write a negative duration (`-24h`),\n"
    "meaning that long before the run starts. A match needs a *scope* key, or `tenant: true`\n"
    "with `allow_tenant_wide: true`.\n"
    "\n"
    "Paths name fields of the threat object: `a[]` is every element of the list `a`, `*` every\n"
    "member of an object, `*~` the member names. Notes and agent tags are not part of the threat\n"
    "object. `__contains` and `query` ignore case (ASCII letters only); list matches are exact.\n"
    "\n"
    "This file is generated: run the unit tests with `S1PILOT_REGENERATE_DOCS=1` to rewrite it\n"
    "after changing the key table (src/filter/keys.cpp).\n"
    "\n";

const boost::json::object& property(const boost::json::object& schema, std::string_view name) {
    return schema.at("properties").at(name).as_object();
}

}  // namespace

TEST(FilterSchema, OnePropertyPerKeyAndNothingElse) {
    auto schema = match_schema();
    EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
    EXPECT_EQ(schema.at("type"), "object");
    EXPECT_EQ(schema.at("additionalProperties"), false);
    const auto& properties = schema.at("properties").as_object();
    EXPECT_EQ(properties.size(), keys().size());
    for (const auto& k : keys()) {
        ASSERT_TRUE(properties.contains(k.name)) << k.name;
        EXPECT_EQ(std::string_view(properties.at(k.name).at("description").as_string()), k.description) << k.name;
    }
}

TEST(FilterSchema, TypesFollowTheTable) {
    auto schema = match_schema();
    EXPECT_EQ(boost::json::serialize(property(schema, "siteIds")),
              R"({"description":"List of site IDs to filter by","type":"array",)"
              R"("items":{"type":"string","minLength":1,"pattern":"^[^,]*$"},"minItems":1})");
    EXPECT_EQ(boost::json::serialize(property(schema, "confidenceLevelsNin").at("items")),
              R"({"type":"string","minLength":1,"pattern":"^[^,]*$","enum":["malicious","suspicious","n/a"]})");
    const auto& classifications = property(schema, "classifications").at("items").as_object();
    EXPECT_FALSE(classifications.contains("enum"));
    EXPECT_EQ(classifications.at("examples").as_array().size(), 10u);
    EXPECT_EQ(property(schema, "resolved").at("type"), "boolean");
    EXPECT_EQ(property(schema, "limit").at("type"), "integer");
    EXPECT_EQ(property(schema, "limit").at("minimum"), 1);
    EXPECT_EQ(property(schema, "query").at("type"), "string");
    EXPECT_EQ(property(schema, "agentTagsData").at("anyOf").as_array().size(), 2u);
}

TEST(FilterSchema, TimeKeysTakeAnAbsoluteTimeOrANegativeDuration) {
    auto schema = match_schema();
    for (const auto& k : keys()) {
        if (k.type != value_type::time) continue;
        const auto& any_of = property(schema, k.name).at("anyOf").as_array();
        ASSERT_EQ(any_of.size(), 2u) << k.name;
        std::regex absolute(std::string(any_of[0].at("pattern").as_string()));
        std::regex relative(std::string(any_of[1].at("pattern").as_string()));
        EXPECT_EQ(any_of[1].at("pattern").as_string(), "^-[0-9]+(ms|s|m|h|d)$");
        for (auto good :
             {"2018-02-27T04:49:26.257525Z", "2024-01-31", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00+00:00"})
            EXPECT_TRUE(std::regex_match(good, absolute)) << good;
        for (auto bad : {"2024-01-31T10:00:00", "2024-01-31T10:00:00+02:00", "yesterday", "-24h"})
            EXPECT_FALSE(std::regex_match(bad, absolute)) << bad;
        for (auto good : {"-24h", "-7d", "-30m", "-250ms", "-5s"})
            EXPECT_TRUE(std::regex_match(good, relative)) << good;
        for (auto bad : {"24h", "-24", "-1.5h", "-1w", "--1h"}) EXPECT_FALSE(std::regex_match(bad, relative)) << bad;
    }
}

TEST(FilterMarkdown, OneRowPerKey) {
    std::string md = keys_markdown();
    EXPECT_TRUE(md.starts_with("| Key | Type | Selects | Allowed values | Seeds | Description |\n"));
    for (const auto& k : keys()) EXPECT_NE(md.find(fmt::format("| `{}`", k.name)), std::string::npos) << k.name;
    EXPECT_NE(md.find("| `siteIds` (scope) | list of strings | `agentRealtimeInfo.siteId` is one of the values | any | "
                      "000, 002 | List of site IDs to filter by |\n"),
              std::string::npos);
    EXPECT_NE(md.find("| `hasAgentTags` | boolean | (the agent has a tag) equals the boolean | any | 002 |"),
              std::string::npos);
    EXPECT_NE(md.find("open set; known: `Malware`, `Ransomware`"), std::string::npos);
    EXPECT_NE(md.find("| `osArchs` | list of strings | `agentRealtimeInfo.agentOsArch` is one of the values | "
                      "`32 bit`, `64 bit`, `ARM64` |"),
              std::string::npos);
}

// docs/filters.md must hold the generated table verbatim, so the docs cannot drift from the table.
TEST(FilterMarkdown, DocsHoldTheGeneratedTable) {
    std::string expected = std::string(docs_intro) + keys_markdown();
    if (const char* regenerate = std::getenv("S1PILOT_REGENERATE_DOCS"); regenerate && std::string(regenerate) == "1") {
        std::ofstream(docs_path, std::ios::binary | std::ios::trunc) << expected;
    }
    std::string docs;
    ASSERT_NO_THROW(docs = test::read_text(docs_path))
        << docs_path << " is missing: run `S1PILOT_REGENERATE_DOCS=1 unit_model_tests --gtest_filter=FilterMarkdown.*`";
    EXPECT_NE(docs.find(keys_markdown()), std::string::npos)
        << docs_path << " is out of date with the key table: run "
        << "`S1PILOT_REGENERATE_DOCS=1 unit_model_tests --gtest_filter=FilterMarkdown.*` and commit the result";
}
