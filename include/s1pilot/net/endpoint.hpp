#pragma once
// Parsing the origin and proxy URLs of a client_config (Boost.URL), without Asio.

#include "s1pilot/net/http.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace s1pilot::net {

/// A host and port to connect to.
struct endpoint {
    std::string host;  ///< a name, or an IP literal without brackets
    std::uint16_t port = 0;
    bool host_is_ip = false;

    /// `host:port`, with brackets around an IPv6 literal: for `Host`, CONNECT and messages.
    std::string authority() const;
};

/// `https://host[:port][/]` (port 443 by default). Anything else (another scheme, a path,
/// query, fragment or user info) is a local_error naming the problem.
result<endpoint> parse_origin(std::string_view url);

/// `http://host:port[/]` (port 80 by default). Credentials in the URL are refused: they would
/// end up in messages.
result<endpoint> parse_proxy(std::string_view url);

}  // namespace s1pilot::net
