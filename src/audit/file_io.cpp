#include "file_io.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace s1pilot::audit::detail {
namespace {

constexpr std::size_t block_size = std::size_t{64} * 1024;

error io_failure(std::string_view what, const std::filesystem::path& path, int error_number) {
    return error{make_error_code(errc::io_error), errno_message(what, path, error_number)};
}

// The offset of the last '\n' in [0, end), or nullopt.
result<std::optional<std::uint64_t>> last_newline_before(int fd, const std::filesystem::path& path, std::uint64_t end) {
    std::string block(block_size, '\0');
    while (end > 0) {
        std::uint64_t start = end > block_size ? end - block_size : 0;
        auto wanted = static_cast<std::size_t>(end - start);
        auto got = ::pread(fd, block.data(), wanted, static_cast<off_t>(start));
        if (got < 0) {
            if (errno == EINTR) continue;
            return io_failure("cannot read", path, errno);
        }
        if (static_cast<std::size_t>(got) != wanted)
            return error{make_error_code(errc::io_error),
                         fmt::format("audit log {}: file shrank while reading", path.string())};
        for (std::size_t i = wanted; i > 0; --i)
            if (block[i - 1] == '\n') return std::optional<std::uint64_t>{start + i - 1};
        end = start;
    }
    return std::optional<std::uint64_t>{};
}

}  // namespace

std::string errno_message(std::string_view what, const std::filesystem::path& path, int error_number) {
    return fmt::format("audit log {}: {}: {}", path.string(), what, std::strerror(error_number));
}

result<log_tail> read_tail(int fd, const std::filesystem::path& path, bool repair) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) return io_failure("cannot stat", path, errno);
    log_tail tail;
    tail.size = S_ISREG(info.st_mode) ? static_cast<std::uint64_t>(info.st_size) : 0;
    if (tail.size == 0) return tail;

    auto end_of_lines = last_newline_before(fd, path, tail.size);
    if (!end_of_lines) return end_of_lines.error();
    std::uint64_t complete = *end_of_lines ? **end_of_lines + 1 : 0;
    if (complete != tail.size) {
        if (repair) {
            // An unterminated line was never acknowledged (append returns after the whole line is
            // synced), so no action depended on it; removing it lets the chain continue.
            if (::ftruncate(fd, static_cast<off_t>(complete)) != 0) return io_failure("cannot truncate", path, errno);
            if (::fdatasync(fd) != 0) return io_failure("cannot sync", path, errno);
        }
        tail.truncated = tail.size - complete;
        tail.size = complete;
    }
    if (complete == 0) return tail;

    auto start_of_last = last_newline_before(fd, path, complete - 1);
    if (!start_of_last) return start_of_last.error();
    std::uint64_t begin = *start_of_last ? **start_of_last + 1 : 0;
    std::string line(static_cast<std::size_t>(complete - 1 - begin), '\0');
    std::size_t done = 0;
    while (done < line.size()) {
        auto got = ::pread(fd, line.data() + done, line.size() - done, static_cast<off_t>(begin + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return io_failure("cannot read", path, got < 0 ? errno : EIO);
        done += static_cast<std::size_t>(got);
    }
    tail.last_line = std::move(line);
    return tail;
}

result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
        auto written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return io_failure("write failed", path, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    return {};
}

result<void> sync_directory(const std::filesystem::path& path) {
    auto directory = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_failure("cannot open its directory", path, errno);
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    if (rc != 0) return io_failure("cannot sync its directory", path, saved);
    return {};
}

}  // namespace s1pilot::audit::detail
