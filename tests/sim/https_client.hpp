#pragma once
// A small HTTPS client for the simulator's tests: one keep-alive connection to 127.0.0.1,
// verifying the simulator's generated CA and host name, every call bounded by a deadline.
// Test-only (s1pilot's own client lives in the net module); no Asio in this header.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace s1sim::test {

struct client_response {
    int status = 0;  ///< 0 when no response arrived
    std::string body;
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string error;                           ///< transport failure (reset, end of stream, timeout...), else empty
    bool reset = false;                          ///< the connection was reset by the peer
    bool closed = false;                         ///< the connection ended without a response (EOF or truncated TLS)
    std::string tls_version;                     ///< the connection's protocol (`TLSv1.3`) when a response came

    boost::json::value json() const;
    std::string header(const std::string& lower_name) const;
};

class https_client {
public:
    https_client(std::uint16_t port, std::string ca_pem, std::string token, std::string host_name = "127.0.0.1");
    ~https_client();
    https_client(const https_client&) = delete;
    https_client& operator=(const https_client&) = delete;

    client_response get(const std::string& target) { return request("GET", target, {}); }
    client_response post(const std::string& target, const std::string& body) { return request("POST", target, body); }
    client_response put(const std::string& target, const std::string& body) { return request("PUT", target, body); }

    /// `authorization` empty: `ApiToken <token>`; "-" sends no Authorization header.
    client_response request(const std::string& method, const std::string& target, const std::string& body,
                            const std::string& authorization = {});

    /// How many TCP connections were opened (keep-alive reuses one).
    int connections_opened() const noexcept;
    std::chrono::milliseconds timeout{60000};

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Percent-encodes a query value (cursors contain `=` and `+`).
std::string url_encode(const std::string& value);

}  // namespace s1sim::test
