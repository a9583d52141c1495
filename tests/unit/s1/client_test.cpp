// The s1 client's retry loop against a scripted transport and a manual clock: no sockets, no
// real sleeps. Every test also proves the API token never reaches a message.

#include "s1pilot/s1/client.hpp"

#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/keys.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <deque>

#include "../net/run_bounded.hpp"

namespace s1pilot::s1 {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using s1pilot::test::run_bounded;

constexpr std::string_view canary = "CANARY-6f1e0c1a-token";

class scripted_transport final : public net::transport {
public:
    std::deque<net::result<net::response>> answers;
    std::vector<net::request> sent;

    asio::awaitable<net::result<net::response>> send(net::request req) override {
        sent.push_back(req);
        if (answers.empty()) co_return net::failure{net::failure_kind::not_sent, "nothing scripted"};
        auto next = std::move(answers.front());
        answers.pop_front();
        co_return next;
    }

    void answer(unsigned status, std::string body = "{}", std::string retry_after = {}) {
        net::response r;
        r.status = status;
        r.body = std::move(body);
        r.retry_after = std::move(retry_after);
        r.request_id = "rq-" + std::to_string(answers.size() + 1);
        answers.emplace_back(std::move(r));
    }
    void fail(net::failure_kind kind, std::string message) {
        answers.emplace_back(net::failure{kind, std::move(message)});
    }
};

filter::threat_filter one_threat() {
    filter::threat_filter f;
    f.set(*filter::find_key("ids"), filter::string_list{"42"});
    f.set(*filter::find_key("siteIds"), filter::string_list{"7"});
    return f;
}

std::string page_body(std::vector<std::string> ids, std::optional<std::string> cursor) {
    std::string body = R"({"data":[)";
    for (std::size_t i = 0; i < ids.size(); ++i) body += (i ? "," : "") + std::string(R"({"id":")") + ids[i] + "\"}";
    body += R"(],"pagination":{"nextCursor":)" + (cursor ? "\"" + *cursor + "\"" : std::string("null")) +
            R"(,"totalItems":0}})";
    return body;
}

template <class T>
void expect_no_token(const call_result<T>& r) {
    auto check = [](const std::string& text) { EXPECT_EQ(text.find(canary), std::string::npos) << text; };
    check(r.error.message);
    check(r.target);
    for (const auto& e : r.error.api_errors) {
        check(e.title);
        check(e.detail);
    }
    for (const auto& a : r.attempts) {
        check(a.error);
        check(a.request_id);
    }
}

class client_test : public ::testing::Test {
protected:
    client_test() {
        settings_.token = std::string(canary);
        settings_.retry = {5, 500ms, 30'000ms};
        settings_.call_deadline = 600s;
    }

    client make_client() {
        return client(
            transport_, settings_, {read_, write_, budget_}, clock_,
            [this](std::chrono::nanoseconds d) -> asio::awaitable<void> {
                slept_ += d;
                clock_.advance(std::chrono::duration_cast<std::chrono::microseconds>(d));
                co_return;
            },
            [] { return 0.5; });
    }

    template <class T>
    call_result<T> run(asio::awaitable<call_result<T>> work) {
        auto r = run_bounded(ioc_, std::move(work));
        if (!r) throw std::runtime_error("timed out");
        expect_no_token(*r);
        return std::move(*r);
    }

    asio::io_context ioc_{1};
    core::manual_clock clock_{core::timestamp{std::chrono::seconds(1'700'000'000)}};
    policy::rate_limiter read_{{1000, 1000}, clock_.steady_now()};
    policy::rate_limiter write_{{1000, 1000}, clock_.steady_now()};
    policy::retry_budget budget_{clock_.steady_now()};
    client_settings settings_;
    scripted_transport transport_;
    std::chrono::nanoseconds slept_{0};
};

TEST_F(client_test, get_sends_the_token_and_parses_the_page) {
    transport_.answer(200, page_body({"1", "2"}, std::nullopt));
    auto c = make_client();
    auto r = run(c.list_threats(one_threat()));
    ASSERT_TRUE(r.ok()) << r.error.message;
    EXPECT_EQ(r.value->threats.size(), 2u);
    ASSERT_EQ(transport_.sent.size(), 1u);
    const auto& req = transport_.sent[0];
    EXPECT_EQ(req.method, net::http_method::get);
    EXPECT_EQ(req.target, "/web/api/v2.1/threats?ids=42&siteIds=7&sortBy=createdAt&sortOrder=asc&limit=1000");
    ASSERT_EQ(req.headers.size(), 1u);
    EXPECT_EQ(req.headers[0].first, "Authorization");
    EXPECT_EQ(req.headers[0].second, "ApiToken " + std::string(canary));
    EXPECT_TRUE(req.deadline.has_value());
    ASSERT_EQ(r.attempts.size(), 1u);
    EXPECT_EQ(r.attempts[0].http_status, 200u);
    EXPECT_EQ(r.attempts[0].request_id, "rq-1");
}

TEST_F(client_test, get_is_retried_after_5xx_and_reset) {
    transport_.answer(503);
    transport_.fail(net::failure_kind::lost_after_send, "connection reset");
    transport_.answer(200, page_body({}, std::nullopt));
    auto c = make_client();
    auto r = run(c.list_threats(one_threat()));
    ASSERT_TRUE(r.ok()) << r.error.message;
    ASSERT_EQ(r.attempts.size(), 3u);
    EXPECT_EQ(r.attempts[0].outcome, policy::outcome::server_error);
    EXPECT_EQ(r.attempts[0].http_status, 503u);
    EXPECT_EQ(r.attempts[1].outcome, policy::outcome::lost_after_send);
    EXPECT_EQ(r.attempts[1].http_status, 0u);
    EXPECT_EQ(r.attempts[2].number, 3);
    EXPECT_GT(r.attempts[1].waited, 0ms);  // full jitter at 0.5 of 500 ms
}

TEST_F(client_test, get_gives_up_after_max_attempts) {
    for (int i = 0; i < 10; ++i) transport_.answer(503);
    auto c = make_client();
    auto r = run(c.count_threats(one_threat()));
    EXPECT_EQ(r.status, call_status::failed);
    EXPECT_EQ(transport_.sent.size(), 5u);
    EXPECT_EQ(r.error.code, core::errc::api_error);
    EXPECT_NE(r.error.message.find("attempts exhausted"), std::string::npos) << r.error.message;
}

TEST_F(client_test, call_deadline_ends_the_retries) {
    settings_.call_deadline = 2s;
    settings_.retry = {50, 1000ms, 1000ms};
    for (int i = 0; i < 50; ++i) transport_.fail(net::failure_kind::not_sent, "refused");
    auto c = make_client();
    auto r = run(c.count_threats(one_threat()));
    EXPECT_EQ(r.status, call_status::failed);
    EXPECT_LT(transport_.sent.size(), 10u);
    EXPECT_NE(r.error.message.find("call deadline of 2s"), std::string::npos) << r.error.message;
    EXPECT_LE(slept_, 2s);
}

TEST_F(client_test, ambiguous_post_is_never_resent) {
    transport_.fail(net::failure_kind::lost_after_send, "POST localhost:1: connection lost");
    transport_.answer(200, R"({"data":{"affected":1}})");
    auto c = make_client();
    auto r = run(c.add_note(one_threat(), "Contained"));
    EXPECT_EQ(r.status, call_status::reconcile_needed);
    EXPECT_EQ(transport_.sent.size(), 1u);
    EXPECT_EQ(r.error.outcome, policy::outcome::lost_after_send);

    transport_.answers.clear();
    transport_.answer(502);
    auto server_error = run(c.mitigate(mitigation_action::kill, one_threat()));
    EXPECT_EQ(server_error.status, call_status::reconcile_needed);
    EXPECT_EQ(transport_.sent.size(), 2u);
}

TEST_F(client_test, post_with_an_oversized_answer_needs_reconciling) {
    transport_.answers.emplace_back(net::failure{net::failure_kind::local_error, "body exceeds the limit", true});
    auto c = make_client();
    auto r = run(c.mitigate(mitigation_action::kill, one_threat()));
    EXPECT_EQ(r.status, call_status::reconcile_needed);
    EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(client_test, post_not_sent_is_retried) {
    transport_.fail(net::failure_kind::not_sent, "connecting to localhost:1: Connection refused");
    transport_.answer(200, R"({"data":{"affected":3,"details":[{"threatId":"42","result":"updated"}]}})");
    auto c = make_client();
    auto r = run(c.set_incident(one_threat(), incident_status::in_progress, analyst_verdict::true_positive));
    ASSERT_TRUE(r.ok()) << r.error.message;
    EXPECT_EQ(r.value->affected, 3);
    EXPECT_EQ(r.value->details[0].result, "updated");
    ASSERT_EQ(transport_.sent.size(), 2u);
    EXPECT_EQ(transport_.sent[1].body, transport_.sent[0].body);
    EXPECT_EQ(transport_.sent[1].target, "/web/api/v2.1/threats/incident");
    EXPECT_EQ(r.attempts.size(), 2u);
}

TEST_F(client_test, throttled_post_waits_for_retry_after) {
    transport_.answer(429, R"({"errors":[{"code":4290010,"title":"Too many requests"}]})", "2");
    transport_.answer(200, R"({"data":{"affected":1}})");
    auto c = make_client();
    auto r = run(c.mitigate(mitigation_action::quarantine, one_threat()));
    ASSERT_TRUE(r.ok()) << r.error.message;
    ASSERT_EQ(r.attempts.size(), 2u);
    EXPECT_EQ(r.attempts[0].outcome, policy::outcome::throttled);
    EXPECT_GE(r.attempts[1].waited, 2000ms);
    EXPECT_LE(r.attempts[1].waited, 2250ms);
    EXPECT_LT(write_.current_rate(clock_.steady_now()), 1000.0);  // the bucket slowed down
}

TEST_F(client_test, client_errors_and_certificates_are_not_retried) {
    transport_.answer(400, R"({"errors":[{"code":4000010,"title":"Validation Error","detail":"bad ids"}]})");
    auto c = make_client();
    auto r = run(c.set_verdict(one_threat(), analyst_verdict::true_positive));
    EXPECT_EQ(r.status, call_status::failed);
    EXPECT_EQ(r.error.code, core::errc::api_error);
    ASSERT_EQ(r.error.api_errors.size(), 1u);
    EXPECT_EQ(r.error.api_errors[0].detail, "bad ids");
    EXPECT_NE(r.error.message.find("HTTP 400 Validation Error (4000010): bad ids"), std::string::npos)
        << r.error.message;

    transport_.fail(net::failure_kind::certificate, "TLS: the certificate of x:443 did not verify");
    auto cert = run(c.list_threats(one_threat()));
    EXPECT_EQ(cert.status, call_status::failed);
    EXPECT_EQ(cert.error.outcome, policy::outcome::certificate);
    EXPECT_EQ(transport_.sent.size(), 2u);
}

TEST_F(client_test, empty_filter_is_refused_without_io) {
    auto c = make_client();
    const filter::threat_filter empty;
    for (auto r :
         {run(c.mitigate(mitigation_action::kill, empty)), run(c.add_note(empty, "x")),
          run(c.set_incident(empty, incident_status::resolved, std::nullopt)), run(c.set_agent_network(empty, true))}) {
        EXPECT_EQ(r.status, call_status::failed);
        EXPECT_EQ(r.error.code, core::errc::empty_filter);
        EXPECT_TRUE(r.attempts.empty());
    }
    EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(client_test, post_2xx_with_unreadable_body_needs_reconciling) {
    transport_.answer(200, "<html>OK</html>");
    auto c = make_client();
    auto r = run(c.mitigate(mitigation_action::kill, one_threat()));
    EXPECT_EQ(r.status, call_status::reconcile_needed);
    EXPECT_EQ(r.error.code, core::errc::bad_response);
}

TEST_F(client_test, token_echoed_by_the_console_is_redacted) {
    const std::string t(canary);
    transport_.answer(401, R"({"errors":[{"code":4010010,"title":"Authentication Failed for )" + t +
                               R"(","detail":"token )" + t + R"( expired"}]})");
    auto c = make_client();
    auto r = run(c.list_threats(one_threat()));  // expect_no_token runs inside run()
    EXPECT_EQ(r.status, call_status::failed);
    EXPECT_NE(r.error.message.find("[redacted]"), std::string::npos) << r.error.message;

    net::response echo;
    echo.status = 500;
    echo.request_id = t;
    transport_.answers.emplace_back(echo);
    transport_.fail(net::failure_kind::local_error, "weird " + t);
    run(c.list_threats(one_threat()));
}

TEST_F(client_test, pages_follow_the_cursor_and_tolerate_an_empty_last_page) {
    transport_.answer(200, page_body({"1", "2"}, "c1=="));
    transport_.answer(200, page_body({"3"}, "c2+/"));
    transport_.answer(200, page_body({}, std::nullopt));
    auto c = make_client();
    std::vector<object_id> ids;
    auto r = run(c.for_each_page(one_threat(), [&](threat_page& p) {
        for (auto& t : p.threats) ids.push_back(t.id);
        return true;
    }));
    ASSERT_TRUE(r.ok()) << r.error.message;
    EXPECT_EQ(*r.value, 3u);
    EXPECT_EQ(ids, (std::vector<object_id>{1, 2, 3}));
    ASSERT_EQ(transport_.sent.size(), 3u);
    EXPECT_NE(transport_.sent[1].target.find("&cursor=c1%3D%3D"), std::string::npos) << transport_.sent[1].target;
    EXPECT_NE(transport_.sent[2].target.find("&cursor=c2%2B%2F"), std::string::npos) << transport_.sent[2].target;
}

TEST_F(client_test, a_repeated_cursor_stops_the_walk) {
    transport_.answer(200, page_body({"1"}, "same"));
    transport_.answer(200, page_body({"2"}, "same"));
    transport_.answer(200, page_body({"3"}, "same"));
    auto c = make_client();
    threat_pager pager(c, one_threat());
    auto first = run(pager.next());
    ASSERT_TRUE(first.ok());
    EXPECT_FALSE(pager.done());
    auto second = run(pager.next());
    EXPECT_EQ(second.status, call_status::failed);
    EXPECT_EQ(second.error.code, core::errc::bad_response);
    EXPECT_TRUE(pager.done());
    EXPECT_EQ(transport_.sent.size(), 2u);
}

TEST_F(client_test, malformed_page_fails_the_walk) {
    transport_.answer(200, R"({"data":[{"id":"1"}],"pagination":{"nextCursor":"x"}})");
    transport_.answer(200, R"({"data":{}})");
    auto c = make_client();
    auto r = run(c.for_each_page(one_threat(), [](threat_page&) { return true; }));
    EXPECT_EQ(r.status, call_status::failed);
    EXPECT_EQ(r.error.code, core::errc::bad_response);
    EXPECT_NE(r.error.message.find("data is an object"), std::string::npos) << r.error.message;
}

TEST_F(client_test, count_and_notes) {
    transport_.answer(200, R"({"data":[],"pagination":{"nextCursor":null,"totalItems":1234}})");
    transport_.answer(200, R"({"data":[{"text":"a"}],"pagination":{"nextCursor":"n2"}})");
    transport_.answer(200, R"({"data":[{"text":"b"}],"pagination":{"nextCursor":null}})");
    auto c = make_client();
    auto count = run(c.count_threats(one_threat()));
    ASSERT_TRUE(count.ok()) << count.error.message;
    EXPECT_EQ(*count.value, 1234);
    EXPECT_EQ(transport_.sent[0].target, "/web/api/v2.1/threats?ids=42&siteIds=7&countOnly=true&limit=1");
    auto notes = run(c.list_notes(42));
    ASSERT_TRUE(notes.ok()) << notes.error.message;
    EXPECT_EQ(*notes.value, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(notes.attempts.size(), 2u);
    EXPECT_EQ(transport_.sent[2].target, "/web/api/v2.1/threats/42/notes?limit=1000&cursor=n2");
}

TEST_F(client_test, relative_times_are_refused) {
    filter::threat_filter f = one_threat();
    f.set(*filter::find_key("createdAt__gte"), filter::relative_time{-std::chrono::hours(24)});
    auto c = make_client();
    auto r = run(c.list_threats(f));
    EXPECT_EQ(r.error.code, core::errc::invalid_filter);
    EXPECT_TRUE(transport_.sent.empty());
}

}  // namespace
}  // namespace s1pilot::s1
