#pragma once
// `s1pilot health` and `s1pilot status`: one GET to the admin listener, bounded by a deadline.

#include <chrono>
#include <cstdint>
#include <string>

namespace s1pilot::ops {

struct admin_reply {
    int status = 0;  ///< 0: no answer (see error)
    std::string body;
    std::string error;  ///< why there is no answer: refused, timed out, ...
};

/// GET `target` from `host:port` over HTTP/1.1; everything (connect, write, read) within `timeout`.
admin_reply admin_get(const std::string& host, std::uint16_t port, const std::string& target,
                      std::chrono::milliseconds timeout);

}  // namespace s1pilot::ops
