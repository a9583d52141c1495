#pragma once
// Helpers shared by the config tests: load fixtures and see diagnostics as a user sees them.

#include "s1pilot/config/load.hpp"
#include "s1pilot/core/diagnostic.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace s1pilot::config::fixtures {

inline const std::filesystem::path data_dir = std::filesystem::path(S1PILOT_TEST_DATA) / "config";
inline const std::filesystem::path invalid_dir = data_dir / "invalid";
inline const std::filesystem::path valid_dir = data_dir / "valid";

/// `file:line:col: message` for each diagnostic, with `strip` removed from the file names so
/// that expectations read like what a user types.
inline std::vector<std::string> messages(const std::vector<core::diagnostic>& diagnostics,
                                         const std::filesystem::path& strip) {
    std::vector<std::string> out;
    const std::string prefix = strip.string() + "/";
    for (auto d : diagnostics) {
        if (d.file.starts_with(prefix)) d.file = d.file.substr(prefix.size());
        out.push_back(core::to_string(d));
    }
    return out;
}

/// Loads playbooks from the invalid fixtures folder; messages relative to it.
inline std::vector<std::string> invalid_playbooks(const std::vector<std::string>& names) {
    std::vector<std::filesystem::path> files;
    for (const auto& n : names) files.push_back(invalid_dir / n);
    return messages(load_playbooks(files).diagnostics, invalid_dir);
}

}  // namespace s1pilot::config::fixtures
