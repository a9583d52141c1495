// The example playbooks of config/playbooks, run by the real s1pilot against the real s1sim over
// HTTPS: s1sim's journal must hold exactly the POSTs the test computes from the dataset with the
// filter evaluation, and a second `once` must send none. Each runs twice: against s1sim's
// detailed answers (`details[]` per threat) and its minimal ones (`{"data":{"affected":N}}`
// alone, as the console's recorded mitigation answer in seed 000).
//
// The examples select by relative times (`createdAt__gte: -24h`), which s1pilot resolves against
// its own clock, so s1sim generates its dataset up to the real current time, and the test reads
// the instant s1pilot resolved at from the query it sent (checked to lie within the run).

#include "s1pilot/filter/evaluate.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "expectations.hpp"
#include "pilot_process.hpp"
#include "sim_process.hpp"

namespace s1pilot::integration {
namespace {

std::vector<std::string> example_playbooks() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(S1PILOT_SOURCE_DIR "/config/playbooks"))
        if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

core::timestamp real_now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// The generated dataset spreads threats over 30 days, so a narrow window (`-6h`) may select
// nothing. Copies of threats the match selects apart from its times, dated a few minutes ago,
// give every example something to act on: an empty run would prove nothing.
void ensure_recent_matches(const sim_process& sim, const config::playbook& p, std::size_t wanted) {
    dataset data(sim.dump());
    const auto now = real_now();
    const auto current = data.select(p.match.resolved(now));
    if (current.size() >= wanted) return;
    filter::threat_filter timeless = p.match;
    for (const auto& t : p.match.terms())
        if (std::holds_alternative<filter::relative_time>(t.val)) timeless.erase(t.key->name);
    json::array copies;
    for (const auto* candidate : data.select(timeless)) {
        if (std::find(current.begin(), current.end(), candidate) != current.end()) continue;
        json::object copy = *candidate;
        copy.erase("id");  // s1sim gives it a new one: a new detection of the same kind
        auto& info = copy["threatInfo"].as_object();
        const auto when = core::format_timestamp(now - std::chrono::minutes(10) -
                                                 std::chrono::seconds(static_cast<int>(copies.size())));
        info["createdAt"] = when;
        info["identifiedAt"] = when;
        info["updatedAt"] = when;
        copies.push_back(std::move(copy));
        if (current.size() + copies.size() >= wanted) break;
    }
    if (!copies.empty()) sim.add_threats(copies);
}

// (example playbook file, s1sim --answers)
using example_case = std::tuple<std::string, std::string>;

class ExamplePlaybook : public testing::TestWithParam<example_case> {};

TEST_P(ExamplePlaybook, PostsExactlyWhatTheDatasetSelectsAndNothingOnTheSecondRun) {
    const auto& [playbook_file, answers] = GetParam();
    temp_dir dir;
    pilot s1pilot(dir.path());
    sim_options options;
    options.now = core::format_timestamp(real_now());
    options.extra_args = {"--answers", answers};
    sim_process sim(dir.path(), s1pilot.token(), options);
    ASSERT_TRUE(sim.started());

    const auto file = s1pilot.copy_playbook(fs::path(S1PILOT_SOURCE_DIR "/config/playbooks") / playbook_file);
    const auto p = load_playbook(file);
    ASSERT_TRUE(p);
    ensure_recent_matches(sim, *p, 5);
    const dataset data(sim.dump());
    constexpr int batch_size = 2;  // small, so that every action takes several batches
    s1pilot.write_config({.url = sim.url(), .ca_file = sim.ca_file(), .batch_size = batch_size}, {file});

    const auto before = real_now();
    const auto first = s1pilot.once();
    const auto after = real_now();
    const auto requests = sim.requests();
    const auto resolved_at = check_resolve_query(*p, requests);
    ASSERT_TRUE(resolved_at) << first.describe();
    EXPECT_GE(*resolved_at, before - std::chrono::seconds(1));
    EXPECT_LE(*resolved_at, after);

    const auto expected = expect_run(*p, data, *resolved_at);
    const bool dry_run = p->mode == config::run_mode::dry_run;
    EXPECT_EQ(first.code, expected.held ? 4 : 0) << first.describe();
    std::vector<journal_entry> posts;
    for (const auto& r : requests)
        if (r.method == "POST") posts.push_back(r);

    const auto records = s1pilot.audit_records();
    EXPECT_EQ(count_events(records, "run.start", p->name), 1u);
    if (!expected.held) {
        EXPECT_EQ(count_events(records, "run.end", p->name), 1u);
    }
    if (expected.held) {
        EXPECT_TRUE(posts.empty()) << "a held playbook posted " << posts.front().path;
        EXPECT_EQ(count_events(records, "run.held", p->name), 1u);
    } else if (dry_run) {
        EXPECT_TRUE(posts.empty()) << "a dry-run playbook posted " << posts.front().path;
        EXPECT_FALSE(expected.acted.empty()) << "the dataset gives the dry run nothing to record";
        expect_dry_run_records(records, *p, ids_of(expected.acted));
    } else {
        EXPECT_FALSE(expected.acted.empty()) << "the dataset gives the playbook nothing to act on";
        note_context context{.run_id = last_run_id(records, p->name), .matched = expected.acted.size()};
        check_posts(*p, expected.acted, posts, batch_size, context);
        EXPECT_EQ(count_events(records, "action.intent", p->name), posts.size());
        EXPECT_EQ(count_events(records, "action.result", p->name), posts.size());
    }
    expect_audit_verifies(s1pilot.audit_path(), s1pilot.audit_key());

    // The ledger: what is done is not done again, and a held or dry run stays so.
    const auto second = s1pilot.once();
    EXPECT_EQ(second.code, expected.held ? 4 : 0) << second.describe();
    const auto posts_after = sim.posts();
    EXPECT_EQ(posts_after.size(), posts.size())
        << "the second once sent POSTs, the first to "
        << (posts_after.size() > posts.size()
                ? posts_after[posts.size()].path + " " + posts_after[posts.size()].body.substr(0, 300)
                : std::string());
    expect_audit_verifies(s1pilot.audit_path(), s1pilot.audit_key());
}

std::string test_name(const testing::TestParamInfo<example_case>& info) {
    auto name = fs::path(std::get<0>(info.param)).stem().string() + "_" + std::get<1>(info.param);
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(Examples, ExamplePlaybook,
                         testing::Combine(testing::ValuesIn(example_playbooks()),
                                          testing::Values(std::string("detailed"), std::string("minimal"))),
                         test_name);

}  // namespace
}  // namespace s1pilot::integration
