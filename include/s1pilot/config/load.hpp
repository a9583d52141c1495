#pragma once
// Loading: files → typed, validated structs plus every diagnostic of every file. Nothing here
// throws for bad input; a result with an error diagnostic holds nothing a caller may run.

#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/config/playbook.hpp"
#include "s1pilot/core/diagnostic.hpp"

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace s1pilot::config {

struct load_options {
    /// Read every secret the configuration names (tokens, HMAC key) and report unsafe or missing
    /// ones as errors. Off only for tools that must not touch secrets.
    bool read_secrets = true;
};

struct load_result {
    std::optional<daemon_config> config;        ///< set by load_config when the configuration parsed
    std::vector<playbook> playbooks;            ///< the valid ones, in file order
    std::vector<core::diagnostic> diagnostics;  ///< errors and warnings, in file order

    /// No error anywhere: the caller may use config and playbooks.
    bool ok() const noexcept { return !core::has_errors(diagnostics); }
};

/// Whether a file of a playbook directory is a playbook: its name ends in `.yaml` or `.yml`
/// (editor swap and backup files such as `.x.yaml.swp` and `x.yaml~` do not). The one rule for
/// loading a directory and for watching it.
bool is_playbook_file(const std::filesystem::path& p);

/// Loads playbook files (a directory stands for its `*.yaml`/`*.yml` files). Names must be unique
/// across the set (a duplicate reports both locations). With `config`, each playbook's console
/// must exist there, and an omitted console becomes the only configured one.
load_result load_playbooks(const std::vector<std::filesystem::path>& files, const daemon_config* config = nullptr);

/// Loads the daemon configuration and the playbooks it names.
load_result load_config(const std::filesystem::path& path, const load_options& options = {});

/// Loads the configuration and, instead of the playbooks it names, `playbook_files` (checked
/// against its consoles): `s1pilot validate -c CONFIG FILE...`.
load_result load_config(const std::filesystem::path& path, const std::vector<std::filesystem::path>& playbook_files,
                        const load_options& options = {});

/// Parses one playbook from text; `file` labels diagnostics. Console existence and name
/// uniqueness are set-level checks, done by load_playbooks. For tests and fuzzing.
std::optional<playbook> parse_playbook(std::string_view text, const std::filesystem::path& file,
                                       std::vector<core::diagnostic>& diagnostics);

/// Parses a daemon configuration from text (no files read: playbook_files stays empty and no
/// secret is read); relative paths resolve against `file`'s directory.
std::optional<daemon_config> parse_config(std::string_view text, const std::filesystem::path& file,
                                          std::vector<core::diagnostic>& diagnostics);

}  // namespace s1pilot::config
