#pragma once
// An HTTPS client for one origin: TLS 1.2+ with peer and host name verification, SNI, an
// optional HTTP CONNECT proxy, a deadline for every phase, size limits, and a pool of
// keep-alive connections.
//
// Thread model: single-threaded. Create it on an executor of a one-thread io_context and await
// `send` from coroutines running there; any number of calls may be in flight at once (each
// uses its own connection). The owner keeps the client alive until its calls have finished.

#include "s1pilot/net/config.hpp"
#include "s1pilot/net/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>

namespace s1pilot::net {

/// Counters for tests and metrics.
struct client_statistics {
    std::size_t connections_opened = 0;
    std::size_t requests_sent = 0;       ///< attempts at writing a request, retries on a fresh connection included
    std::size_t reused_connections = 0;  ///< requests sent on a pooled connection
    std::size_t stale_retries = 0;       ///< GETs resent once because a pooled connection had died
};

class https_client final : public transport {
public:
    /// Validates the configuration (URLs, CA file) and builds the TLS context. No I/O.
    static result<std::unique_ptr<https_client>> create(boost::asio::any_io_executor executor, client_config config);

    ~https_client() override;
    https_client(const https_client&) = delete;
    https_client& operator=(const https_client&) = delete;

    /// One request. A GET that fails on a reused connection before any byte of the response
    /// arrives is resent once on a fresh connection; a POST never is (its failure after the
    /// write began is lost_after_send).
    boost::asio::awaitable<result<response>> send(request req) override;

    /// Closes every idle pooled connection (shutdown, tests).
    void close_idle() noexcept;

    client_statistics statistics() const noexcept;
    const client_config& config() const noexcept;

    struct impl;

private:
    explicit https_client(std::unique_ptr<impl> state);
    std::unique_ptr<impl> impl_;
};

}  // namespace s1pilot::net
