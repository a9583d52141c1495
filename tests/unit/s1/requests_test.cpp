// Exact request targets and bodies, and the refusal of filters that would select everything.

#include "s1pilot/s1/requests.hpp"

#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/keys.hpp"

#include <gtest/gtest.h>

namespace s1pilot::s1 {
namespace {

filter::threat_filter scoped(filter::string_list ids) {
    filter::threat_filter f;
    f.set(*filter::find_key("ids"), std::move(ids));
    f.set(*filter::find_key("siteIds"), filter::string_list{"1364475734565842019"});
    return f;
}

TEST(requests, list_threats_first_and_next_page) {
    filter::threat_filter f;
    f.set(*filter::find_key("siteIds"), filter::string_list{"11", "22"});
    f.set(*filter::find_key("confidenceLevels"), filter::string_list{"malicious"});
    EXPECT_EQ(
        list_threats_target(f, {}),
        "/web/api/v2.1/threats?siteIds=11,22&confidenceLevels=malicious&sortBy=createdAt&sortOrder=asc&limit=1000");
    page_request next;
    next.cursor = "YWdlbnRfaWQ6NTgwMjkzODE=";
    next.limit = 500;
    EXPECT_EQ(list_threats_target(f, next),
              "/web/api/v2.1/threats?siteIds=11,22&confidenceLevels=malicious&sortBy=createdAt&sortOrder=asc"
              "&limit=500&cursor=YWdlbnRfaWQ6NTgwMjkzODE%3D");
}

TEST(requests, list_without_filter_and_count) {
    EXPECT_EQ(list_threats_target({}, {}), "/web/api/v2.1/threats?sortBy=createdAt&sortOrder=asc&limit=1000");
    filter::threat_filter f;
    f.set(*filter::find_key("groupIds"), filter::string_list{"5"});
    EXPECT_EQ(count_threats_target(f), "/web/api/v2.1/threats?groupIds=5&countOnly=true&limit=1");
}

TEST(requests, the_filters_limit_is_never_sent_in_a_get) {
    // The API refuses `limit` given twice: the page size is the only `limit` of a GET.
    filter::threat_filter f;
    f.set(*filter::find_key("siteIds"), filter::string_list{"11"});
    f.set(*filter::find_key("limit"), std::int64_t{3});
    EXPECT_EQ(list_threats_target(f, {}), "/web/api/v2.1/threats?siteIds=11&sortBy=createdAt&sortOrder=asc&limit=1000");
    EXPECT_EQ(count_threats_target(f), "/web/api/v2.1/threats?siteIds=11&countOnly=true&limit=1");
    // An action body keeps it (the seeds' bulk form).
    auto verdict = verdict_request(f, analyst_verdict::true_positive);
    ASSERT_TRUE(verdict);
    EXPECT_NE(verdict->body.find(R"("limit":3)"), std::string::npos) << verdict->body;
}

TEST(requests, notes_target) {
    EXPECT_EQ(notes_target(1596270471532451327u), "/web/api/v2.1/threats/1596270471532451327/notes?limit=1000");
    EXPECT_EQ(notes_target(7, "a+b/c="), "/web/api/v2.1/threats/7/notes?limit=1000&cursor=a%2Bb%2Fc%3D");
}

TEST(requests, mitigation_bodies) {
    auto kill = mitigate_request(mitigation_action::kill, scoped({"1", "2"}));
    ASSERT_TRUE(kill);
    EXPECT_EQ(kill->target, "/web/api/v2.1/threats/mitigate/kill");
    EXPECT_EQ(kill->body, R"({"filter":{"ids":["1","2"],"siteIds":["1364475734565842019"]},"data":{}})");
    EXPECT_EQ(mitigate_request(mitigation_action::rollback_remediation, scoped({"1"}))->target,
              "/web/api/v2.1/threats/mitigate/rollback-remediation");
    EXPECT_EQ(mitigate_request(mitigation_action::un_quarantine, scoped({"1"}))->target,
              "/web/api/v2.1/threats/mitigate/un-quarantine");
    EXPECT_EQ(mitigate_request(mitigation_action::network_quarantine, scoped({"1"}))->target,
              "/web/api/v2.1/threats/mitigate/network-quarantine");
}

TEST(requests, incident_verdict_note_ticket_bodies) {
    const auto f = scoped({"9"});
    const std::string filter_json = R"({"ids":["9"],"siteIds":["1364475734565842019"]})";
    auto incident = incident_request(f, incident_status::in_progress, analyst_verdict::true_positive);
    EXPECT_EQ(incident->target, "/web/api/v2.1/threats/incident");
    EXPECT_EQ(incident->body, R"({"filter":)" + filter_json +
                                  R"(,"data":{"incidentStatus":"in_progress","analystVerdict":"true_positive"}})");
    EXPECT_EQ(incident_request(f, incident_status::resolved)->body,
              R"({"filter":)" + filter_json + R"(,"data":{"incidentStatus":"resolved"}})");
    auto verdict = verdict_request(f, analyst_verdict::false_positive);
    EXPECT_EQ(verdict->target, "/web/api/v2.1/threats/analyst-verdict");
    EXPECT_EQ(verdict->body, R"({"filter":)" + filter_json + R"(,"data":{"analystVerdict":"false_positive"}})");
    auto note = note_request(f, "Contained by \"s1pilot\"\n");
    EXPECT_EQ(note->target, "/web/api/v2.1/threats/notes");
    EXPECT_EQ(note->body, R"({"filter":)" + filter_json + R"(,"data":{"text":"Contained by \"s1pilot\"\n"}})");
    auto ticket = external_ticket_request(f, "INC-42");
    EXPECT_EQ(ticket->target, "/web/api/v2.1/threats/external-ticket-id");
    EXPECT_EQ(ticket->body, R"({"filter":)" + filter_json + R"(,"data":{"externalTicketId":"INC-42"}})");
}

TEST(requests, agent_network_bodies) {
    filter::threat_filter agents;
    agents.set(*filter::find_key("ids"), filter::string_list{"1559342436290084702"});
    agents.set(*filter::find_key("accountIds"), filter::string_list{"3"});
    auto isolate = agent_network_request(agents, true);
    EXPECT_EQ(isolate->target, "/web/api/v2.1/agents/actions/disconnect");
    EXPECT_EQ(isolate->body, R"({"filter":{"ids":["1559342436290084702"],"accountIds":["3"]},"data":{}})");
    EXPECT_EQ(agent_network_request(agents, false)->target, "/web/api/v2.1/agents/actions/connect");
}

TEST(requests, filters_that_select_everything_are_refused) {
    const filter::threat_filter empty;
    EXPECT_EQ(mitigate_request(mitigation_action::kill, empty).error(), core::errc::empty_filter);
    EXPECT_EQ(incident_request(empty, incident_status::resolved).error(), core::errc::empty_filter);
    EXPECT_EQ(verdict_request(empty, analyst_verdict::true_positive).error(), core::errc::empty_filter);
    EXPECT_EQ(note_request(empty, "x").error(), core::errc::empty_filter);
    EXPECT_EQ(external_ticket_request(empty, "x").error(), core::errc::empty_filter);
    EXPECT_EQ(agent_network_request(empty, true).error(), core::errc::empty_filter);

    filter::threat_filter only_limit;
    only_limit.set(*filter::find_key("limit"), std::int64_t{5});
    only_limit.set(*filter::find_key("countsFor"), std::string("x"));
    EXPECT_EQ(check_action_filter(only_limit), core::errc::empty_filter);

    filter::threat_filter empty_ids;
    empty_ids.set(*filter::find_key("ids"), filter::string_list{});
    empty_ids.set(*filter::find_key("siteIds"), filter::string_list{"1"});
    EXPECT_EQ(check_action_filter(empty_ids), core::errc::empty_filter);

    EXPECT_FALSE(check_action_filter(scoped({"1"})));
}

TEST(requests, vocabulary_round_trips) {
    for (auto a : {mitigation_action::kill, mitigation_action::quarantine, mitigation_action::remediate,
                   mitigation_action::rollback_remediation, mitigation_action::un_quarantine,
                   mitigation_action::network_quarantine}) {
        EXPECT_EQ(parse_mitigation_action(endpoint_name(a)), a);
        EXPECT_EQ(parse_mitigation_action(status_name(a)), a);
    }
    EXPECT_EQ(status_name(mitigation_action::rollback_remediation), "rollback");
    EXPECT_EQ(parse_os_type("linux"), os_type::linux_);
    EXPECT_FALSE(parse_incident_status("In Progress"));
    EXPECT_EQ(parse_object_id("1596270471532451327"), 1596270471532451327u);
    EXPECT_FALSE(parse_object_id("0123"));
    EXPECT_FALSE(parse_object_id("-1"));
    EXPECT_FALSE(parse_object_id("99999999999999999999"));
    EXPECT_EQ(to_string_id(42), "42");
}

}  // namespace
}  // namespace s1pilot::s1
