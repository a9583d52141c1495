#pragma once
// The one operation the SentinelOne client needs from the network, as an interface: the real
// https_client implements it, and tests of the layers above substitute a scripted fake.

#include "s1pilot/net/http.hpp"

#include <boost/asio/awaitable.hpp>

namespace s1pilot::net {

class transport {
public:
    virtual ~transport() = default;
    /// Sends one request and reads its response. Never throws for network failures: they come
    /// back classified. Must be awaited on the transport's executor.
    virtual boost::asio::awaitable<result<response>> send(request req) = 0;
};

}  // namespace s1pilot::net
