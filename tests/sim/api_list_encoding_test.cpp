// GET /threats decodes the query string before it splits a list, as the console does (reference
// §2): `%2C` separates items exactly like `,` (what generated API clients send), and repeated
// keys still merge. Every filter key of both seeds gets the same answer either way.

#include "s1pilot/filter/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "filter_samples.hpp"
#include "sim_fixture.hpp"

using namespace s1sim::test;
namespace filter = s1pilot::filter;

namespace {

class ListEncoding : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        sim_ = new running_sim(test_options(400));
        client_ = sim_->client().release();
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

running_sim* ListEncoding::sim_ = nullptr;
https_client* ListEncoding::client_ = nullptr;
dataset* ListEncoding::data_ = nullptr;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// A value of `key` with at least two list items (samples of several seeds merged; no item with
// a comma, which no client can send), or the seed's sample for a key that is not a list.
filter::value value_for(const filter::key_spec& key, const dataset& d, std::uint64_t seed) {
    if (key.type != filter::value_type::string_list) return sample_value(key, d, seed);
    filter::string_list items;
    for (std::uint64_t s = seed; s < seed + 12 && items.size() < 3; ++s) {
        auto sample = std::get<filter::string_list>(sample_value(key, d, s));
        for (auto& item : sample)
            if (item.find(',') == std::string::npos && std::find(items.begin(), items.end(), item) == items.end())
                items.push_back(std::move(item));
    }
    // An attribute with one value in the dataset: a second item that matches nothing still separates.
    if (items.size() < 2) items.push_back(key.scope ? "1000000000000000001" : "no-such-value");
    return items;
}

}  // namespace

TEST_F(ListEncoding, EveryKeyOfBothSeedsAnswersTheSameWithEncodedAndLiteralSeparators) {
    std::size_t list_keys = 0, lists_sent = 0;
    for (const auto* key : seed_keys()) {
        if (key->kind == filter::match_kind::limit) continue;  // on GET, `limit` is the page size
        const bool is_list = key->type == filter::value_type::string_list;
        list_keys += is_list;
        for (std::uint64_t seed = 1; seed <= 2; ++seed) {
            filter::threat_filter f;
            f.set(*key, value_for(*key, *data_, seed));
            if (is_list) {
                ASSERT_GE(std::get<filter::string_list>(f.terms()[0].val).size(), 2u) << key->name;
                lists_sent += seed == 1;
            }
            // to_query leaves list separators literal and encodes a comma inside a string value
            // (query, agentTagsData); both spellings of either must mean the same to the server.
            const auto literal = replace_all(filter::to_query(f), "%2C", ",");
            const auto encoded = replace_all(literal, ",", "%2C");
            const auto expected = sorted(data_->expected(f));
            EXPECT_EQ(sorted(all_ids(*client_, literal, 1000)), expected) << key->name << ": " << literal;
            EXPECT_EQ(sorted(all_ids(*client_, encoded, 1000)), expected) << key->name << ": " << encoded;
        }
    }
    EXPECT_GT(list_keys, 70u);  // both seeds' lists, not a handful
    EXPECT_EQ(lists_sent, list_keys);
}

TEST_F(ListEncoding, RepeatedKeysMergeWhicheverSeparatorEachUses) {
    const std::string one = "osTypes=windows,macos&classificationsNin=PUA,Malware";
    const auto expected = all_ids(*client_, one);
    ASSERT_FALSE(expected.empty());
    for (std::string query : {"osTypes=windows%2Cmacos&classificationsNin=PUA%2cMalware",
                              "osTypes=windows&osTypes=macos&classificationsNin=PUA%2CMalware",
                              "osTypes=windows%2Cmacos&classificationsNin=PUA&classificationsNin=Malware"})
        EXPECT_EQ(all_ids(*client_, query), expected) << query;
}

TEST_F(ListEncoding, AnEncodedEmptyItemIsRefusedLikeALiteralOne) {
    for (std::string query : {"siteIds=1364475734565842019,", "siteIds=1364475734565842019%2C"}) {
        auto r = client_->get(std::string(threats_path) + "?" + query);
        EXPECT_EQ(r.status, 400) << query;
        EXPECT_EQ(r.json().at("errors").at(0).at("detail"), "siteIds must not contain an empty string") << query;
    }
}
