// `s1pilot validate [-c CONFIG] [PLAYBOOK...]`: every problem of every file on stderr, one
// summary line on stdout, exit 0 (valid; warnings allowed) or 3 (invalid).
#include "s1pilot/config/load.hpp"

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"

namespace s1pilot::app {
namespace {

struct validate_options {
    std::vector<std::string> playbooks;
};

std::string plural(std::size_t n, std::string_view word) {
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

int run_validate(const common_options& common, const validate_options& options) {
    std::vector<std::filesystem::path> files(options.playbooks.begin(), options.playbooks.end());
    config::load_result result;
    // Playbooks alone are checked without a configuration unless one was asked for explicitly;
    // with no playbook named, the configuration (default path included) and its playbooks are.
    if (files.empty())
        result = config::load_config(common.config_path);
    else if (common.config_given())
        result = config::load_config(common.config_path, files);
    else
        result = config::load_playbooks(files);

    std::size_t errors = 0;
    std::size_t warnings = 0;
    std::set<std::string> files_with_errors;
    for (const auto& d : result.diagnostics) {
        std::fprintf(stderr, "%s\n", core::to_string(d).c_str());
        if (d.level == core::severity::error) {
            ++errors;
            files_with_errors.insert(d.file);
        } else {
            ++warnings;
        }
    }
    if (errors > 0) {
        std::printf("invalid: %s, %s in %s\n", plural(errors, "error").c_str(), plural(warnings, "warning").c_str(),
                    plural(files_with_errors.size(), "file").c_str());
        return exit_invalid;
    }
    const std::string what = (result.config ? "configuration and " : "") + plural(result.playbooks.size(), "playbook");
    std::printf("ok: %s valid, %s\n", what.c_str(), plural(warnings, "warning").c_str());
    return exit_ok;
}

}  // namespace

void add_validate_command(CLI::App& app, const common_options& common, int& exit) {
    auto options = std::make_shared<validate_options>();
    auto* command = app.add_subcommand(
        "validate",
        "Validate the configuration and its playbooks (or the PLAYBOOK files and directories given), "
        "reporting every problem as file:line:col: message. Exit 0 when valid, 3 when not.");
    command->add_option("playbooks", options->playbooks,
                        "Playbook files or directories (default: the configuration's)");
    command->callback([&common, &exit, options] { exit = run_validate(common, *options); });
}

}  // namespace s1pilot::app
