// The HTTPS client against a real TLS server and proxy on 127.0.0.1 (RELIABILITY.md 15-17).
// Timing is never asserted: deadlines are short and the bounds on the whole test generous.

#include "s1pilot/net/https_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include "run_bounded.hpp"
#include "test_server.hpp"

namespace s1pilot::net {
namespace {

using namespace std::chrono_literals;
using s1pilot::test::run_bounded;
using test::reply;
using test::test_proxy;
using test::test_server;

class https_client_test : public ::testing::Test {
protected:
    client_config config_for(const test_server& server, const std::string& host = "localhost") {
        client_config config;
        config.origin = "https://" + host + ":" + std::to_string(server.port());
        config.ca_file = ca_file_;
        return config;
    }

    std::unique_ptr<https_client> make_client(client_config config) {
        auto client = https_client::create(ioc_.get_executor(), std::move(config));
        if (!client) throw std::runtime_error(client.error().message);
        return std::move(*client);
    }

    result<response> send(https_client& client, request req) {
        auto r = run_bounded(ioc_, client.send(std::move(req)));
        if (!r) return failure{failure_kind::local_error, "the test timed out"};
        return std::move(*r);
    }

    static request get(std::string target) { return request{http_method::get, std::move(target), {}, {}, {}}; }

    test::temp_dir dir_;
    test::test_certificate certificate_ = test::make_certificate();
    std::string ca_file_ = dir_.write("ca.pem", certificate_.certificate_pem);
    boost::asio::io_context ioc_{1};
};

TEST_F(https_client_test, get_and_post_round_trip) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request& r) {
        reply answer;
        answer.body = r.method + " " + r.target + " " + r.body;
        answer.headers = {{"X-RQID", "rq-123"}};
        return answer;
    });
    auto client = make_client(config_for(server));

    auto got = send(*client, get("/web/api/v2.1/threats?limit=1"));
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->status, 200u);
    EXPECT_EQ(got->request_id, "rq-123");
    EXPECT_EQ(got->body, "GET /web/api/v2.1/threats?limit=1 ");

    request post{http_method::post,
                 "/web/api/v2.1/threats/notes",
                 R"({"filter":{"ids":["1"]}})",
                 {{"Authorization", "ApiToken abc"}},
                 {}};
    auto posted = send(*client, post);
    ASSERT_TRUE(posted) << posted.error().message;
    EXPECT_EQ(posted->body, R"(POST /web/api/v2.1/threats/notes {"filter":{"ids":["1"]}})");

    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].headers.at("authorization"), "ApiToken abc");
    EXPECT_EQ(seen[1].headers.at("content-type"), "application/json");
    EXPECT_EQ(seen[1].headers.at("accept"), "application/json");
    EXPECT_EQ(seen[0].headers.at("host"), "localhost:" + std::to_string(server.port()));
}

TEST_F(https_client_test, keep_alive_reuses_one_connection) {
    test_server server(test::server_options::with(certificate_));
    auto client = make_client(config_for(server));
    for (int i = 0; i < 5; ++i) {
        auto got = send(*client, get("/x"));
        ASSERT_TRUE(got) << got.error().message;
        EXPECT_EQ(got->reused_connection, i > 0);
    }
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(client->statistics().connections_opened, 1u);
    EXPECT_EQ(client->statistics().reused_connections, 4u);
}

TEST_F(https_client_test, connection_close_is_not_reused) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request&) {
        reply answer;
        answer.keep_alive = false;
        return answer;
    });
    auto client = make_client(config_for(server));
    ASSERT_TRUE(send(*client, get("/a")));
    ASSERT_TRUE(send(*client, get("/b")));
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(https_client_test, tls_1_3_is_negotiated) {
    test_server server(test::server_options::with(certificate_));
    auto client = make_client(config_for(server));
    auto got = send(*client, get("/"));
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got->tls_version, "TLSv1.3");
}

TEST_F(https_client_test, ip_literal_origin_verifies_against_the_ip_san) {
    test_server server(test::server_options::with(certificate_));
    auto client = make_client(config_for(server, "127.0.0.1"));
    auto got = send(*client, get("/"));
    ASSERT_TRUE(got) << got.error().message;
}

TEST_F(https_client_test, untrusted_certificate_is_refused_before_any_request) {
    test_server server(test::server_options::with(certificate_));
    auto config = config_for(server);
    config.ca_file.clear();  // the system trust store does not know the test certificate
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::certificate);
    EXPECT_NE(got.error().message.find("self-signed certificate"), std::string::npos) << got.error().message;
    EXPECT_NE(got.error().message.find("localhost:"), std::string::npos) << got.error().message;

    auto other_ca = dir_.write("other.pem", test::make_certificate().certificate_pem);
    config.ca_file = other_ca;
    auto with_other = make_client(config);
    auto again = send(*with_other, get("/"));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, failure_kind::certificate);
    EXPECT_TRUE(server.requests().empty());
}

TEST_F(https_client_test, wrong_host_name_is_refused) {
    test::certificate_spec spec;
    spec.common_name = "wrong.example";
    spec.dns_names = {"wrong.example"};
    spec.ip_addresses = {};
    auto wrong = test::make_certificate(spec);
    test_server server(test::server_options::with(wrong));
    auto config = config_for(server);
    config.ca_file = dir_.write("wrong.pem", wrong.certificate_pem);
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::certificate);
    EXPECT_NE(got.error().message.find("hostname mismatch"), std::string::npos) << got.error().message;

    auto by_ip = make_client(config_for(server, "127.0.0.1"));
    auto ip = send(*by_ip, get("/"));
    ASSERT_FALSE(ip);
    EXPECT_EQ(ip.error().kind, failure_kind::certificate);
    EXPECT_TRUE(server.requests().empty());
}

TEST_F(https_client_test, expired_certificate_is_refused) {
    test::certificate_spec spec;
    spec.expired = true;
    auto expired = test::make_certificate(spec);
    test_server server(test::server_options::with(expired));
    auto config = config_for(server);
    config.ca_file = dir_.write("expired.pem", expired.certificate_pem);
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::certificate);
    EXPECT_NE(got.error().message.find("expired"), std::string::npos) << got.error().message;
}

TEST_F(https_client_test, tls_1_1_only_server_is_refused_as_not_sent) {
    test_server server(test::server_options::with(certificate_, true));
    auto client = make_client(config_for(server));
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::not_sent);
    EXPECT_NE(got.error().message.find("TLS handshake"), std::string::npos) << got.error().message;
    EXPECT_TRUE(server.requests().empty());
}

TEST_F(https_client_test, read_deadline_fires_on_a_stalled_server) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request&) { return reply::with(reply::behaviour::stall); });
    auto config = config_for(server);
    config.timeouts.read = 300ms;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::lost_after_send);
    EXPECT_NE(got.error().message.find("timed out after 300ms"), std::string::npos) << got.error().message;
}

TEST_F(https_client_test, read_deadline_covers_a_slow_drip) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request&) {
        reply answer = reply::with(reply::behaviour::drip);
        answer.body = std::string(1000, 'x');  // 10 s at one byte per 10 ms
        return answer;
    });
    auto config = config_for(server);
    config.timeouts.read = 300ms;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::lost_after_send);
}

/// A listener that never accepts: the kernel completes TCP connects into its backlog and nothing
/// ever answers, so every phase after connect can only end by its own deadline.
class silent_listener {
public:
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_{io_, {boost::asio::ip::make_address("127.0.0.1"), 0}};
};

TEST_F(https_client_test, handshake_deadline_fires_on_a_silent_server) {
    silent_listener silent;
    client_config config;
    config.origin = "https://localhost:" + std::to_string(silent.port());
    config.ca_file = ca_file_;
    config.timeouts.handshake = 300ms;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::not_sent);
    EXPECT_NE(got.error().message.find("TLS handshake with localhost:" + std::to_string(silent.port()) +
                                       ": timed out after 300ms"),
              std::string::npos)
        << got.error().message;
}

TEST_F(https_client_test, tunnel_deadline_fires_on_a_silent_proxy) {
    test_server server(test::server_options::with(certificate_));
    silent_listener silent;
    auto config = config_for(server);
    config.proxy = "http://127.0.0.1:" + std::to_string(silent.port());
    config.timeouts.handshake = 300ms;  // the CONNECT exchange is part of the handshake phase
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::not_sent);
    EXPECT_NE(got.error().message.find("no answer to CONNECT localhost:" + std::to_string(server.port()) +
                                       ": timed out after 300ms"),
              std::string::npos)
        << got.error().message;
    EXPECT_TRUE(server.requests().empty());
}

TEST_F(https_client_test, call_deadline_bounds_every_phase) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request&) { return reply::with(reply::behaviour::stall); });
    auto config = config_for(server);
    config.timeouts.call = 400ms;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_NE(got.error().message.find("call deadline"), std::string::npos) << got.error().message;

    request with_deadline = get("/");
    with_deadline.deadline = std::chrono::steady_clock::now() + 200ms;
    auto client2 = make_client(config_for(server));
    auto second = send(*client2, with_deadline);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("call deadline"), std::string::npos) << second.error().message;
}

TEST_F(https_client_test, body_size_limit) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request&) {
        reply answer;
        answer.body = std::string(64 * 1024, 'x');
        return answer;
    });
    auto config = config_for(server);
    config.max_body_size = 1024;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::local_error);
    EXPECT_NE(got.error().message.find("body exceeds the limit of 1024 bytes"), std::string::npos)
        << got.error().message;
    EXPECT_TRUE(got.error().request_sent);
}

TEST_F(https_client_test, header_size_limit) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request&) {
        reply answer;
        answer.headers = {{"X-Padding", std::string(16 * 1024, 'p')}};
        return answer;
    });
    auto client = make_client(config_for(server));
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::local_error);
    EXPECT_NE(got.error().message.find("header exceeds the limit"), std::string::npos) << got.error().message;
}

TEST_F(https_client_test, connection_refused_is_not_sent) {
    client_config config;
    config.origin = "https://127.0.0.1:" + std::to_string(test::unused_port());
    config.ca_file = ca_file_;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::not_sent);
    EXPECT_FALSE(got.error().request_sent);
    EXPECT_NE(got.error().message.find("refused"), std::string::npos) << got.error().message;
}

TEST_F(https_client_test, unknown_host_is_not_sent) {
    client_config config;
    config.origin = "https://no-such-host.invalid";
    config.timeouts.connect = 5s;
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::not_sent);
    EXPECT_NE(got.error().message.find("no-such-host.invalid"), std::string::npos) << got.error().message;
}

TEST_F(https_client_test, stale_pooled_connection_get_is_resent_once) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request& r) {
        // The first connection dies after its first answer, as an idle server timeout would.
        if (r.connection == 1 && r.sequence == 2) return reply::with(reply::behaviour::drop);
        return reply{};
    });
    auto client = make_client(config_for(server));
    ASSERT_TRUE(send(*client, get("/first")));
    auto got = send(*client, get("/second"));
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_FALSE(got->reused_connection);
    EXPECT_EQ(client->statistics().stale_retries, 1u);
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(https_client_test, stale_pooled_connection_post_is_never_resent) {
    test_server server(test::server_options::with(certificate_));
    server.set_handler([](const test::received_request& r) {
        if (r.connection == 1 && r.sequence == 2) return reply::with(reply::behaviour::drop);
        return reply{};
    });
    auto client = make_client(config_for(server));
    ASSERT_TRUE(send(*client, get("/first")));
    auto got = send(*client, request{http_method::post, "/notes", "{}", {}, {}});
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::lost_after_send);
    EXPECT_TRUE(got.error().request_sent);
    const auto seen = server.requests();
    EXPECT_EQ(std::count_if(seen.begin(), seen.end(), [](const auto& r) { return r.method == "POST"; }), 1);
    EXPECT_EQ(client->statistics().stale_retries, 0u);
}

TEST_F(https_client_test, proxy_tunnel_verifies_the_origin) {
    test_server server(test::server_options::with(certificate_));
    test_proxy proxy(200);
    auto config = config_for(server);
    config.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto client = make_client(config);
    auto got = send(*client, get("/through"));
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(proxy.connect_targets().size(), 1u);
    EXPECT_EQ(proxy.connect_targets()[0], "localhost:" + std::to_string(server.port()));
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].target, "/through");

    // Through the same proxy, a certificate the client does not trust is still refused (a
    // certificate for another name: Proxy.ATunnelWorksAndTheConsolesNameIsVerifiedThroughIt).
    auto other = make_client([&] {
        auto c = config;
        c.ca_file = dir_.write("other2.pem", test::make_certificate().certificate_pem);
        return c;
    }());
    auto refused = send(*other, get("/"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, failure_kind::certificate);
}

TEST_F(https_client_test, proxy_refusals_name_the_status) {
    test_server server(test::server_options::with(certificate_));
    for (unsigned status : {407u, 502u}) {
        test_proxy proxy(status);
        auto config = config_for(server);
        config.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
        auto client = make_client(config);
        auto got = send(*client, get("/"));
        ASSERT_FALSE(got);
        EXPECT_EQ(got.error().kind, status == 407 ? failure_kind::local_error : failure_kind::not_sent);
        EXPECT_NE(got.error().message.find("HTTP " + std::to_string(status)), std::string::npos) << got.error().message;
        EXPECT_NE(got.error().message.find("proxy 127.0.0.1:"), std::string::npos) << got.error().message;
    }
    EXPECT_TRUE(server.requests().empty());
}

TEST_F(https_client_test, proxy_refused_connection_is_not_sent) {
    test_server server(test::server_options::with(certificate_));
    auto config = config_for(server);
    config.proxy = "http://127.0.0.1:" + std::to_string(test::unused_port());
    auto client = make_client(config);
    auto got = send(*client, get("/"));
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().kind, failure_kind::not_sent);
    EXPECT_NE(got.error().message.find("proxy"), std::string::npos) << got.error().message;
}

TEST_F(https_client_test, invalid_configuration_is_a_local_error) {
    client_config http;
    http.origin = "http://localhost:1";
    auto plain = https_client::create(ioc_.get_executor(), http);
    ASSERT_FALSE(plain);
    EXPECT_EQ(plain.error().kind, failure_kind::local_error);

    client_config missing_ca;
    missing_ca.origin = "https://localhost:1";
    missing_ca.ca_file = (dir_.path() / "missing.pem").string();
    auto no_ca = https_client::create(ioc_.get_executor(), missing_ca);
    ASSERT_FALSE(no_ca);
    EXPECT_NE(no_ca.error().message.find("missing.pem"), std::string::npos) << no_ca.error().message;

    client_config bad_proxy;
    bad_proxy.origin = "https://localhost:1";
    bad_proxy.proxy = "socks5://localhost:1080";
    EXPECT_FALSE(https_client::create(ioc_.get_executor(), bad_proxy));
}

}  // namespace
}  // namespace s1pilot::net
