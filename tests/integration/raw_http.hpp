#pragma once
// Plain HTTP/1.1 to 127.0.0.1 over POSIX sockets, for the admin listener's black-box tests:
// exact bytes, and a client as slow as a test needs. Every call is bounded by its timeout.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace s1pilot::integration {

struct raw_reply {
    int status = 0;  ///< 0: no answer
    std::string head;
    std::string body;
};

/// One request (`Connection: close`), and its answer read to the end.
raw_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A connected socket to 127.0.0.1:`port` (-1 on failure); the caller closes it.
int connect_local(std::uint16_t port);
/// Sends all of `bytes`; false when the peer closed or an error came.
bool send_all(int fd, const std::string& bytes);
/// Reads until the peer closes or `timeout` passes. First: whatever arrived; second: true when
/// the peer closed the connection.
std::pair<std::string, bool> read_until_closed(int fd, std::chrono::milliseconds timeout);

}  // namespace s1pilot::integration
