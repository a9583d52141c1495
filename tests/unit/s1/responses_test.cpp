#include "s1pilot/s1/responses.hpp"

#include "s1pilot/s1/call.hpp"

#include <gtest/gtest.h>

namespace s1pilot::s1 {
namespace {

TEST(responses, api_errors_with_title_or_message) {
    auto errors =
        parse_api_errors(R"({"errors":[{"code":4000010,"detail":"limit: must be <= 1000","title":"Validation Error"},)"
                         R"({"code":"4010010","detail":null,"message":"Authentication Failed"},"junk"]})");
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0], (api_error{4000010, "Validation Error", "limit: must be <= 1000"}));
    EXPECT_EQ(errors[1], (api_error{4010010, "Authentication Failed", ""}));
    EXPECT_EQ(to_string(errors[0]), "Validation Error (4000010): limit: must be <= 1000");
    EXPECT_EQ(to_string(errors[1]), "Authentication Failed (4010010)");
    EXPECT_TRUE(parse_api_errors("<html>bad gateway</html>").empty());
    EXPECT_TRUE(parse_api_errors(R"({"errors":{"code":1}})").empty());
}

TEST(responses, mitigation_response) {
    auto r = parse_action_response(
        R"({"data":{"affected":2,"details":[{"threatId":"1","reports":[]},)"
        R"({"threatId":"2","skipped":[{"action":"rollback-remediation","reason":"not_supported"}]}]}})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->affected, 2);
    ASSERT_EQ(r->details.size(), 2u);
    EXPECT_EQ(r->details[1].threat_id, "2");
    EXPECT_EQ(r->details[1].skipped, (std::vector<skipped_action>{{"rollback-remediation", "not_supported"}}));
    EXPECT_TRUE(r->errors.empty());
}

TEST(responses, incident_response_with_errors_on_200) {
    auto r = parse_action_response(
        R"({"data":{"affected":0,"details":[{"threatId":"1","result":"already_set","analystVerdict":"true_positive"}]},)"
        R"("errors":[{"code":4030010,"title":"Insufficient permissions","detail":"site 3"}]})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->affected, 0);
    EXPECT_EQ(r->details[0].result, "already_set");
    ASSERT_EQ(r->errors.size(), 1u);
    EXPECT_EQ(r->errors[0].code, 4030010);
}

TEST(responses, malformed_action_responses) {
    EXPECT_EQ(parse_action_response("nope").error().message, "action response: not a JSON object");
    EXPECT_EQ(parse_action_response(R"({"data":[]})").error().message, "action response: no data object");
    EXPECT_EQ(parse_action_response(R"({"data":{"affected":"3"}})").error().message,
              "action response: data.affected is not a number");
    EXPECT_EQ(parse_action_response(R"({"data":{"affected":-3}})").error().message,
              "action response: data.affected is not a count");
    const std::string deep(10000, '[');
    EXPECT_EQ(parse_action_response(deep).error().message,
              "action response: JSON nested deeper than 64 levels: refused");
    EXPECT_EQ(parse_notes_page(deep).error().message, "notes: JSON nested deeper than 64 levels: refused");
    EXPECT_TRUE(parse_api_errors(deep).empty());
    const std::string at_limit = R"({"data":{"affected":1,"x":)" + std::string(62, '[') + std::string(62, ']') + "}}";
    EXPECT_TRUE(parse_action_response(at_limit));
}

TEST(responses, notes_page) {
    auto page = parse_notes_page(R"({"data":[{"text":"first","createdAt":"2024-01-01T00:00:00Z"},{"text":"second"}],)"
                                 R"("pagination":{"nextCursor":"abc","totalItems":2}})");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->texts, (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(page->next_cursor, "abc");
    EXPECT_FALSE(parse_notes_page(R"({"data":[1]})"));
}

TEST(responses, a_note_without_a_string_text_makes_the_notes_unknown) {
    // Read as "" it would let reconciliation conclude that a note is absent and post it again.
    EXPECT_FALSE(parse_notes_page(R"({"data":[{"text":"ok"},{"createdAt":"2024-01-01T00:00:00Z"}]})"));
    EXPECT_FALSE(parse_notes_page(R"({"data":[{"text":null}]})"));
    EXPECT_FALSE(parse_notes_page(R"({"data":[{"text":42}]})"));
    auto empty_text = parse_notes_page(R"({"data":[{"text":""}]})");
    ASSERT_TRUE(empty_text);
    EXPECT_EQ(empty_text->texts, (std::vector<std::string>{""}));
}

TEST(classify, statuses_and_failures) {
    const auto now = core::timestamp{};
    auto answer = [](unsigned status, std::string body = "{}", std::string retry_after = "") {
        net::response r;
        r.status = status;
        r.body = std::move(body);
        r.retry_after = std::move(retry_after);
        return net::result<net::response>(std::move(r));
    };
    EXPECT_EQ(classify(answer(200), net::http_method::get, "/x", now).outcome, policy::outcome::success);
    auto throttled = classify(answer(429, "", "2"), net::http_method::post, "/x", now);
    EXPECT_EQ(throttled.outcome, policy::outcome::throttled);
    EXPECT_EQ(throttled.retry_after, std::chrono::milliseconds(2000));
    EXPECT_FALSE(classify(answer(429, "", "soon"), net::http_method::get, "/x", now).retry_after);
    EXPECT_EQ(classify(answer(503), net::http_method::get, "/x", now).outcome, policy::outcome::server_error);
    auto bad = classify(answer(400, R"({"errors":[{"code":4000010,"title":"Validation Error","detail":"d"}]})"),
                        net::http_method::get, "/web/api/v2.1/threats?limit=5000", now);
    EXPECT_EQ(bad.outcome, policy::outcome::client_error);
    EXPECT_EQ(bad.message, "GET /web/api/v2.1/threats: HTTP 400 Validation Error (4000010): d");
    EXPECT_EQ(classify(answer(302), net::http_method::get, "/x", now).outcome, policy::outcome::client_error);

    net::result<net::response> lost = net::failure{net::failure_kind::lost_after_send, "reset"};
    EXPECT_EQ(classify(lost, net::http_method::post, "/x", now).outcome, policy::outcome::lost_after_send);
    net::result<net::response> cert = net::failure{net::failure_kind::certificate, "bad cert"};
    EXPECT_EQ(classify(cert, net::http_method::post, "/x", now).outcome, policy::outcome::certificate);
}

TEST(redact, replaces_every_occurrence) {
    EXPECT_EQ(redact("a SECRET b SECRETSECRET", "SECRET"), "a [redacted] b [redacted][redacted]");
    EXPECT_EQ(redact("nothing", ""), "nothing");
    EXPECT_EQ(redact("xx", "x"), "[redacted][redacted]");
}

}  // namespace
}  // namespace s1pilot::s1
