// Limits and modes of a run (DESIGN §4) seen from the console: `hold` and dry runs send nothing,
// `first` acts on the oldest N, `target: filter` sends the match itself after a count, and
// `plan` only reads. Fixture playbooks (tests/data/integration) have no relative times, so the
// expected requests follow from the pinned dataset alone.

#include "s1pilot/filter/wire.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

TEST(Limits, HoldActsOnNoneAndExitsFour) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("hold.yaml");
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(s.sim->dump());
    auto expected = expect_run(*p, data, pinned_instant());
    ASSERT_GT(expected.matched.size(), static_cast<std::size_t>(p->limits.max_threats)) << "the fixture must exceed";
    ASSERT_TRUE(expected.held);
    s.configure({file});

    auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 4) << run.describe();
    EXPECT_TRUE(s.sim->posts().empty());
    check_resolve_query(*p, s.sim->requests());
    auto records = s.s1pilot.audit_records();
    EXPECT_EQ(count_events(records, "run.held", p->name), 1u);
    EXPECT_EQ(count_events(records, "action.intent", p->name), 0u);
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

TEST(Limits, FirstActsOnTheOldestMaxThreatsInBatches) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("first.yaml");
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(s.sim->dump());
    auto expected = expect_run(*p, data, pinned_instant());
    const auto max = static_cast<std::size_t>(p->limits.max_threats);
    ASSERT_GT(expected.matched.size(), max) << "the fixture must exceed max_threats";
    ASSERT_EQ(expected.acted.size(), max);
    // "The oldest" must be unambiguous for the comparison to be exact.
    ASSERT_NE(field(*expected.matched[max - 1], {"threatInfo", "createdAt"}),
              field(*expected.matched[max], {"threatInfo", "createdAt"}));
    constexpr int batch_size = 3;
    s.configure({file}, batch_size);

    auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 0) << run.describe();
    check_resolve_query(*p, s.sim->requests());
    auto records = s.s1pilot.audit_records();
    note_context context{.run_id = last_run_id(records, p->name), .matched = max};
    auto posts = s.sim->posts();
    // 7 threats in batches of 3, for each of the two actions.
    EXPECT_EQ(posts.size(), 6u);
    check_posts(*p, expected.acted, posts, batch_size, context);
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

TEST(DryRun, ModeDryRunPostsNothingAndRecordsEveryRequest) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("dry-run.yaml");
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(s.sim->dump());
    auto expected = expect_run(*p, data, pinned_instant());
    ASSERT_FALSE(expected.acted.empty());
    s.configure({file});

    auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 0) << run.describe();
    EXPECT_TRUE(s.sim->posts().empty());
    expect_dry_run_records(s.s1pilot.audit_records(), *p, ids_of(expected.acted));
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

TEST(DryRun, FlagForcesDryRunAndLeavesEverythingToTheRealRun) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("first.yaml");
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(s.sim->dump());
    auto expected = expect_run(*p, data, pinned_instant());
    s.configure({file});

    auto dry = s.s1pilot.once({"--dry-run"});
    EXPECT_EQ(dry.code, 0) << dry.describe();
    EXPECT_TRUE(s.sim->posts().empty());
    expect_dry_run_records(s.s1pilot.audit_records(), *p, ids_of(expected.acted));

    // The dry run marked nothing done: the real run acts on every threat.
    auto real = s.s1pilot.once();
    EXPECT_EQ(real.code, 0) << real.describe();
    note_context context{.run_id = last_run_id(s.s1pilot.audit_records(), p->name), .matched = expected.acted.size()};
    check_posts(*p, expected.acted, s.sim->posts(), 100, context);
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

// The bulk form's filter, normalised through the filter module so that equal filters written
// differently (a time with or without fraction digits) compare equal.
json::value normalised_filter(const json::object& body_filter) {
    std::vector<core::diagnostic> problems;
    auto parsed = filter::from_json(body_filter, problems);
    EXPECT_TRUE(parsed) << "s1sim could not read this filter: " << json::serialize(body_filter);
    return parsed ? json::value(filter::to_json(*parsed)) : json::value(body_filter);
}

// The countOnly GET of a `target: filter` run, checked to carry the match.
std::size_t expect_count_query(const config::playbook& p, const std::vector<journal_entry>& requests) {
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = requests[i];
        if (r.method != "GET" || !contains(r.query, "countOnly=true")) continue;
        std::vector<core::diagnostic> problems;
        auto parsed = filter::parse_query(r.query, problems);
        EXPECT_TRUE(parsed) << r.query;
        if (parsed) {
            EXPECT_EQ(filter::to_json(parsed->filter), filter::to_json(p.match)) << r.query;
        }
        return i;
    }
    ADD_FAILURE() << "no countOnly GET in the journal";
    return requests.size();
}

TEST(TargetFilter, SendsTheMatchAsEachActionsFilterAfterACount) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("target-filter.yaml");
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(s.sim->dump());
    auto expected = expect_run(*p, data, pinned_instant());
    ASSERT_FALSE(expected.held);
    ASSERT_FALSE(expected.acted.empty());
    s.configure({file});

    auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 0) << run.describe();
    auto requests = s.sim->requests();
    auto count_at = expect_count_query(*p, requests);
    std::vector<journal_entry> posts;
    for (std::size_t i = 0; i < requests.size(); ++i)
        if (requests[i].method == "POST") {
            EXPECT_GT(i, count_at) << "a POST before the count check";
            posts.push_back(requests[i]);
        }
    ASSERT_EQ(posts.size(), p->actions.size()) << "one POST per action";
    const json::object want_data[] = {{{"analystVerdict", "suspicious"}},
                                      {{"text", "Bulk-triaged by it-target-filter"}}};
    for (std::size_t i = 0; i < posts.size(); ++i) {
        SCOPED_TRACE(posts[i].body);
        EXPECT_EQ(posts[i].path, action_path(p->actions[i]));
        EXPECT_EQ(posts[i].status, 200);
        auto body = json::parse(posts[i].body).as_object();
        const auto& sent = body.at("filter").as_object();
        EXPECT_FALSE(sent.contains("ids")) << "the bulk form sends the match, not a list of ids";
        EXPECT_EQ(normalised_filter(sent), json::value(filter::to_json(p->match)));
        EXPECT_EQ(body.at("data"), json::value(want_data[i]));
    }
    // Every threat the match selects got the verdict and the note, and no other did.
    dataset after(s.sim->dump());
    std::size_t suspicious_notes = 0;
    for (const auto& t : after.threats()) {
        auto notes = after.notes(field(t.as_object(), {"id"}));
        suspicious_notes += std::count(notes.begin(), notes.end(), "Bulk-triaged by it-target-filter");
    }
    EXPECT_EQ(suspicious_notes, expected.acted.size());
    for (const auto* t : expected.acted)
        EXPECT_EQ(field(*after.find(field(*t, {"id"})), {"threatInfo", "analystVerdict"}), "suspicious");
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

TEST(TargetFilter, OverTheLimitIsHeldAfterTheCount) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto file = s.fixture("target-filter-held.yaml");
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    const dataset data(s.sim->dump());
    ASSERT_TRUE(expect_run(*p, data, pinned_instant()).held);
    s.configure({file});

    auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 4) << run.describe();
    expect_count_query(*p, s.sim->requests());
    EXPECT_TRUE(s.sim->posts().empty());
    EXPECT_EQ(count_events(s.s1pilot.audit_records(), "run.held", p->name), 1u);
}

TEST(Plan, NamesEveryPlaybookAndOnlyReads) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.configure({s.fixture("first.yaml"), s.fixture("dry-run.yaml")});
    auto run = s.s1pilot.run({"plan", "-c", s.s1pilot.config_path().string()});
    EXPECT_EQ(run.code, 0) << run.describe();
    EXPECT_TRUE(contains(run.out, "it-first")) << run.out;
    EXPECT_TRUE(contains(run.out, "it-dry-run")) << run.out;
    EXPECT_TRUE(s.sim->posts().empty());
    EXPECT_FALSE(s.sim->requests().empty()) << "plan resolves the matches for real";
}

}  // namespace
}  // namespace s1pilot::integration
