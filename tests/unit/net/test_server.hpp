#pragma once
// A small HTTPS server and an HTTP CONNECT proxy for in-process client tests. Each runs its
// own io_context on its own thread, listens on 127.0.0.1 with port 0, and is stopped and
// joined by its destructor. Tests script the answers and inspect what arrived.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "test_pki.hpp"

namespace s1pilot::net::test {

struct received_request {
    std::string method;
    std::string target;
    std::string body;
    std::map<std::string, std::string> headers;  ///< field names lower-cased
    int connection = 0;                          ///< 1-based index of the connection it came on
    int sequence = 0;                            ///< 1-based index of the request on that connection
};

/// How the server answers one request.
struct reply {
    enum class behaviour {
        normal,  ///< a complete response
        stall,   ///< never answer (until the server stops)
        drip,    ///< the head at once, then the body one byte per 10 ms
        drop,    ///< close the connection without answering
    };
    behaviour how = behaviour::normal;
    unsigned status = 200;
    std::string body = "{}";
    std::vector<std::pair<std::string, std::string>> headers;
    bool keep_alive = true;

    static reply with(behaviour b) {
        reply r;
        r.how = b;
        return r;
    }
};

using request_handler = std::function<reply(const received_request&)>;

struct server_options {
    test_certificate certificate = make_certificate();
    bool tls_1_1_only = false;  ///< a server the client must refuse (minimum TLS 1.2)

    static server_options with(test_certificate c, bool tls_1_1_only = false) {
        server_options o;
        o.certificate = std::move(c);
        o.tls_1_1_only = tls_1_1_only;
        return o;
    }
};

class test_server {
public:
    explicit test_server(server_options options = {});
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    void set_handler(request_handler handler);
    std::vector<received_request> requests() const;
    int connections() const noexcept { return connections_.load(); }
    int handshakes_failed() const noexcept { return handshakes_failed_.load(); }

    struct impl;

private:
    std::unique_ptr<impl> impl_;
    std::uint16_t port_ = 0;
    std::atomic<int> connections_{0};
    std::atomic<int> handshakes_failed_{0};
};

/// A CONNECT proxy answering `status`: 200 opens a tunnel to the requested host and port;
/// anything else is answered and the connection closed.
class test_proxy {
public:
    explicit test_proxy(unsigned status = 200);
    ~test_proxy();
    test_proxy(const test_proxy&) = delete;
    test_proxy& operator=(const test_proxy&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::vector<std::string> connect_targets() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
    std::uint16_t port_ = 0;
};

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t unused_port();

}  // namespace s1pilot::net::test
