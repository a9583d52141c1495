#include "connect_proxy.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include "raw_http.hpp"

namespace s1pilot::integration {
namespace {

constexpr int poll_interval_ms = 100;  // how often a waiting thread looks at the stop flag

std::string reason(int status) {
    switch (status) {
        case 200: return "Connection Established";
        case 405: return "Method Not Allowed";
        case 407: return "Proxy Authentication Required";
        case 502: return "Bad Gateway";
        default: return "Refused";
    }
}

std::string refusal(int status) {
    std::string reply = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
    if (status == 407) reply += "Proxy-Authenticate: Basic realm=\"s1pilot-test\"\r\n";
    return reply + "Content-Length: 0\r\nConnection: close\r\n\r\n";
}

// A peer that stops reading cannot block a relay for long: the destructor's join stays bounded.
void bound_sends(int fd) {
    timeval five{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five, sizeof five);
}

}  // namespace

connect_proxy::connect_proxy(int status) : status_(status) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof at;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 ||
        ::listen(listener_, 16) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &size) != 0) {
        if (listener_ >= 0) ::close(listener_);
        throw std::runtime_error("connect_proxy: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(at.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

connect_proxy::~connect_proxy() {
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    {
        std::lock_guard lock(mutex_);
        for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& session : sessions_) session.join();
    ::close(listener_);
}

std::vector<std::string> connect_proxy::targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
}

void connect_proxy::track(int fd) {
    bound_sends(fd);
    std::lock_guard lock(mutex_);
    open_.insert(fd);
}

void connect_proxy::release(int fd) {
    {
        std::lock_guard lock(mutex_);
        open_.erase(fd);
    }
    ::close(fd);
}

void connect_proxy::accept_loop() {
    while (!stopping_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, poll_interval_ms) <= 0) continue;
        const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        track(client);
        sessions_.emplace_back([this, client] { serve(client); });
    }
}

void connect_proxy::serve(int client) {
    // The request head, read within 30 s and 16 KiB.
    std::string head;
    char buffer[4096];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (head.find("\r\n\r\n") == std::string::npos) {
        if (stopping_ || std::chrono::steady_clock::now() > deadline || head.size() > 16384) return release(client);
        pollfd p{client, POLLIN, 0};
        if (::poll(&p, 1, poll_interval_ms) <= 0) continue;
        const auto n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) return release(client);
        head.append(buffer, static_cast<std::size_t>(n));
    }
    const auto end = head.find("\r\n\r\n") + 4;
    const std::string early = head.substr(end);  // the client's first bytes for the origin, if any
    std::istringstream first_line(head.substr(0, head.find("\r\n")));
    std::string method, target;
    first_line >> method >> target;
    if (method != "CONNECT") {
        send_all(client, refusal(405));
        return release(client);
    }
    {
        std::lock_guard lock(mutex_);
        targets_.push_back(target);
    }
    const auto colon = target.rfind(':');
    const int origin_port = colon == std::string::npos ? 0 : std::atoi(target.c_str() + colon + 1);
    if (status_ != 200 || origin_port <= 0 || origin_port > 65535) {
        send_all(client, refusal(status_ != 200 ? status_ : 502));
        return release(client);
    }
    const int origin = connect_local(static_cast<std::uint16_t>(origin_port));
    if (origin < 0) {
        send_all(client, refusal(502));
        return release(client);
    }
    track(origin);
    if (send_all(client, "HTTP/1.1 200 " + reason(200) + "\r\n\r\n") && (early.empty() || send_all(origin, early)))
        relay(client, origin);
    release(origin);
    release(client);
}

void connect_proxy::relay(int client, int origin) {
    char buffer[16384];
    while (!stopping_) {
        pollfd p[2] = {{client, POLLIN, 0}, {origin, POLLIN, 0}};
        const int ready = ::poll(p, 2, poll_interval_ms);
        if (ready < 0 && errno != EINTR) return;
        if (ready <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (p[i].revents == 0) continue;
            const auto n = ::recv(p[i].fd, buffer, sizeof buffer, 0);
            if (n <= 0) return;  // either side closing ends the tunnel
            if (!send_all(p[1 - i].fd, std::string(buffer, static_cast<std::size_t>(n)))) return;
            if (i == 1) from_origin_ += static_cast<std::size_t>(n);
        }
    }
}

}  // namespace s1pilot::integration
