// `s1pilot version`: the version, for bug reports and deployment checks.
#include <cstdio>

#include "commands.hpp"

namespace s1pilot::app {

void add_version_command(CLI::App& app, int& exit) {
    auto* command = app.add_subcommand("version", "Print the version and exit");
    command->callback([&exit] {
        std::puts("s1pilot " S1PILOT_VERSION);
        exit = exit_ok;
    });
}

}  // namespace s1pilot::app
