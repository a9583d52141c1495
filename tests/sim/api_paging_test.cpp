// Cursor pagination, countOnly, page sizes and sorting over HTTPS.

#include <gtest/gtest.h>

#include <set>

#include "sim_fixture.hpp"

using namespace s1sim::test;

namespace {

std::int64_t count_only(https_client& client, const std::string& query) {
    auto r = client.get(std::string(threats_path) + "?countOnly=true&" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.json().at("data").as_array().empty());
    return r.json().at("pagination").at("totalItems").as_int64();
}

}  // namespace

TEST(Paging, PagesOf37AcrossCursorsMissNothingAndRepeatNothing) {
    running_sim sim(test_options(500));
    auto client = sim.client();
    for (std::string query : {"sortBy=createdAt&sortOrder=asc", "sortBy=updatedAt&sortOrder=desc", "sortBy=id",
                              "confidenceLevels=suspicious&sortBy=createdAt&sortOrder=desc", ""}) {
        auto ids = all_ids(*client, query, 37);
        std::set<std::string> unique(ids.begin(), ids.end());
        EXPECT_EQ(unique.size(), ids.size()) << query;
        auto total = count_only(*client, query.empty() ? "sortBy=id" : query);
        EXPECT_EQ(static_cast<std::int64_t>(ids.size()), total) << query;
        EXPECT_GT(total, 37 * 2) << query;  // several cursor pages
    }
}

TEST(Paging, SortOrderIsTheRequestedOne) {
    running_sim sim(test_options(300));
    auto client = sim.client();
    auto r = client->get(std::string(threats_path) + "?sortBy=updatedAt&sortOrder=desc&limit=200");
    ASSERT_EQ(r.status, 200);
    std::string previous = "9999";
    auto body = r.json();
    for (const auto& t : body.at("data").as_array()) {
        std::string updated(t.at("threatInfo").at("updatedAt").as_string());
        EXPECT_LE(updated, previous);
        previous = updated;
    }
}

TEST(Paging, FirstPageCarriesTheTotalAndTheLastPageANullCursor) {
    running_sim sim(test_options(100));
    auto client = sim.client();
    auto first = client->get(threats_path);  // default page size 10
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(ids_of(first).size(), 10u);
    EXPECT_EQ(first.json().at("pagination").at("totalItems").as_int64(), 100);
    EXPECT_TRUE(first.json().at("pagination").at("nextCursor").is_string());
    auto whole = client->get(std::string(threats_path) + "?limit=1000");
    EXPECT_EQ(ids_of(whole).size(), 100u);
    EXPECT_TRUE(whole.json().at("pagination").at("nextCursor").is_null());
    auto exact = client->get(std::string(threats_path) + "?limit=100");
    EXPECT_TRUE(exact.json().at("pagination").at("nextCursor").is_null());  // no trailing empty page
    auto skipped = client->get(std::string(threats_path) + "?limit=5&skip=95");
    auto whole_ids = ids_of(whole);
    EXPECT_EQ(ids_of(skipped), std::vector<std::string>(whole_ids.begin() + 95, whole_ids.end()));
}

TEST(Paging, CountOnlyCountsWithoutData) {
    running_sim sim(test_options(200));
    auto client = sim.client();
    auto windows = count_only(*client, "osTypes=windows");
    auto others = count_only(*client, "osTypesNin=windows");
    EXPECT_GT(windows, 0);
    EXPECT_EQ(windows + others, 200);
}

TEST(Paging, CursorsAreStableUnderInserts) {
    running_sim sim(test_options(120));
    auto client = sim.client();
    auto first = client->get(std::string(threats_path) + "?sortBy=createdAt&sortOrder=asc&limit=37");
    ASSERT_EQ(first.status, 200);
    // A new detection arrives between pages; it is newer than all, so it shows on a later page.
    auto added = client->post("/_sim/threats",
                              R"({"threatInfo":{"classification":"Malware","createdAt":"2024-05-01T00:00:01Z"},)"
                              R"("agentRealtimeInfo":{"agentId":"42","siteId":"1364475734565842019"}})");
    ASSERT_EQ(added.status, 200) << added.body;
    std::string new_id(added.json().at("ids").at(0).as_string());
    std::vector<std::string> ids = ids_of(first);
    std::string cursor(first.json().at("pagination").at("nextCursor").as_string());
    for (int page = 0; page < 20 && !cursor.empty(); ++page) {
        auto r = client->get(std::string(threats_path) +
                             "?sortBy=createdAt&sortOrder=asc&limit=37&cursor=" + url_encode(cursor));
        ASSERT_EQ(r.status, 200) << r.body;
        for (auto& id : ids_of(r)) ids.push_back(id);
        auto body = r.json();
        const auto& next = body.at("pagination").at("nextCursor");
        cursor = next.is_null() ? std::string() : std::string(next.as_string());
    }
    EXPECT_EQ(ids.size(), 121u);
    EXPECT_EQ(ids.back(), new_id);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(Paging, BadCursorsAndSortsAreValidationErrors) {
    running_sim sim(test_options(20));
    auto client = sim.client();
    for (std::string query : {"cursor=garbage!", "sortBy=threatName", "sortOrder=sideways"}) {
        auto r = client->get(std::string(threats_path) + "?" + query);
        EXPECT_EQ(r.status, 400) << query << " " << r.body;
        EXPECT_EQ(r.json().at("errors").at(0).at("code").as_int64(), 4000010);
    }
}
