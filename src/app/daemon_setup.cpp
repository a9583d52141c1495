// Loading, logging, ledger and audit log for the commands that run playbooks.

#include "daemon_setup.hpp"

#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/logging.hpp"
#include "s1pilot/state/postgres_ledger.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "commands.hpp"

namespace s1pilot::app {

state::result<std::unique_ptr<state::ledger>> open_ledger(const config::daemon_config& config, bool read_only,
                                                          const core::clock& clock) {
    if (!config.state_uri.empty()) {
        state::postgres_options options;
        options.read_only = read_only;
        auto ledger = state::postgres_ledger::open(config.state_uri, config.state_password.reveal(), clock, options);
        if (!ledger) return ledger.error();
        return std::unique_ptr<state::ledger>(std::move(*ledger));
    }
    state::sqlite_options options;
    options.read_only = read_only;
    std::filesystem::path path = config.state;
    // A plan before the first run has no ledger yet: nothing is done, which an empty one says.
    if (read_only && !std::filesystem::exists(path)) {
        path = ":memory:";
        options.read_only = false;
    }
    auto ledger = state::sqlite_ledger::open(path, clock, options);
    if (!ledger) return ledger.error();
    return std::unique_ptr<state::ledger>(std::move(*ledger));
}

std::variant<daemon_state, int> set_up(const setup_request& request, const core::clock& clock) {
    auto loaded = config::load_config(request.config_path);
    for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", core::to_string(d).c_str());
    if (!loaded.ok() || !loaded.config) {
        std::fprintf(stderr, "s1pilot: the configuration is not valid; nothing was run\n");
        return exit_invalid;
    }
    daemon_state state;
    state.config = std::move(*loaded.config);
    engine::setup_logging(state.config.log, ::isatty(STDERR_FILENO) == 1);

    for (const auto& name : request.names) {
        const bool known = std::any_of(loaded.playbooks.begin(), loaded.playbooks.end(),
                                       [&](const config::playbook& p) { return p.name == name; });
        if (!known) {
            std::fprintf(stderr, "s1pilot: no playbook named '%s' in %s\n", name.c_str(), request.config_path.c_str());
            return exit_usage;
        }
    }
    // Every playbook stays loaded even when some are named: the names choose what runs, while
    // start-up reconciliation needs every playbook to judge the rows it left pending (a row of
    // an unloaded playbook is never resent).
    state.playbooks = std::move(loaded.playbooks);

    auto ledger = open_ledger(state.config, request.read_only, clock);
    if (!ledger) {
        std::fprintf(stderr, "s1pilot: %s\n", ledger.error().message.c_str());
        return exit_failure;
    }
    state.ledger = std::move(*ledger);

    if (!request.read_only) {
        audit::writer_options options;
        options.path = state.config.audit.path;
        options.rotate_size = state.config.audit.rotate_size;
        options.keep = static_cast<unsigned>(state.config.audit.keep);
        if (state.config.audit.hmac_key_source) options.hmac_key = std::string(state.config.audit.hmac_key.reveal());
        auto writer = audit::writer::open(std::move(options), clock);
        if (!writer) {
            std::fprintf(stderr, "s1pilot: %s\n", writer.error().message.c_str());
            return exit_failure;
        }
        state.audit.emplace(std::move(*writer));
    }
    return state;
}

bool audit_start(daemon_state& state, std::string_view command, bool dry_run) {
    if (!state.audit) return true;
    boost::json::array playbooks;
    for (const auto& p : state.playbooks) playbooks.push_back({{"name", p.name}, {"sha256", p.sha256}});
    boost::json::object loaded;
    loaded["config"] = state.config.file.string();
    loaded["playbooks"] = std::move(playbooks);
    loaded["outcome"] = "success";
    boost::json::object start;
    start["command"] = command;
    start["version"] = S1PILOT_VERSION;
    start["dry_run"] = dry_run;
    for (const auto& record :
         {engine::daemon_event("config.loaded", loaded), engine::daemon_event("daemon.start", start)}) {
        if (auto appended = state.audit->append(record); !appended) {
            std::fprintf(stderr, "s1pilot: %s\n", appended.error().message.c_str());
            return false;
        }
    }
    return true;
}

}  // namespace s1pilot::app
