#include "systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace s1pilot::app {
namespace {

void send(const std::string& message) {
    // 0: keep NOTIFY_SOCKET set, so that later messages (watchdog, stopping) still reach systemd.
    (void)sd_notify(0, message.c_str());
}

}  // namespace

void notify_ready(std::string_view status) {
    send("READY=1\nSTATUS=" + std::string(status));
}

void notify_stopping(std::string_view status) {
    send("STOPPING=1\nSTATUS=" + std::string(status));
}

void notify_watchdog() {
    send("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_period() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

}  // namespace s1pilot::app
