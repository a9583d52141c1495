#include "process.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace s1pilot::integration {

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

std::string random_hex(std::size_t n) {
    std::random_device device;
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += digits[device() % 16];
    return out;
}

std::map<std::string, std::string> address_sanitizer_flags(const std::string& flags) {
    if (!under_address_sanitizer()) return {};
    const char* current = std::getenv("ASAN_OPTIONS");
    return {{"ASAN_OPTIONS", current != nullptr && *current != '\0' ? std::string(current) + ":" + flags : flags}};
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

namespace {

// The child's environment: ours, minus `unset`, with `set` applied.
std::vector<std::string> child_environment(const spawn_options& o) {
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& name : o.unset_env) merged.erase(name);
    for (const auto& [name, value] : o.env) merged[name] = value;
    std::vector<std::string> out;
    for (const auto& [name, value] : merged) out.push_back(name + "=" + value);
    return out;
}

int decode(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

child_process::child_process(spawn_options options) : options_(std::move(options)) {
    if (options_.argv.empty() || options_.stdout_file.empty() || options_.stderr_file.empty())
        throw std::invalid_argument("child_process: argv and both output files are required");
    std::vector<char*> argv;
    for (auto& a : options_.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto env_strings = child_environment(options_);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, options_.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, options_.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // Anything the child writes to a relative path (a core file included) lands where the test looks.
    if (!options_.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, options_.working_dir.c_str());
    int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + options_.argv[0] + ": " + strerror(rc));
    }
}

child_process::~child_process() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
}

void child_process::reaped(int status, long max_rss_kib) {
    status_ = decode(status);
    peak_rss_kib_ = max_rss_kib;
}

bool child_process::running() {
    if (status_) return false;
    int status = 0;
    rusage usage{};
    if (wait4(pid_, &status, WNOHANG, &usage) == pid_) {
        reaped(status, usage.ru_maxrss);
        return false;
    }
    return true;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
    wait_until([&] { return !running(); }, timeout);
    return status_;
}

int child_process::stop(int sig) {
    if (!running()) return *status_;
    ::kill(pid_, sig);
    if (auto code = wait(30s)) return *code;
    ::kill(pid_, SIGKILL);
    int status = 0;
    rusage usage{};
    wait4(pid_, &status, 0, &usage);
    reaped(status, usage.ru_maxrss);
    return *status_;
}

std::string run_result::describe() const {
    std::ostringstream s;
    s << "exit " << code << (timed_out ? " (killed after the timeout)" : "") << "\n--- stdout:\n"
      << out << "\n--- stderr:\n"
      << err;
    return s.str();
}

run_result run_to_end(spawn_options options, std::chrono::milliseconds timeout) {
    child_process child(std::move(options));
    run_result r;
    if (auto code = child.wait(timeout)) {
        r.code = *code;
    } else {
        r.timed_out = true;
        child.stop(SIGKILL);
    }
    r.out = child.stdout_text();
    r.err = child.stderr_text();
    r.peak_rss_kib = child.peak_rss_kib();
    return r;
}

}  // namespace s1pilot::integration
