#pragma once
// One TLS connection to the origin (directly or through a CONNECT tunnel) and one request on
// it at a time. Beast stays behind the pimpl, so that the pool code does not include it.

#include "s1pilot/net/config.hpp"
#include "s1pilot/net/endpoint.hpp"
#include "s1pilot/net/http.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace boost::asio::ssl {
class context;
}

namespace s1pilot::net::detail {

using steady_clock = std::chrono::steady_clock;

/// What every connection of one client shares.
struct origin_settings {
    endpoint origin;
    std::optional<endpoint> proxy;
    client_config config;
    std::shared_ptr<boost::asio::ssl::context> tls;
};

struct exchange_result {
    std::optional<response> answer;  ///< set on success
    failure error;                   ///< set when there is no answer
    bool nothing_received = false;   ///< the failure came before any byte of the response
};

class connection {
public:
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Resolves, connects (through the proxy if any), and completes the TLS handshake, each
    /// phase within its timeout and all before `call_deadline`. Every failure is not_sent,
    /// except certificate failures and local errors.
    static boost::asio::awaitable<result<std::unique_ptr<connection>>> open(boost::asio::any_io_executor executor,
                                                                            const origin_settings& settings,
                                                                            steady_clock::time_point call_deadline);

    /// Writes `req` and reads its response.
    boost::asio::awaitable<exchange_result> exchange(const request& req, const origin_settings& settings,
                                                     steady_clock::time_point call_deadline);

    /// Whether an idle connection may carry another request: the server wanted keep-alive, it
    /// has not been idle too long, and the peer has not closed it or sent anything unasked.
    bool reusable(steady_clock::time_point now, steady_clock::duration idle_timeout) const;

    struct state;

private:
    explicit connection(std::unique_ptr<state> s);
    std::unique_ptr<state> state_;
};

}  // namespace s1pilot::net::detail
