#pragma once
// POSIX file operations the audit writer needs, with errors as messages naming the file.

#include "s1pilot/audit/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace s1pilot::audit::detail {

/// The last complete line of a log file, and how many bytes of an unterminated tail were cut.
struct log_tail {
    std::optional<std::string> last_line;  ///< without its newline; nullopt for an empty file
    std::uint64_t size = 0;                ///< the file's size after any truncation
    std::uint64_t truncated = 0;
};

/// Reads the last line of the open file `fd` (a regular file). With `repair`, an unterminated
/// tail is truncated and the truncation synced.
result<log_tail> read_tail(int fd, const std::filesystem::path& path, bool repair);

/// write(2) until everything is written (short writes and EINTR continue).
result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path);

/// fsync of the directory holding `path`, so that a created or renamed entry survives a crash.
result<void> sync_directory(const std::filesystem::path& path);

std::string errno_message(std::string_view what, const std::filesystem::path& path, int error_number);

}  // namespace s1pilot::audit::detail
