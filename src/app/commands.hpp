#pragma once
// The subcommands of `s1pilot`, one file each; main.cpp only wires them into CLI11.

#include <CLI/CLI.hpp>

#include <string>

namespace s1pilot::app {

/// Exit codes (DESIGN §7).
enum exit_code : int {
    exit_ok = 0,
    exit_failure = 1,
    exit_usage = 2,
    exit_invalid = 3,
    exit_once_failed = 4,
};

/// Options every subcommand shares.
struct common_options {
    std::string config_path;              ///< -c/--config, S1PILOT_CONFIG, or the default
    const CLI::Option* config = nullptr;  ///< to ask whether it was given
    bool config_given() const { return config != nullptr && config->count() > 0; }
};

/// Each adds its subcommand to `app`; when the subcommand runs it stores its exit code in `exit`.
void add_validate_command(CLI::App& app, const common_options& common, int& exit);
void add_schema_command(CLI::App& app, int& exit);
void add_version_command(CLI::App& app, int& exit);
void add_once_command(CLI::App& app, const common_options& common, int& exit);  ///< once and plan
void add_run_command(CLI::App& app, const common_options& common, int& exit);
void add_audit_command(CLI::App& app, int& exit);
void add_admin_commands(CLI::App& app, const common_options& common, int& exit);  ///< health and status

}  // namespace s1pilot::app
