// The notify protocol: the datagram texts, the recording notifier a lifecycle test reads, and the
// real one against an AF_UNIX datagram socket standing in for systemd's.

#include "s1pilot/ops/notifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "temp_dir.hpp"

namespace s1pilot::ops {
namespace {

using namespace std::chrono_literals;

std::chrono::microseconds monotonic_now() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return std::chrono::seconds(now.tv_sec) +
           std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(now.tv_nsec));
}

// Sets (or, with nullopt, unsets) an environment variable for one test and restores it after.
class scoped_environment {
public:
    scoped_environment(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) old_ = old;
        if (value)
            ::setenv(name_.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    ~scoped_environment() {
        if (old_)
            ::setenv(name_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    scoped_environment(const scoped_environment&) = delete;
    scoped_environment& operator=(const scoped_environment&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

// systemd's side: a datagram socket bound to a path, read with a bound.
class notify_socket {
public:
    explicit notify_socket(const std::filesystem::path& path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const std::string text = path.string();
        if (text.size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long: " + text);
        std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("bind " + text + ": " + std::strerror(errno));
    }
    ~notify_socket() { ::close(fd_); }
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    // The next datagram, or nullopt when none came within `bound`.
    std::optional<std::string> receive(std::chrono::milliseconds bound = 5000ms) {
        pollfd waiting{fd_, POLLIN, 0};
        if (::poll(&waiting, 1, static_cast<int>(bound.count())) != 1) return std::nullopt;
        std::array<char, 4096> buffer{};
        const ssize_t size = ::recv(fd_, buffer.data(), buffer.size(), 0);
        if (size < 0) return std::nullopt;
        return std::string(buffer.data(), static_cast<std::size_t>(size));
    }

private:
    int fd_ = -1;
};

TEST(notify_message, formats_each_datagram) {
    EXPECT_EQ(notify_message::ready("running 2 playbooks"), "READY=1\nSTATUS=running 2 playbooks");
    EXPECT_EQ(notify_message::reloading("reloading playbooks", 123456789us),
              "RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=reloading playbooks");
    EXPECT_EQ(notify_message::stopping("draining calls in flight"), "STOPPING=1\nSTATUS=draining calls in flight");
    EXPECT_EQ(notify_message::status("not ready: ledger not writable"), "STATUS=not ready: ledger not writable");
    EXPECT_EQ(notify_message::watchdog(), "WATCHDOG=1");
}

TEST(notify_message, keeps_a_status_on_one_line) {
    // Otherwise a status text could carry a field of its own, such as READY=1.
    EXPECT_EQ(notify_message::status("bad\nREADY=1\r\n"), "STATUS=bad READY=1  ");
    EXPECT_EQ(notify_message::ready("a\nb"), "READY=1\nSTATUS=a b");
}

TEST(recording_notifier, keeps_every_message_in_order) {
    recording_notifier notifier;
    notifier.ready("running 2 playbooks");
    notifier.status("not ready: audit log not writable");
    notifier.watchdog();
    notifier.stopping("draining calls in flight");
    EXPECT_THAT(notifier.messages,
                testing::ElementsAre("READY=1\nSTATUS=running 2 playbooks", "STATUS=not ready: audit log not writable",
                                     "WATCHDOG=1", "STOPPING=1\nSTATUS=draining calls in flight"));
}

TEST(recording_notifier, stamps_reloading_with_the_monotonic_clock) {
    recording_notifier notifier;
    const auto before = monotonic_now();
    notifier.reloading("reloading playbooks");
    const auto after = monotonic_now();
    ASSERT_EQ(notifier.messages.size(), 1u);
    std::smatch parts;
    ASSERT_TRUE(std::regex_match(notifier.messages[0], parts,
                                 std::regex("RELOADING=1\nMONOTONIC_USEC=([0-9]+)\nSTATUS=reloading playbooks")))
        << notifier.messages[0];
    const std::chrono::microseconds stamp(std::stoll(parts[1].str()));
    EXPECT_LE(before, stamp);
    EXPECT_LE(stamp, after);
}

TEST(recording_notifier, reports_the_watchdog_period_it_was_given) {
    EXPECT_EQ(recording_notifier().watchdog_period(), std::nullopt);
    EXPECT_EQ(recording_notifier(15s).watchdog_period(), std::chrono::microseconds(15s));
}

class systemd_notifier_test : public ::testing::Test {
protected:
    test::temp_dir dir;
    notify_socket systemd{dir / "notify.sock"};
    scoped_environment socket_variable{"NOTIFY_SOCKET", (dir / "notify.sock").string()};
};

TEST_F(systemd_notifier_test, sends_each_message_as_one_datagram) {
    auto notifier = systemd_notifier();
    notifier->ready("running 2 playbooks");
    EXPECT_EQ(systemd.receive(), "READY=1\nSTATUS=running 2 playbooks");
    notifier->status("not ready: ledger not writable");
    EXPECT_EQ(systemd.receive(), "STATUS=not ready: ledger not writable");
    notifier->watchdog();
    EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
    notifier->stopping("draining calls in flight");
    EXPECT_EQ(systemd.receive(), "STOPPING=1\nSTATUS=draining calls in flight");
}

TEST_F(systemd_notifier_test, sends_reloading_with_the_monotonic_clock) {
    auto notifier = systemd_notifier();
    const auto before = monotonic_now();
    notifier->reloading("reloading playbooks");
    const auto after = monotonic_now();
    const std::optional<std::string> datagram = systemd.receive();
    ASSERT_TRUE(datagram);
    std::smatch parts;
    ASSERT_TRUE(std::regex_match(*datagram, parts,
                                 std::regex("RELOADING=1\nMONOTONIC_USEC=([0-9]+)\nSTATUS=reloading playbooks")))
        << *datagram;
    const std::chrono::microseconds stamp(std::stoll(parts[1].str()));
    EXPECT_LE(before, stamp);
    EXPECT_LE(stamp, after);
    notifier->ready("running 3 playbooks");
    EXPECT_EQ(systemd.receive(), "READY=1\nSTATUS=running 3 playbooks");
}

TEST_F(systemd_notifier_test, reads_half_the_watchdog_timeout) {
    scoped_environment usec("WATCHDOG_USEC", "4000000");
    scoped_environment pid("WATCHDOG_PID", std::to_string(::getpid()));
    EXPECT_EQ(systemd_notifier()->watchdog_period(), std::chrono::microseconds(2s));
}

TEST_F(systemd_notifier_test, has_no_watchdog_period_when_the_watchdog_is_for_another_process) {
    scoped_environment usec("WATCHDOG_USEC", "4000000");
    scoped_environment pid("WATCHDOG_PID", std::to_string(::getpid() + 1));
    EXPECT_EQ(systemd_notifier()->watchdog_period(), std::nullopt);
}

TEST(systemd_notifier, does_nothing_without_systemd) {
    scoped_environment socket_variable("NOTIFY_SOCKET", std::nullopt);
    scoped_environment usec("WATCHDOG_USEC", std::nullopt);
    auto notifier = systemd_notifier();
    notifier->ready("running");
    notifier->reloading("reloading");
    notifier->status("status");
    notifier->watchdog();
    notifier->stopping("stopping");
    EXPECT_EQ(notifier->watchdog_period(), std::nullopt);
}

TEST(systemd_notifier, drops_a_message_systemd_is_not_there_to_receive) {
    test::temp_dir dir;
    scoped_environment socket_variable("NOTIFY_SOCKET", (dir / "gone.sock").string());
    auto notifier = systemd_notifier();
    notifier->ready("running");
    notifier->watchdog();
    SUCCEED() << "no exception, no crash: the daemon goes on without systemd";
}

}  // namespace
}  // namespace s1pilot::ops
