#pragma once
// Log lines on stderr (journald): human text on a terminal, otherwise the configured format
// (`json`: one object per line with time, level, msg and the fields). Secrets never reach here:
// callers pass names, ids and messages the s1 client has already redacted.

#include "s1pilot/config/daemon_config.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1pilot::engine {

/// Extra fields of a line: `playbook`, `run`, `console`, ...
using log_fields = std::vector<std::pair<std::string_view, std::string>>;

/// Sets up the default spdlog logger on stderr. `terminal`: stderr is a TTY (text whatever the
/// configured format).
void setup_logging(const config::log_config& settings, bool terminal);

/// The part of a line after time and level: `"msg":"...","playbook":"..."` in JSON, `msg
/// playbook=...` in text (values with spaces quoted). Pure, for tests.
std::string format_log_body(config::log_format format, std::string_view message, const log_fields& fields);

void log(config::log_level level, std::string_view message, const log_fields& fields = {});
inline void log_info(std::string_view message, const log_fields& fields = {}) {
    log(config::log_level::info, message, fields);
}
inline void log_warn(std::string_view message, const log_fields& fields = {}) {
    log(config::log_level::warn, message, fields);
}
inline void log_error(std::string_view message, const log_fields& fields = {}) {
    log(config::log_level::error, message, fields);
}
/// Writes out what the logger buffered: before an immediate exit.
void flush_logs();

}  // namespace s1pilot::engine
