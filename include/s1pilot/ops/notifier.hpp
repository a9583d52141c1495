#pragma once
// The systemd notification protocol (sd_notify) behind an interface, so that the daemon's
// lifecycle (ready, reloading, stopping, watchdog) can be driven and checked in-process: the
// daemon gets systemd_notifier(), a test a recording_notifier that keeps what would be sent.
//
// A sequence systemd accepts (Type=notify or Type=notify-reload):
//   ready(...)                        once start-up, reconciliation included, is done
//   reloading(...) ... ready(...)     around each reload; ready() ends the reload, even a rejected one
//   stopping(...)                     when the drain begins
//   status(...)                       any time, e.g. the fail-closed reason
//   watchdog()                        every watchdog_period(), from the event loop
//
// A STATUS= text is one line: a line break in it would start another field of the datagram, so
// each one is sent as a space.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::ops {

class notifier {
public:
    virtual ~notifier() = default;

    /// READY=1 and STATUS=: start-up or a reload is over.
    virtual void ready(std::string_view status) = 0;
    /// RELOADING=1, MONOTONIC_USEC= (CLOCK_MONOTONIC now, which Type=notify-reload requires since
    /// systemd 253 and older versions ignore) and STATUS=.
    virtual void reloading(std::string_view status) = 0;
    /// STOPPING=1 and STATUS=: the drain has begun.
    virtual void stopping(std::string_view status) = 0;
    /// STATUS= alone.
    virtual void status(std::string_view status) = 0;
    /// WATCHDOG=1: the event loop is alive.
    virtual void watchdog() = 0;
    /// How often to call watchdog(): half the unit's WatchdogSec= (WATCHDOG_USEC / 2), or nullopt
    /// when systemd set no watchdog for this process.
    virtual std::optional<std::chrono::microseconds> watchdog_period() const = 0;
};

/// Sends with sd_notify. Without NOTIFY_SOCKET (not started by systemd) every call does nothing.
/// A datagram that cannot be sent is dropped: systemd then times the unit out or restarts it on
/// its watchdog, which is the right outcome, and the daemon has nothing better to do. The
/// watchdog period is read from WATCHDOG_USEC/WATCHDOG_PID once, here. Thread-safe.
std::unique_ptr<notifier> systemd_notifier();

/// Keeps every datagram it would send, in order, as the exact text systemd_notifier sends (for
/// tests of the lifecycle). Not thread-safe: use it from one thread, like the event loop.
class recording_notifier final : public notifier {
public:
    explicit recording_notifier(std::optional<std::chrono::microseconds> period = std::nullopt) : period_(period) {}

    void ready(std::string_view status) override;
    void reloading(std::string_view status) override;
    void stopping(std::string_view status) override;
    void status(std::string_view status) override;
    void watchdog() override;
    std::optional<std::chrono::microseconds> watchdog_period() const override { return period_; }

    std::vector<std::string> messages;  ///< e.g. "READY=1\nSTATUS=running 2 playbooks"

private:
    std::optional<std::chrono::microseconds> period_;
};

/// The datagrams, as both notifiers send them. Pure, for tests.
namespace notify_message {
std::string ready(std::string_view status);
/// `monotonic_now`: CLOCK_MONOTONIC at the start of the reload.
std::string reloading(std::string_view status, std::chrono::microseconds monotonic_now);
std::string stopping(std::string_view status);
std::string status(std::string_view status);
std::string watchdog();
}  // namespace notify_message

}  // namespace s1pilot::ops
