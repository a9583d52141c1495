#pragma once
// Running the real binaries from a test: a temporary directory that is removed, child processes
// that are always killed and reaped (even when an assertion ends the test early), bounded waits.
// Output goes to files, not pipes, so a chatty child can never block on a full pipe.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "temp_dir.hpp"

namespace s1pilot::integration {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A fresh directory, removed when the test ends (tests/support/temp_dir.hpp).
using temp_dir = s1pilot::test::temp_dir;

std::string read_text(const fs::path& path);
/// `haystack` holds `needle` (std::string::contains is C++23).
inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}
void write_text(const fs::path& path, const std::string& text);
/// `n` random lowercase hex digits (from the OS's randomness).
std::string random_hex(std::size_t n);

/// Polls `done` every 20 ms until it is true or `timeout` passed; returns its last answer.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

/// True when the tests, and so the s1pilot and s1sim built with them, run under AddressSanitizer
/// (preset `sanitize`): its allocator, its signal handlers and its leak check at exit are then
/// part of every child, and a test that watches a child from outside must say which it means.
constexpr bool under_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

/// The environment that adds `flags` ("name=value:...") to ASAN_OPTIONS for one child; empty
/// without AddressSanitizer. Later flags win, so the suite's own options stay in force otherwise.
std::map<std::string, std::string> address_sanitizer_flags(const std::string& flags);

struct spawn_options {
    std::vector<std::string> argv{};           ///< argv[0] is a path, or a name looked up in PATH
    std::map<std::string, std::string> env{};  ///< set in the child on top of this process's environment
    std::vector<std::string> unset_env{};      ///< removed from the child's environment
    fs::path stdout_file{}, stderr_file{};     ///< required: the child's output is kept here
    fs::path working_dir{};                    ///< empty: this process's
};

/// One child process. The destructor SIGKILLs it if it still runs and reaps it.
class child_process {
public:
    /// Starts it; throws std::runtime_error when the program cannot be started.
    explicit child_process(spawn_options options);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// True while it has not exited (reaps it when it has).
    bool running();
    /// Waits at most `timeout` for the exit. The exit code, 128 + signal when killed by a signal,
    /// or nullopt when it still runs.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    /// Sends `sig` and waits (bounded) for the exit; SIGKILL if `sig` did not end it.
    int stop(int sig);

    std::string stdout_text() const { return read_text(options_.stdout_file); }
    std::string stderr_text() const { return read_text(options_.stderr_file); }
    /// The child's peak resident set size in KiB (getrusage's ru_maxrss), once it has exited.
    std::optional<long> peak_rss_kib() const noexcept { return peak_rss_kib_; }

private:
    void reaped(int status, long max_rss_kib);

    spawn_options options_;
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::optional<long> peak_rss_kib_;
};

struct run_result {
    int code = -1;  ///< exit code, 128 + signal, or -1 when it had to be killed after the timeout
    bool timed_out = false;
    std::string out, err;
    std::optional<long> peak_rss_kib;  ///< the child's peak resident set size
    /// For failure messages: the code and both outputs.
    std::string describe() const;
};

/// Runs a program to its end, killing it after `timeout`.
run_result run_to_end(spawn_options options, std::chrono::milliseconds timeout);

}  // namespace s1pilot::integration
