#pragma once
// How to reach one HTTPS origin: the configuration of an https_client.

#include <chrono>
#include <cstddef>
#include <string>

namespace s1pilot::net {

using namespace std::chrono_literals;

/// Deadlines per phase of a call, and for the call as a whole (whichever ends first wins).
struct timeouts {
    std::chrono::milliseconds connect = 10s;    ///< DNS and TCP connect (to the proxy when there is one)
    std::chrono::milliseconds handshake = 10s;  ///< proxy CONNECT and the TLS handshake
    std::chrono::milliseconds write = 30s;      ///< writing the request
    std::chrono::milliseconds read = 30s;       ///< reading the whole response
    std::chrono::milliseconds call = 60s;       ///< everything, connection set-up included
    std::chrono::milliseconds idle = 30s;       ///< a pooled connection idle longer is closed, not reused
};

struct client_config {
    std::string origin;   ///< `https://host[:port]`; https only; no path, query or credentials
    std::string ca_file;  ///< PEM trust anchors; empty: the system trust store
    std::string proxy;    ///< `http://host:port` for an HTTP CONNECT tunnel; empty: direct
    net::timeouts timeouts;
    std::size_t max_body_size = 64 * 1024 * 1024;  ///< larger responses fail as local_error
    std::size_t max_header_size = 8 * 1024;        ///< the response head (status line and fields)
    std::size_t pool_size = 4;                     ///< idle keep-alive connections kept for reuse
    std::string user_agent = "s1pilot";
};

}  // namespace s1pilot::net
