// `s1pilot run` under systemd's notification protocol (Type=notify, WatchdogSec=): the test plays
// systemd with a datagram socket as NOTIFY_SOCKET. READY=1 comes after start-up, WATCHDOG=1 from
// the event loop, a SIGHUP does not end the daemon (reload is not built yet), and SIGTERM brings
// STOPPING=1, daemon.stop in the audit log and exit 0.

#include <gtest/gtest.h>

#include <csignal>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

/// A unix datagram socket bound in the test's directory, read without blocking.
class notify_socket {
public:
    explicit notify_socket(const fs::path& path) : path_(path) {
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
        fs::remove(path_, ignored);
    }
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    bool bound() const noexcept { return bound_; }
    /// Everything received so far, appended to what was received before.
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
    fs::path path_;
    int fd_ = -1;
    bool bound_ = false;
    std::string messages_;
};

TEST(Daemon, TellsSystemdItIsReadyAliveAndStoppingAndSurvivesAHangUp) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    s.s1pilot.write_config(s.console(), {s.fixture("note-only.yaml")});
    notify_socket systemd(s.dir / "notify.sock");
    ASSERT_TRUE(systemd.bound());

    auto daemon = s.s1pilot.start({"run", "-c", s.s1pilot.config_path().string()},
                                  {{"NOTIFY_SOCKET", (s.dir / "notify.sock").string()}, {"WATCHDOG_USEC", "200000"}});
    ASSERT_TRUE(wait_until([&] { return contains(systemd.received(), "READY=1") || !daemon->running(); }, 60s))
        << daemon->stderr_text();
    ASSERT_TRUE(daemon->running()) << daemon->stderr_text();
    EXPECT_TRUE(contains(systemd.received(), "STATUS=running 1 playbook(s)")) << systemd.received();
    EXPECT_TRUE(wait_until([&] { return contains(systemd.received(), "WATCHDOG=1"); }, 30s)) << systemd.received();

    ASSERT_EQ(::kill(daemon->pid(), SIGHUP), 0);
    EXPECT_TRUE(wait_until([&] { return contains(daemon->stderr_text(), "reloading is not supported yet"); }, 30s))
        << daemon->stderr_text();
    EXPECT_TRUE(daemon->running()) << "a SIGHUP ended the daemon";

    EXPECT_EQ(daemon->stop(SIGTERM), 0) << daemon->stderr_text();
    EXPECT_TRUE(contains(systemd.received(), "STOPPING=1")) << systemd.received();
    EXPECT_EQ(s.s1pilot.audit_events("daemon.stop").size(), 1u);
    s.s1pilot.expect_token_never_written();
}

}  // namespace
}  // namespace s1pilot::integration
