#include "s1pilot/net/endpoint.hpp"

#include <gtest/gtest.h>

namespace s1pilot::net {
namespace {

TEST(endpoint, origin_with_default_port) {
    auto e = parse_origin("https://usea1-acme.sentinelone.net");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "usea1-acme.sentinelone.net");
    EXPECT_EQ(e->port, 443);
    EXPECT_FALSE(e->host_is_ip);
    EXPECT_EQ(e->authority(), "usea1-acme.sentinelone.net:443");
}

TEST(endpoint, origin_with_port_and_slash) {
    auto e = parse_origin("https://localhost:8443/");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "localhost");
    EXPECT_EQ(e->port, 8443);
}

TEST(endpoint, ip_literals) {
    auto v4 = parse_origin("https://127.0.0.1:9443");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->host_is_ip);
    EXPECT_EQ(v4->host, "127.0.0.1");
    auto v6 = parse_origin("https://[::1]:9443");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->host_is_ip);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->authority(), "[::1]:9443");
}

TEST(endpoint, origin_refusals_name_the_problem) {
    struct case_ {
        const char* url;
        const char* expected;
    };
    for (const auto& c :
         {case_{"http://example.com", "scheme must be https"}, case_{"https://user:pw@example.com", "user info"},
          case_{"https://example.com/web/api", "path is not allowed"}, case_{"https://example.com?x=1", "query"},
          case_{"https://example.com:0", "invalid port"}, case_{"https://example.com:70000", "invalid port"},
          case_{"example.com", "not an absolute URL"}}) {
        auto e = parse_origin(c.url);
        ASSERT_FALSE(e) << c.url;
        EXPECT_EQ(e.error().kind, failure_kind::local_error);
        EXPECT_NE(e.error().message.find(c.expected), std::string::npos) << e.error().message;
    }
}

TEST(endpoint, proxy) {
    auto p = parse_proxy("http://proxy.corp:3128");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->authority(), "proxy.corp:3128");
    EXPECT_EQ(parse_proxy("http://proxy.corp")->port, 80);
    EXPECT_FALSE(parse_proxy("https://proxy.corp:3128"));
    auto with_credentials = parse_proxy("http://alice:secret@proxy.corp:3128");
    ASSERT_FALSE(with_credentials);
    EXPECT_EQ(with_credentials.error().message.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace s1pilot::net
