#pragma once
// The systemd notification protocol (sd_notify), for `Type=notify` units. Every call is a no-op
// when the process was not started by systemd (NOTIFY_SOCKET unset).

#include <chrono>
#include <optional>
#include <string_view>

namespace s1pilot::app {

/// READY=1 with a STATUS= line: start-up (reconciliation included) is done.
void notify_ready(std::string_view status);
/// STOPPING=1 with a STATUS= line: the drain has begun.
void notify_stopping(std::string_view status);
/// WATCHDOG=1: the event loop is alive.
void notify_watchdog();
/// How often to send WATCHDOG=1 (half the unit's WatchdogSec=), or nullopt when no watchdog is
/// configured for this process.
std::optional<std::chrono::microseconds> watchdog_period();

}  // namespace s1pilot::app
