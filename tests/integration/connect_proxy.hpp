#pragma once
// An HTTP CONNECT proxy on 127.0.0.1 (port 0) for black-box tests of s1pilot's `proxy:` setting
// (RELIABILITY #16), in plain POSIX sockets and threads. Every CONNECT is answered with the
// status the test chose; on 200 the proxy opens a tunnel to 127.0.0.1 at the requested port,
// whatever host the client named (a test reaches nothing else), and relays bytes both ways until
// either side closes. The destructor shuts every socket down and joins every thread.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace s1pilot::integration {

class connect_proxy {
public:
    /// Listens at once; answers every CONNECT with `status` (200, 407, 502...).
    explicit connect_proxy(int status);
    ~connect_proxy();
    connect_proxy(const connect_proxy&) = delete;
    connect_proxy& operator=(const connect_proxy&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// `http://127.0.0.1:PORT`, as s1pilot's `proxy:` takes it.
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    /// The CONNECT targets received (`host:port`), in order.
    std::vector<std::string> targets() const;
    /// Bytes relayed from the origin to the client through tunnels (0 when none opened).
    std::size_t bytes_from_origin() const noexcept { return from_origin_.load(); }

private:
    void accept_loop();
    void serve(int client);
    void relay(int client, int origin);
    /// Tracks a socket, so that the destructor can shut it down.
    void track(int fd);
    /// Stops tracking and closes it.
    void release(int fd);

    int status_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> from_origin_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> targets_;
    std::set<int> open_;
    std::vector<std::thread> sessions_;
    std::thread acceptor_;
};

}  // namespace s1pilot::integration
