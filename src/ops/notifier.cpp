// sd_notify datagrams: one formatting for the real notifier and the recording one, so a test of
// the lifecycle sees the very text systemd would receive.
#include "s1pilot/ops/notifier.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace s1pilot::ops {
namespace {

// A line break would end the STATUS= field and let the rest be read as another assignment.
std::string one_line(std::string_view text) {
    std::string line(text);
    std::replace_if(
        line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return line;
}

std::chrono::microseconds monotonic_now() {
    // CLOCK_MONOTONIC by name: systemd compares MONOTONIC_USEC with its own reading of that clock,
    // and std::chrono::steady_clock does not promise to be it.
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return std::chrono::seconds(now.tv_sec) +
           std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(now.tv_nsec));
}

std::optional<std::chrono::microseconds> watchdog_from_environment() {
    std::uint64_t usec = 0;
    // 0: leave the environment as it is; unsetting matters only for children, and s1pilot starts
    // none. WATCHDOG_PID, when set, must name this process (libsystemd checks it).
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    // Half the timeout: one missed tick (a slow loop iteration) must not get the daemon killed.
    return std::chrono::microseconds(usec / 2);
}

class systemd_notifier_impl final : public notifier {
public:
    systemd_notifier_impl() : period_(watchdog_from_environment()) {}

    void ready(std::string_view text) override { send(notify_message::ready(text)); }
    void reloading(std::string_view text) override { send(notify_message::reloading(text, monotonic_now())); }
    void stopping(std::string_view text) override { send(notify_message::stopping(text)); }
    void status(std::string_view text) override { send(notify_message::status(text)); }
    void watchdog() override { send(notify_message::watchdog()); }
    std::optional<std::chrono::microseconds> watchdog_period() const override { return period_; }

private:
    static void send(const std::string& message) {
        // 0: keep NOTIFY_SOCKET set, so that later messages (watchdog, stopping) still reach
        // systemd. The result is dropped on purpose (see systemd_notifier in the header).
        (void)sd_notify(0, message.c_str());
    }

    std::optional<std::chrono::microseconds> period_;
};

}  // namespace

namespace notify_message {

std::string ready(std::string_view status) {
    return "READY=1\nSTATUS=" + one_line(status);
}

std::string reloading(std::string_view status, std::chrono::microseconds monotonic_now) {
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_now.count()) + "\nSTATUS=" + one_line(status);
}

std::string stopping(std::string_view status) {
    return "STOPPING=1\nSTATUS=" + one_line(status);
}

std::string status(std::string_view status) {
    return "STATUS=" + one_line(status);
}

std::string watchdog() {
    return "WATCHDOG=1";
}

}  // namespace notify_message

std::unique_ptr<notifier> systemd_notifier() {
    return std::make_unique<systemd_notifier_impl>();
}

void recording_notifier::ready(std::string_view text) {
    messages.push_back(notify_message::ready(text));
}

void recording_notifier::reloading(std::string_view text) {
    messages.push_back(notify_message::reloading(text, monotonic_now()));
}

void recording_notifier::stopping(std::string_view text) {
    messages.push_back(notify_message::stopping(text));
}

void recording_notifier::status(std::string_view text) {
    messages.push_back(notify_message::status(text));
}

void recording_notifier::watchdog() {
    messages.push_back(notify_message::watchdog());
}

}  // namespace s1pilot::ops
