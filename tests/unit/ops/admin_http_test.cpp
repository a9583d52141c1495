#include "s1pilot/ops/admin_http.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <string>

namespace s1pilot::ops {
namespace {

constexpr std::string_view token = "s3cret-admin-token";

admin_request post(std::string target, std::string body, std::string auth = "Bearer s3cret-admin-token") {
    return {"POST", std::move(target), std::move(auth), "application/json", std::move(body)};
}

admin_request get(std::string target) {
    return {"GET", std::move(target), {}, {}, {}};
}

/// The refusal's status and its error text; fails the test when the request was routed.
std::pair<int, std::string> refused(const admin_request& r, std::string_view with_token = token) {
    auto routed = route_request(r, with_token);
    const auto* answer = std::get_if<admin_response>(&routed);
    if (answer == nullptr) {
        ADD_FAILURE() << "routed, not refused: " << r.method << " " << r.target;
        return {0, {}};
    }
    EXPECT_EQ(answer->content_type, "application/json");
    return {answer->status, answer->body};
}

admin_route routed(const admin_request& r) {
    auto out = route_request(r, token);
    const auto* route = std::get_if<admin_route>(&out);
    if (route == nullptr) {
        ADD_FAILURE() << "refused: " << std::get<admin_response>(out).body;
        return {};
    }
    return *route;
}

TEST(admin_routes, get_routes_need_no_token) {
    EXPECT_EQ(routed(get("/healthz")).kind, route_kind::healthz);
    EXPECT_EQ(routed(get("/readyz")).kind, route_kind::readyz);
    EXPECT_EQ(routed(get("/metrics")).kind, route_kind::metrics);
    EXPECT_EQ(routed(get("/v1/status")).kind, route_kind::status);
}

TEST(admin_routes, an_event_names_its_threats_and_the_wait_flag) {
    auto r = routed(post("/v1/events?wait=true", R"({"threatIds":["22","11",33,"22"]})"));
    EXPECT_EQ(r.kind, route_kind::events);
    EXPECT_TRUE(r.wait);
    ASSERT_TRUE(r.threat_ids);
    EXPECT_EQ(*r.threat_ids, (std::vector<std::string>{"11", "22", "33"}));  // sorted, once each
}

TEST(admin_routes, a_playbook_run_is_whole_without_a_body_and_restricted_with_one) {
    auto whole = routed(post("/v1/playbooks/contain-ransomware/run", ""));
    EXPECT_EQ(whole.kind, route_kind::run_playbook);
    EXPECT_EQ(whole.playbook, "contain-ransomware");
    EXPECT_FALSE(whole.threat_ids);
    auto some = routed(post("/v1/playbooks/contain-ransomware/run", R"({"threatIds":["7"]})"));
    EXPECT_EQ(some.threat_ids, std::vector<std::string>{"7"});
}

TEST(admin_routes, posts_without_the_right_bearer_token_are_401_before_the_body_is_read) {
    const std::string garbage = "{{{not json";
    auto [no_token, body1] = refused(post("/v1/events", garbage, ""));
    EXPECT_EQ(no_token, 401);
    EXPECT_NE(body1.find("missing Authorization"), std::string::npos) << body1;
    auto [wrong, body2] = refused(post("/v1/events", garbage, "Bearer s3cret-admin-tokeN"));
    EXPECT_EQ(wrong, 401);
    EXPECT_NE(body2.find("not the admin token"), std::string::npos) << body2;
    EXPECT_EQ(refused(post("/v1/events", garbage, "Basic czNjcmV0")).first, 401);
    EXPECT_EQ(refused(post("/v1/events", garbage, "Bearer ")).first, 401);
    // No token configured: every POST is refused, whatever it carries.
    auto [disabled, body3] = refused(post("/v1/events", R"({"threatIds":["1"]})"), "");
    EXPECT_EQ(disabled, 401);
    EXPECT_NE(body3.find("no admin.token is configured"), std::string::npos) << body3;
}

TEST(admin_routes, the_token_never_appears_in_a_refusal) {
    for (const auto& auth : {"Bearer wrong", "", "Bearer s3cret-admin-token-and-more"}) {
        auto [status, body] = refused(post("/v1/events", "x", auth));
        EXPECT_EQ(body.find(token), std::string::npos) << body;
    }
}

TEST(admin_routes, bad_bodies_are_400_naming_the_problem) {
    const std::pair<std::string, std::string> cases[] = {
        {"garbage", "not JSON"},
        {"[1,2]", "expected a JSON object"},
        {R"({"threatIds":"1"})", "expected an array"},
        {R"({"threatIds":[]})", "at least one"},
        {R"({"threatIds":["12a"]})", "threatIds[0]: expected a decimal threat id"},
        {R"({"threatIds":[-4]})", "threatIds[0]"},
        {R"({"threatIds":[1.5]})", "threatIds[0]"},
        {R"({"threatIds":["1"],"extra":1})", "unknown field 'extra'"},
        {R"([[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]])", "not JSON"},
    };
    for (const auto& [body, expected] : cases) {
        auto [status, text] = refused(post("/v1/events", body));
        EXPECT_EQ(status, 400) << body;
        EXPECT_NE(text.find(expected), std::string::npos) << body << " -> " << text;
    }
    std::string many = R"({"threatIds":[)";
    for (int i = 0; i < 1001; ++i) many += (i ? "," : "") + std::to_string(i + 1);
    many += "]}";
    auto [status, text] = refused(post("/v1/events", many));
    EXPECT_EQ(status, 400);
    EXPECT_NE(text.find("at most 1000"), std::string::npos) << text;
    EXPECT_EQ(refused(post("/v1/events?wait=maybe", R"({"threatIds":["1"]})")).first, 400);
    EXPECT_EQ(refused(post("/v1/events?verbose=1", R"({"threatIds":["1"]})")).first, 400);
}

TEST(admin_routes, unknown_routes_are_404_and_wrong_methods_405_with_allow) {
    EXPECT_EQ(refused(get("/")).first, 404);
    EXPECT_EQ(refused(get("/v1/playbooks//run")).first, 404);
    EXPECT_EQ(refused(post("/v1/playbooks/a/b/run", "")).first, 404);
    auto out = route_request(get("/v1/events"), token);
    const auto& answer = std::get<admin_response>(out);
    EXPECT_EQ(answer.status, 405);
    ASSERT_EQ(answer.headers.size(), 1u);
    EXPECT_EQ(answer.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
    EXPECT_EQ(refused(post("/metrics", "")).first, 405);
    EXPECT_EQ(refused({"DELETE", "/healthz", {}, {}, {}}).first, 405);
}

// Found by fuzzing (tests/fuzz/admin_request_fuzz.cpp): a byte that is not UTF-8 in the target,
// or a UTF-8 character cut by the length limit, was echoed into the body verbatim, which then was
// not JSON. Echoed client bytes are now printable ASCII, anything else shown as '?'.
TEST(admin_routes, a_refusal_echoing_the_request_is_always_json) {
    const std::string cut = "/" + std::string(199, 'a') + "\xc3\xa9";  // é straddles the 200-byte limit
    const std::string weird = "/\xb4\x01";
    for (const auto& r : {get(weird), get(cut), post("/v1/events?\xff=1", R"({"threatIds":["1"]})"),
                          post("/v1/events?wait=\xe2\x82", R"({"threatIds":["1"]})")}) {
        auto [status, body] = refused(r);
        boost::system::error_code ec;
        const auto parsed = boost::json::parse(body, ec);
        ASSERT_FALSE(ec) << body;
        EXPECT_EQ(parsed.as_object().at("status").as_int64(), status);
    }
    EXPECT_EQ(boost::json::parse(refused(get(weird)).second).as_object().at("error").as_string(), "no such route: /??");
    EXPECT_EQ(
        boost::json::parse(refused(post("/v1/events?wait=\xe2\x82", "")).second).as_object().at("error").as_string(),
        R"(wait must be true or false, not '??')");
}

TEST(admin_routes, bearer_matching_is_exact_and_the_scheme_case_insensitive) {
    EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
    EXPECT_TRUE(bearer_matches("bearer abc", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abc", ""));
    EXPECT_FALSE(bearer_matches("abc", "abc"));
}

}  // namespace
}  // namespace s1pilot::ops
