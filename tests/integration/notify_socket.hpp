#pragma once
// The test's stand-in for systemd: a unix datagram socket bound in the test's directory, given to
// s1pilot as NOTIFY_SOCKET, read without blocking.

#include <filesystem>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

namespace s1pilot::integration {

class notify_socket {
public:
    explicit notify_socket(const std::filesystem::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const auto text = path.string();
        if (fd_ < 0 || text.size() >= sizeof(address.sun_path)) return;
        text.copy(address.sun_path, text.size());
        bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    }
    ~notify_socket() {
        if (fd_ >= 0) ::close(fd_);
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    bool bound() const noexcept { return bound_; }
    const std::filesystem::path& path() const noexcept { return path_; }
    /// Everything received so far (one message a line), appended to what was received before.
    const std::string& received() {
        char buffer[4096];
        for (;;) {
            const auto n = ::recv(fd_, buffer, sizeof(buffer), 0);
            if (n <= 0) break;
            messages_.append(buffer, static_cast<std::size_t>(n)).push_back('\n');
        }
        return messages_;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool bound_ = false;
    std::string messages_;
};

}  // namespace s1pilot::integration
