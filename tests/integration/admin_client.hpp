#pragma once
// A small HTTPS client for s1sim's admin routes (/_sim/...): one connection per request to
// 127.0.0.1, verifying the given CA and host name, bounded by a deadline. The only file of the
// integration tests that includes Asio and Beast (each such file costs ~30 s to compile).

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace s1pilot::integration {

struct http_reply {
    int status = 0;  ///< 0 when no answer arrived
    std::string body;
    std::string error;  ///< connect, handshake or transport failure, else empty

    /// The body as JSON (null when it is not JSON).
    boost::json::value json() const;
};

class admin_client {
public:
    /// `host_name`: the name the server's certificate must carry (also sent as SNI).
    /// `accept_outdated`: also accept an expired certificate and TLS 1.1 (still verifying the
    /// chain and the name), for tests that give s1sim those defects and must still read its journal.
    admin_client(std::uint16_t port, std::string ca_pem, std::string token, std::string host_name = "127.0.0.1",
                 bool accept_outdated = false);

    http_reply request(const std::string& method, const std::string& target, const std::string& body = {}) const;
    http_reply get(const std::string& target) const { return request("GET", target); }
    http_reply put(const std::string& target, const std::string& body) const { return request("PUT", target, body); }
    http_reply post(const std::string& target, const std::string& body) const { return request("POST", target, body); }

    std::chrono::milliseconds timeout{60000};

private:
    std::uint16_t port_;
    std::string ca_pem_, token_, host_name_;
    bool accept_outdated_;
};

}  // namespace s1pilot::integration
