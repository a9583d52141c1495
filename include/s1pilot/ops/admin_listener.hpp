#pragma once
// The admin listener's socket side (DESIGN.md §7): plain HTTP/1.1 on a loopback address by
// default, keep-alive, and the limits that keep a client from holding it: headers 8 KiB, body
// 64 KiB, one read deadline per request (a client sending a byte a second is cut off), a write
// deadline, and a cap on connections. What a request means is admin_http.hpp and the handler.
//
// Thread model: one io_context thread (the engine's).

#include "s1pilot/ops/admin_http.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>

namespace s1pilot::ops {

struct admin_limits {
    std::size_t header_bytes = 8 * 1024;
    std::size_t body_bytes = 64 * 1024;
    /// For the whole of one request, from the moment the listener waits for it (so also a
    /// kept-alive connection's idle time).
    std::chrono::milliseconds read_deadline{10'000};
    std::chrono::milliseconds write_deadline{10'000};  ///< for the whole of one answer
    std::size_t max_connections = 64;                  ///< more are answered 503 and closed
};

/// Answers one request that was read in full (never called for one refused by the limits).
using admin_handler = std::function<boost::asio::awaitable<admin_response>(admin_request)>;

class admin_listener {
public:
    /// Binds `host:port` (port 0: any free port; see port()) and starts accepting. The message
    /// names the address when it cannot be bound.
    static std::variant<std::unique_ptr<admin_listener>, std::string> start(boost::asio::any_io_executor executor,
                                                                            const std::string& host, std::uint16_t port,
                                                                            admin_handler handler,
                                                                            admin_limits limits = {});
    ~admin_listener();
    admin_listener(const admin_listener&) = delete;
    admin_listener& operator=(const admin_listener&) = delete;

    std::uint16_t port() const noexcept;
    /// Stops accepting and closes every connection (a request being answered is cut).
    void stop();

    struct impl;

private:
    explicit admin_listener(std::shared_ptr<impl> state);
    std::shared_ptr<impl> impl_;
};

}  // namespace s1pilot::ops
