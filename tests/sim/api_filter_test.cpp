// GET /threats over HTTPS: every filter key of both seed documents selects exactly what the
// filter module says it should, over a dataset the test reads back independently.

#include "s1pilot/filter/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "filter_samples.hpp"
#include "sim_fixture.hpp"

using namespace s1sim::test;
namespace filter = s1pilot::filter;

namespace {

class FilterKeys : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        sim_ = new running_sim(test_options(400));
        client_ = sim_->client().release();
        // Notes on some threats, so that noteExists selects part of the dataset.
        auto r =
            client_->post(std::string(threats_path) + "/notes",
                          R"({"filter":{"ids":["1590000000000104729","1590000000000209458","1590000000000314187"]},)"
                          R"("data":{"text":"seen by the SOC"}})");
        ASSERT_EQ(r.status, 200) << r.body;
        auto dump = client_->get("/_sim/threats");
        ASSERT_EQ(dump.status, 200);
        data_ = new dataset(dump.body);
    }
    static void TearDownTestSuite() {
        delete data_;
        delete client_;
        delete sim_;
    }

    static running_sim* sim_;
    static https_client* client_;
    static dataset* data_;
};

running_sim* FilterKeys::sim_ = nullptr;
https_client* FilterKeys::client_ = nullptr;
dataset* FilterKeys::data_ = nullptr;

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_F(FilterKeys, EveryKeyOfBothSeedsSelectsWhatTheFilterModuleSays) {
    const auto all = data_->threats.size();
    ASSERT_EQ(all, 400u);
    auto keys = seed_keys();
    ASSERT_GT(keys.size(), 90u);  // both seeds' lists
    for (const auto* key : keys) {
        if (key->kind == filter::match_kind::limit) continue;  // on GET, `limit` is the page size (below)
        bool selective = false;
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
            filter::threat_filter f;
            f.set(*key, sample_value(*key, *data_, seed));
            auto query = filter::to_query(f);
            auto expected = data_->expected(f);
            auto got = all_ids(*client_, query, 97);
            ASSERT_EQ(sorted(got), sorted(expected)) << key->name << ": " << query;
            selective = selective || (!expected.empty() && expected.size() < all);
        }
        bool selects_nothing_by_design =
            key->kind == filter::match_kind::no_effect || key->kind == filter::match_kind::tenant;
        EXPECT_TRUE(selective || selects_nothing_by_design) << key->name << " never narrowed the selection";
    }
}

TEST_F(FilterKeys, CombinedTermsAllHold) {
    auto keys = seed_keys();
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        filter::threat_filter f;
        for (std::uint64_t k = 0; k < 3; ++k) {
            const auto* key = keys[(seed * 31 + k * 17) % keys.size()];
            if (key->kind != filter::match_kind::limit) f.set(*key, sample_value(*key, *data_, seed + k));
        }
        auto query = filter::to_query(f);
        ASSERT_EQ(sorted(all_ids(*client_, query, 1000)), sorted(data_->expected(f))) << query;
    }
}

TEST_F(FilterKeys, HandCheckedDemoSelection) {
    // Threats 0, 50, 100, ... are the demo's ransomware in the default site (generator.hpp).
    auto got = all_ids(*client_,
                       "siteIds=1364475734565842019&classifications=Ransomware&confidenceLevels=malicious&"
                       "mitigationStatuses=not_mitigated&incidentStatuses=unresolved");
    std::set<std::string> ids(got.begin(), got.end());
    for (std::uint64_t i = 0; i < 400; i += 50)
        EXPECT_TRUE(ids.count(std::to_string(1590000000000000000ULL + (i + 1) * 104729ULL))) << i;
    auto by_id = all_ids(*client_, "ids=1590000000000104729,1590000000000209458");
    EXPECT_EQ(sorted(by_id), (std::vector<std::string>{"1590000000000104729", "1590000000000209458"}));
    EXPECT_EQ(all_ids(*client_, "ids=1590000000000104729&ids=1590000000000209458"), by_id);
    EXPECT_EQ(all_ids(*client_, "ids=9999"), std::vector<std::string>{});
}

TEST_F(FilterKeys, RepeatedKeysEqualCommaSeparatedLists) {
    auto comma = all_ids(*client_, "osTypes=windows,macos&classificationsNin=PUA,Malware");
    auto repeated =
        all_ids(*client_, "osTypes=windows&osTypes=macos&classificationsNin=PUA&classificationsNin=Malware");
    EXPECT_FALSE(comma.empty());
    EXPECT_EQ(comma, repeated);
}

TEST_F(FilterKeys, BadParametersAreValidationErrorsNamingThem) {
    for (std::string query : {"osTypez=windows", "confidenceLevels=evil", "createdAt__gt=yesterday", "resolved=maybe",
                              "limit=1001", "limit=0"}) {
        auto r = client_->get(std::string(threats_path) + "?" + query);
        EXPECT_EQ(r.status, 400) << query;
        auto error = r.json().at("errors").at(0);
        EXPECT_EQ(error.at("code").as_int64(), 4000010);
        EXPECT_EQ(error.at("title").as_string(), "Validation Error");
        auto name = query.substr(0, query.find('='));
        EXPECT_NE(std::string(error.at("detail").as_string()).find(name), std::string::npos)
            << query << " -> " << r.body;
    }
}
