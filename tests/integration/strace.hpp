#pragma once
// strace around the real binary, for the tests that count or order system calls.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"

namespace s1pilot::integration {

inline bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (!dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / program)) return true;
    }
    return false;
}

/// The environment of a process run under strace: under AddressSanitizer its leak check at exit
/// is off, as it cannot run in a process under ptrace (every untraced child still runs it).
inline std::map<std::string, std::string> traced_environment() {
    return address_sanitizer_flags("detect_leaks=0");
}

/// Calls per system call from the table `strace -c` writes.
inline std::map<std::string, long> syscall_counts(const std::string& table) {
    std::map<std::string, long> calls;
    std::istringstream lines(table);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string field; fields >> field;) f.push_back(field);
        // "% time  seconds  usecs/call  calls  [errors]  syscall"; headers and rules are skipped.
        if (f.size() < 5 || f.back() == "total" || f[3].find_first_not_of("0123456789") != std::string::npos) continue;
        calls[f.back()] = std::stol(f[3]);
    }
    return calls;
}

}  // namespace s1pilot::integration
