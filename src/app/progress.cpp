#include "progress.hpp"

#include "s1pilot/core/time.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <unistd.h>

namespace s1pilot::app {

std::string terminal_progress::describe(const engine::progress_event& e) {
    using kind = engine::progress_event::kind;
    switch (e.what) {
        case kind::page: return fmt::format("{}: resolving… {} threats", e.playbook, e.done);
        case kind::batch: return fmt::format("{}: {} batch {}/{}", e.playbook, e.detail, e.done, e.total);
        case kind::rate_wait:
            return fmt::format("console {}: waiting {} for the {} rate limit", e.detail,
                               core::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(e.wait)),
                               e.write ? "write" : "read");
    }
    return {};
}

void terminal_progress::on(const engine::progress_event& e) {
    const auto now = std::chrono::steady_clock::now();
    // A batch's last and a long wait are always worth showing; the rest at most 10 times a second.
    const bool notable = (e.what == engine::progress_event::kind::batch && e.done == e.total) ||
                         (e.what == engine::progress_event::kind::rate_wait && e.wait > std::chrono::seconds(1));
    if (!notable && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    auto line = describe(e);
    if (line.size() > 100) line.resize(100);
    // The cursor goes back to the line's start: a log line written meanwhile overwrites it
    // rather than being glued to its end.
    std::fprintf(out_, "\r\x1b[2K%s\r", line.c_str());
    std::fflush(out_);
    shown_ = true;
}

void terminal_progress::clear() {
    if (!shown_) return;
    std::fputs("\r\x1b[2K", out_);
    std::fflush(out_);
    shown_ = false;
}

bool progress_wanted(const config::log_config& log) {
    if (log.format != config::log_format::text) return false;
    // systemd sets these for its services (and JOURNAL_STREAM when stderr is the journal).
    if (std::getenv("INVOCATION_ID") != nullptr || std::getenv("JOURNAL_STREAM") != nullptr) return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::string_view(term) == "dumb") return false;
    return ::isatty(STDERR_FILENO) == 1;
}

engine::progress_sink sink_for(terminal_progress* progress) {
    if (progress == nullptr) return {};
    return [progress](const engine::progress_event& e) { progress->on(e); };
}

}  // namespace s1pilot::app
