#pragma once
// Progress of `once` and `plan` on a terminal: one line on stderr, rewritten in place at most
// ten times a second (pages resolved, batches sent, waits on the rate limit), and erased when
// the work ends. Shown only when stderr is a terminal, the log is text, and the process is not
// under systemd: a journal or a JSON log gets none of it.

#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/engine/engine.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace s1pilot::app {

class terminal_progress {
public:
    explicit terminal_progress(std::FILE* out) : out_(out) {}
    ~terminal_progress() { clear(); }
    terminal_progress(const terminal_progress&) = delete;
    terminal_progress& operator=(const terminal_progress&) = delete;

    void on(const engine::progress_event& e);
    /// Erases the line (before the summary is printed).
    void clear();

    /// The text for an event (for tests): `contain: resolving… 12000 threats`.
    static std::string describe(const engine::progress_event& e);

private:
    std::FILE* out_;
    std::chrono::steady_clock::time_point last_{};
    bool shown_ = false;
};

/// Whether progress belongs on stderr: a terminal, a text log, and not under systemd.
bool progress_wanted(const config::log_config& log);

/// The engine's sink for `progress` (empty when it is null).
engine::progress_sink sink_for(terminal_progress* progress);

}  // namespace s1pilot::app
