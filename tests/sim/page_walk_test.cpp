// What makes a 1,000-threat page fast must not change what it says: the sorted orders a cursor
// page starts from, the total kept between the pages of a walk, the JSON writer's escaping and
// the allocation-free timestamps. The simulator is called in-process (no sockets).

#include "s1pilot/core/time.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "json_writer.hpp"
#include "sim_fixture.hpp"

using namespace s1sim;
using namespace s1sim::test;
namespace json = boost::json;

namespace {

json::object call(simulator& sim, const std::string& method, const std::string& path, const std::string& query,
                  const std::string& body = {}) {
    auto r = sim.handle({method, path, query, body, std::string("ApiToken ") + test_token});
    EXPECT_EQ(r.status, 200u) << method << ' ' << path << '?' << query << '\n' << r.body;
    return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
}

json::object page(simulator& sim, const std::string& query) {
    return call(sim, "GET", threats_path, query);
}

std::vector<std::string> ids(const json::object& page) {
    std::vector<std::string> out;
    for (const auto& t : page.at("data").as_array()) out.emplace_back(t.at("id").as_string());
    return out;
}

std::string next_query(const std::string& query, const json::object& page) {
    const auto& next = page.at("pagination").at("nextCursor");
    return next.is_null() ? std::string() : query + "&cursor=" + url_encode(std::string(next.as_string()));
}

// Every page of a walk, following nextCursor.
std::vector<json::object> walk(simulator& sim, const std::string& query) {
    std::vector<json::object> pages;
    for (std::string q = query; !q.empty() && pages.size() < 1000;) {
        pages.push_back(page(sim, q));
        q = next_query(query, pages.back());
    }
    return pages;
}

std::string ids_filter(const std::vector<std::string>& list) {
    json::array a;
    for (const auto& id : list) a.emplace_back(id);
    return R"({"filter":{"ids":)" + json::serialize(a) + "},";
}

}  // namespace

TEST(PageWalk, EveryOrderPagesLikeOnePageOfEverything) {
    simulator sim(test_options(600));
    for (std::string order : {"sortBy=createdAt&sortOrder=asc", "sortBy=createdAt&sortOrder=desc",
                              "sortBy=id&sortOrder=asc", "sortBy=id&sortOrder=desc", "sortBy=updatedAt&sortOrder=desc"}) {
        const std::string filter = "classifications=Malware,Trojan&" + order;
        const auto whole = ids(page(sim, filter + "&limit=1000"));
        std::vector<std::string> walked;
        for (const auto& p : walk(sim, filter + "&limit=29")) {
            EXPECT_EQ(p.at("pagination").at("totalItems").as_int64(), static_cast<std::int64_t>(whole.size()));
            for (auto& id : ids(p)) walked.push_back(id);
        }
        EXPECT_EQ(walked, whole) << order;
        EXPECT_GT(whole.size(), 29u * 3) << order;
        // skip= without a cursor starts as far into the same order.
        EXPECT_EQ(ids(page(sim, filter + "&limit=5&skip=40")),
                  std::vector<std::string>(whole.begin() + 40, whole.begin() + 45));
    }
}

TEST(PageWalk, AThreatChangedByAnActionIsServedWithItsNewStateAndTheTotalFollows) {
    simulator sim(test_options(400));
    const std::string query = "incidentStatuses=unresolved&sortBy=createdAt&sortOrder=asc&limit=50";
    auto first = page(sim, query);
    const auto total = first.at("pagination").at("totalItems").as_int64();
    auto second = page(sim, next_query(query, first));  // the total is now remembered
    const std::vector<std::string> changed = {ids(second).at(0), ids(second).at(1)};
    call(sim, "POST", std::string(api_prefix) + "/threats/incident", {},
         ids_filter(changed) + R"("data":{"incidentStatus":"resolved"}})");
    EXPECT_EQ(page(sim, query).at("pagination").at("totalItems").as_int64(), total - 2);
    EXPECT_EQ(page(sim, next_query(query, first)).at("pagination").at("totalItems").as_int64(), total - 2);
    auto resolved = page(sim, "ids=" + changed[0] + "&sortBy=createdAt");
    EXPECT_EQ(resolved.at("data").at(0).at("threatInfo").at("incidentStatus"), "resolved");
    // countOnly after the change counts again too.
    EXPECT_EQ(page(sim, "countOnly=true&incidentStatuses=unresolved").at("pagination").at("totalItems").as_int64(),
              total - 2);
}

TEST(PageWalk, ACursorWalkInterruptedByActionsReturnsEachMatchingThreatOnce) {
    simulator sim(test_options(500));
    const std::string query = "mitigationStatuses=not_mitigated&sortBy=createdAt&sortOrder=desc&limit=20";
    std::vector<std::string> seen;
    std::set<std::string> killed;
    std::int64_t original = -1;
    std::string q = query;
    for (int pages = 0; !q.empty() && pages < 100; ++pages) {
        auto p = page(sim, q);
        const auto total = p.at("pagination").at("totalItems").as_int64();
        if (original < 0) original = total;
        EXPECT_EQ(total, original - static_cast<std::int64_t>(killed.size()));  // counted again after each action
        for (auto& id : ids(p)) seen.push_back(id);
        // Kill the page just read, as a playbook does between reads: those threats no
        // longer match, and nothing not yet read is skipped or repeated.
        const auto read = ids(p);
        if (!read.empty()) {
            call(sim, "POST", std::string(api_prefix) + "/threats/mitigate/kill", {}, ids_filter(read) + "\"data\":{}}");
            killed.insert(read.begin(), read.end());
        }
        q = next_query(query, p);
    }
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
    EXPECT_EQ(static_cast<std::int64_t>(seen.size()), original);
    EXPECT_GT(seen.size(), 100u);
    EXPECT_EQ(page(sim, query).at("pagination").at("totalItems").as_int64(), 0);
}

TEST(PageWalk, ThreatsAddedBetweenPagesJoinTheOrders) {
    simulator sim(test_options(100));
    const std::string query = "sortBy=id&sortOrder=asc&limit=30";
    auto first = page(sim, query);
    auto added = call(sim, "POST", "/_sim/threats", {},
                      R"({"id":"9000000000000000001","threatInfo":{"classification":"Malware",)"
                      R"("createdAt":"2024-04-01T00:00:00Z"},"agentRealtimeInfo":{"agentId":"42"}})");
    std::vector<std::string> walked = ids(first);
    for (std::string q = next_query(query, first); !q.empty();) {
        auto p = page(sim, q);
        for (auto& id : ids(p)) walked.push_back(id);
        EXPECT_EQ(p.at("pagination").at("totalItems").as_int64(), 101);
        q = next_query(query, p);
    }
    EXPECT_EQ(walked.size(), 101u);
    EXPECT_EQ(walked.back(), "9000000000000000001");
    // createdAt puts it among the others, where the createdAt order must have it.
    auto by_created = page(sim, "sortBy=createdAt&sortOrder=asc&limit=1000");
    std::vector<std::string> created;
    for (const auto& t : by_created.at("data").as_array()) created.emplace_back(t.at("threatInfo").at("createdAt").as_string());
    EXPECT_TRUE(std::is_sorted(created.begin(), created.end()));
    EXPECT_EQ(created.size(), 101u);
}

TEST(PageWalk, FormatMicrosWritesWhatFormatTimestampWrites) {
    for (micros m : {0LL, 1LL, -1LL, 951782400000000LL /* 2000-02-29 */, 1714521599999999LL, 4102444800000000LL,
                     -2208988800000000LL /* 1900-01-01 */, 253402300799999999LL /* 9999-12-31 */}) {
        EXPECT_EQ(format_micros(m).view(), s1pilot::core::format_timestamp(from_micros(m))) << m;
    }
    for (micros m = -5000000000000000LL; m < 5000000000000000LL; m += 7777777777777LL + m % 1000003)
        ASSERT_EQ(format_micros(m).view(), s1pilot::core::format_timestamp(from_micros(m))) << m;
}

TEST(PageWalk, TheWriterEscapesWhereverTheCharacterFalls) {
    const std::string specials[] = {"\"", "\\", "\n", "\t", "\r", std::string(1, '\x01'), std::string(1, '\x1f')};
    for (const auto& special : specials)
        for (std::size_t at = 0; at < 20; ++at)
            for (std::size_t length : {std::size_t{20}, std::size_t{200}}) {
                std::string value(length, 'a');
                value.replace(at, 1, special);
                value += "\xc3\xa9";  // UTF-8 passes unchanged
                std::string text;
                json_writer w(text);
                w.begin_object().member(value, value).key(value).string(value).member_null("n").end_object();
                json::error_code ec;
                auto parsed = json::parse(text, ec);
                ASSERT_FALSE(ec) << text;
                EXPECT_EQ(std::string(parsed.at(value).as_string()), value);
                EXPECT_EQ(parsed.as_object().size(), 2u);  // the same key twice: boost keeps one
            }
}
