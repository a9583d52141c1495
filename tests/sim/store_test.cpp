// The store, generator, JSON shape and fast filter path, without a network.

#include "s1pilot/filter/wire.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "filter_samples.hpp"
#include "generator.hpp"
#include "https_client.hpp"
#include "json_writer.hpp"
#include "listing.hpp"
#include "rng.hpp"
#include "store_filter.hpp"
#include "threat_json.hpp"

using namespace s1sim;
namespace json = boost::json;
namespace filter = s1pilot::filter;

namespace {

const auto fixed_now = *s1pilot::core::parse_timestamp("2024-05-01T00:00:00Z");

std::unique_ptr<threat_store> make_store(std::uint64_t threats, std::uint64_t seed = 7) {
    auto store = std::make_unique<threat_store>();
    generate(*store, {threats, seed, fixed_now});
    return store;
}

std::string threat_json(const threat_store& store, std::uint32_t i) {
    std::string out;
    json_writer w(out);
    write_threat(w, store, i);
    return out;
}

// The dump GET /_sim/threats serves, built here without the server.
std::string dump(const threat_store& store) {
    std::string out = R"({"data":[)";
    for (std::uint32_t i = 0; i < store.threats.size(); ++i) out += (i ? "," : "") + threat_json(store, i);
    out += R"(],"notes":{)";
    bool first = true;
    for (std::uint32_t i = 0; i < store.threats.size(); ++i)
        if (const auto* notes = store.notes(i)) {
            out += (first ? "\"" : ",\"") + id_text(store.threats[i].id) + "\":[";
            for (std::size_t n = 0; n < notes->size(); ++n) out += (n ? ",\"" : "\"") + (*notes)[n].text + "\"";
            out += "]";
            first = false;
        }
    out += R"(},"agentTags":{)";
    first = true;
    for (std::uint32_t a = 1; a < store.agents.size(); ++a) {
        const auto& tags = store.lists.get(store.agents[a].tags);
        if (tags.empty()) continue;
        out += (first ? "\"" : ",\"") + id_text(store.agents[a].agent_id) + "\":[";
        for (std::size_t n = 0; n < tags.size(); ++n)
            out += (n ? ",\"" : "\"") + std::string(store.strings.get(tags[n])) + "\"";
        out += "]";
        first = false;
    }
    return out + "}}";
}

}  // namespace

TEST(Generator, SameSeedSameDatasetOtherSeedOther) {
    auto a = make_store(300), b = make_store(300), c = make_store(300, 8);
    ASSERT_EQ(a->threats.size(), 300u);
    for (std::uint32_t i = 0; i < 300; ++i) EXPECT_EQ(threat_json(*a, i), threat_json(*b, i));
    int differing = 0;
    for (std::uint32_t i = 0; i < 300; ++i) differing += threat_json(*a, i) != threat_json(*c, i);
    EXPECT_GT(differing, 250);
}

TEST(Generator, DemoSiteHasWhatThePlaybooksMatch) {
    auto store = make_store(200);
    auto value = [&](std::uint32_t i, filter::attribute a) {
        store_view view(*store);
        std::vector<std::string_view> out;
        view.at(i).values(a, out);
        return out.empty() ? std::string() : std::string(out.front());
    };
    for (std::uint32_t base : {0u, 50u, 100u, 150u}) {
        for (std::uint32_t k = 0; k < 4; ++k)
            EXPECT_EQ(value(base + k, filter::attribute::site_id), "1364475734565842019");
        EXPECT_EQ(value(base, filter::attribute::classification), "Ransomware");
        EXPECT_EQ(value(base, filter::attribute::confidence_level), "malicious");
        EXPECT_EQ(value(base, filter::attribute::mitigation_status), "not_mitigated");
        EXPECT_EQ(value(base + 1, filter::attribute::confidence_level), "suspicious");
        EXPECT_EQ(value(base + 1, filter::attribute::incident_status), "unresolved");
        EXPECT_EQ(value(base + 2, filter::attribute::classification), "PUA");
        EXPECT_EQ(value(base + 2, filter::attribute::confidence_level), "suspicious");
        EXPECT_EQ(value(base + 3, filter::attribute::detection_engine_keys), "lateral_movement");
    }
}

TEST(Generator, CoversEveryOsCloudAndKubernetes) {
    auto store = make_store(2000);
    std::set<std::string> os, providers, machines;
    int k8s = 0;
    store_view view(*store);
    for (std::uint32_t i = 0; i < store->threats.size(); ++i) {
        std::vector<std::string_view> v;
        view.at(i).values(filter::attribute::os_type, v);
        view.at(i).values(filter::attribute::cloud_provider_names, v);
        view.at(i).values(filter::attribute::machine_type, v);
        for (auto s : v) os.emplace(s);
        k8s += store->threats[i].workload != 0;
    }
    for (auto want : {"windows", "windows_legacy", "macos", "linux", "AWS", "GCP", "Azure", "kubernetes pod"})
        EXPECT_TRUE(os.count(want)) << want;
    EXPECT_GT(k8s, 10);
}

TEST(ThreatJson, ShapeFollowsTheExamplePage) {
    auto store = make_store(60);
    auto t = json::parse(threat_json(*store, 0)).as_object();
    EXPECT_EQ(t.at("id"), t.at("threatInfo").at("threatId"));
    for (auto field : {"agentDetectionInfo", "agentRealtimeInfo", "containerInfo", "kubernetesInfo", "mitigationStatus",
                       "threatInfo", "indicators", "whiteningOptions"})
        EXPECT_TRUE(t.contains(field)) << field;
    const auto& info = t.at("threatInfo").as_object();
    EXPECT_EQ(info.at("detectionEngines").as_array().size(), info.at("engines").as_array().size());
    EXPECT_TRUE(s1pilot::core::parse_timestamp(info.at("createdAt").as_string()));
    EXPECT_EQ(info.at("createdAt").as_string().size(), 27u);  // YYYY-MM-DDTHH:MM:SS.ffffffZ
}

TEST(ThreatJson, DumpLoadsBackIdentically) {
    auto store = make_store(300);
    auto copy = std::make_unique<threat_store>();
    for (std::uint32_t i = 0; i < store->threats.size(); ++i)
        ASSERT_EQ(load_threat(*copy, json::parse(threat_json(*store, i)).as_object(), fixed_now), "");
    ASSERT_EQ(copy->threats.size(), store->threats.size());
    for (std::uint32_t i = 0; i < store->threats.size(); ++i)
        EXPECT_EQ(json::parse(threat_json(*copy, i)), json::parse(threat_json(*store, i))) << i;
}

TEST(ThreatJson, LoadsTheReferenceExamplePage) {
    std::ifstream in(S1PILOT_TEST_DATA "/threat-page.json");
    ASSERT_TRUE(in);
    std::stringstream text;
    text << in.rdbuf();
    auto page = json::parse(text.str()).as_object();
    threat_store store;
    const auto& original = page.at("data").as_array().at(0).as_object();
    ASSERT_EQ(load_threat(store, original, fixed_now), "");
    auto written = json::parse(threat_json(store, 0)).as_object();
    EXPECT_EQ(written.at("id"), original.at("id"));
    for (auto field : {"classification", "confidenceLevel", "createdAt", "updatedAt", "filePath", "sha1", "storyline",
                       "maliciousProcessArguments", "mitigationStatus", "incidentStatus"})
        EXPECT_EQ(written.at("threatInfo").at(field), original.at("threatInfo").at(field)) << field;
    EXPECT_EQ(written.at("mitigationStatus").as_array().size(), 2u);
    EXPECT_EQ(written.at("agentRealtimeInfo").at("agentId"), original.at("agentRealtimeInfo").at("agentId"));
}

TEST(StoreFilter, FastPathAgreesWithTheFilterModule) {
    auto store = make_store(600);
    for (std::uint32_t i = 0; i < store->threats.size(); i += 7) store->add_note(i, "note " + std::to_string(i), 0);
    test::dataset data(dump(*store));
    ASSERT_EQ(data.threats.size(), store->threats.size());
    auto keys = test::seed_keys();
    rng r(99);
    int nontrivial = 0;
    for (int round = 0; round < 400; ++round) {
        filter::threat_filter f;
        std::size_t terms = 1 + r.below(round < 200 ? 1 : 3);
        for (std::size_t k = 0; k < terms; ++k) {
            const auto* key = keys[r.below(keys.size())];
            if (key->kind == filter::match_kind::limit) continue;
            f.set(*key, test::sample_value(*key, data, r.next()));
        }
        auto expected = data.expected(f);
        store_filter fast(*store, f), slow(*store, f, false);
        std::vector<std::string> got;
        for (std::uint32_t i = 0; i < store->threats.size(); ++i) {
            bool m = fast.matches(i);
            ASSERT_EQ(m, slow.matches(i)) << "round " << round << " threat " << i << ": " << filter::to_query(f);
            if (m) got.push_back(id_text(store->threats[i].id));
        }
        ASSERT_EQ(got, expected) << filter::to_query(f);
        nontrivial += !expected.empty() && expected.size() < store->threats.size();
    }
    EXPECT_GT(nontrivial, 150);  // the check compared real selections, not all-or-nothing
}

TEST(Cursor, RoundTripsAndRejectsForgeries) {
    cursor c{"createdAt", true, 1714521600000000, 1590000000000104729ULL};
    auto text = encode_cursor(c);
    auto back = decode_cursor(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->sort_by, "createdAt");
    EXPECT_TRUE(back->descending);
    EXPECT_EQ(back->key, c.key);
    EXPECT_EQ(back->id, c.id);
    EXPECT_FALSE(decode_cursor("not a cursor!"));
    EXPECT_FALSE(decode_cursor(base64_encode("v1:threatName:asc:1:2")));
    EXPECT_EQ(base64_decode(base64_encode("any bytes \x01\xff")), std::string("any bytes \x01\xff"));
}

TEST(Listing, PagesAtAnAwkwardSizeVisitEveryMatchOnce) {
    auto store = make_store(500);
    std::vector<s1pilot::core::diagnostic> problems;
    for (std::string sort : {"sortBy=createdAt&sortOrder=asc", "sortBy=updatedAt&sortOrder=desc", "sortBy=id"}) {
        auto expected_total = std::count_if(store->threats.begin(), store->threats.end(), [&](const threat_record& t) {
            return t.confidence_level == store->strings.find("malicious");
        });
        std::set<std::string> seen;
        std::string cursor_text;
        for (int page = 0; page < 100; ++page) {
            std::string q = "confidenceLevels=malicious&limit=37&" + sort;
            if (!cursor_text.empty()) q += "&cursor=" + cursor_text;
            auto parsed = filter::parse_query(q, problems);
            ASSERT_TRUE(parsed) << q;
            auto result = list_threats(*store, *parsed);
            ASSERT_TRUE(result.ok) << result.error_detail;
            auto body = json::parse(result.body).as_object();
            EXPECT_EQ(body.at("pagination").at("totalItems").as_int64(), expected_total);
            for (const auto& t : body.at("data").as_array()) EXPECT_TRUE(seen.emplace(t.at("id").as_string()).second);
            const auto& next = body.at("pagination").at("nextCursor");
            if (next.is_null()) break;
            cursor_text = test::url_encode(std::string(next.as_string()));
        }
        EXPECT_EQ(static_cast<long>(seen.size()), expected_total) << sort;
    }
}

TEST(JsonWriter, EscapesWhatJsonRequires) {
    const std::string tricky = "C:\\Users\\jdoe\\\"quoted\"\n\ttab\x01 caf\xc3\xa9";
    std::string out;
    json_writer w(out);
    w.begin_object().member("s", tricky).member_null("n").member_number("i", -42).key("a").begin_array();
    w.boolean(true).string("").end_array().end_object();
    auto parsed = json::parse(out).as_object();
    EXPECT_EQ(parsed.at("s").as_string(), tricky);
    EXPECT_TRUE(parsed.at("n").is_null());
    EXPECT_EQ(parsed.at("i").as_int64(), -42);
    EXPECT_EQ(parsed.at("a").as_array().size(), 2u);
}
