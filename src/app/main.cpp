// s1pilot: parses the command line and hands over to a subcommand (one file each).
#include "s1pilot/config/defaults.hpp"

#include <cstdio>
#include <exception>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "commands.hpp"

namespace {

// The process holds console tokens and the audit key in memory: a crash must never write them to
// a core file, and no other process of the same user may read them through ptrace or /proc/PID/mem.
// Best effort: a failure here (an unusual sandbox) is no reason not to run.
void keep_secrets_out_of_core_dumps() {
    (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit none{0, 0};
    (void)::setrlimit(RLIMIT_CORE, &none);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace s1pilot;
    keep_secrets_out_of_core_dumps();
    CLI::App app{"s1pilot: carries out SentinelOne response playbooks", "s1pilot"};
    app.require_subcommand(1);
    app.fallthrough();  // `s1pilot validate -c FILE` as well as `s1pilot -c FILE validate`

    app::common_options common;
    common.config_path = std::string(config::defaults::config_path);
    common.config = app.add_option("-c,--config", common.config_path, "Daemon configuration file")
                        ->envname(std::string(config::defaults::config_env))
                        ->capture_default_str();

    int exit = app::exit_ok;
    app::add_validate_command(app, common, exit);
    app::add_schema_command(app, exit);
    app::add_version_command(app, exit);
    app::add_once_command(app, common, exit);
    app::add_run_command(app, common, exit);
    app::add_audit_command(app, exit);
    app::add_admin_commands(app, common, exit);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? app::exit_ok : app::exit_usage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "s1pilot: %s\n", e.what());
        return app::exit_failure;
    }
    return exit;
}
