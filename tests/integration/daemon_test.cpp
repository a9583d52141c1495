// `s1pilot run` under systemd's notification protocol (Type=notify, WatchdogSec=): the test plays
// systemd with a datagram socket as NOTIFY_SOCKET. READY=1 comes after start-up, WATCHDOG=1 from
// the event loop, a SIGHUP reloads (RELOADING=1, then READY=1 again), and SIGTERM brings
// STOPPING=1, daemon.stop in the audit log and exit 0.

#include <gtest/gtest.h>

#include <csignal>

#include "notify_socket.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

TEST(Daemon, TellsSystemdItIsReadyAliveReloadingAndStopping) {
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
    EXPECT_TRUE(wait_until([&] { return contains(systemd.received(), "RELOADING=1"); }, 30s)) << systemd.received();
    EXPECT_TRUE(wait_until([&] { return s.s1pilot.audit_events("config.loaded").size() == 2; }, 30s))
        << daemon->stderr_text();
    EXPECT_EQ(text_of(s.s1pilot.audit_events("config.loaded").back(), "trigger"), "SIGHUP");
    EXPECT_TRUE(daemon->running()) << "a SIGHUP ended the daemon";

    EXPECT_EQ(daemon->stop(SIGTERM), 0) << daemon->stderr_text();
    EXPECT_TRUE(contains(systemd.received(), "STOPPING=1")) << systemd.received();
    EXPECT_EQ(s.s1pilot.audit_events("daemon.stop").size(), 1u);
}

}  // namespace
}  // namespace s1pilot::integration
