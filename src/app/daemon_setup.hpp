#pragma once
// What `once`, `plan` and `run` share before the engine starts: the configuration loaded and
// checked (every diagnostic printed; exit 3 when invalid), logging set up, the ledger and the
// audit log opened. Asio-free.

#include "s1pilot/audit/writer.hpp"
#include "s1pilot/config/load.hpp"
#include "s1pilot/core/clock.hpp"
#include "s1pilot/state/ledger.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace s1pilot::app {

struct daemon_state {
    config::daemon_config config;
    std::vector<config::playbook> playbooks;  ///< the selected ones
    std::unique_ptr<state::ledger> ledger;    ///< SQLite, or PostgreSQL when `state:` is a URI
    std::optional<audit::writer> audit;       ///< absent for plan
};

struct setup_request {
    std::string config_path;
    std::vector<std::string> names;  ///< playbooks to keep; empty: all
    bool read_only = false;          ///< plan: ledger read-only, no audit log
};

/// Loads and opens everything, or returns the exit code (3 invalid configuration, 2 unknown
/// playbook name, 1 ledger or audit log unusable) after saying why on stderr.
std::variant<daemon_state, int> set_up(const setup_request& request, const core::clock& clock);

/// The ledger `state:` names: a PostgreSQL URI opens the shared ledger with `state_password`;
/// anything else is the SQLite file (SQLite stays the default). `read_only` for plan.
state::result<std::unique_ptr<state::ledger>> open_ledger(const config::daemon_config& config, bool read_only,
                                                          const core::clock& clock);

/// Appends `config.loaded` (files, playbook names and hashes) and `daemon.start`.
bool audit_start(daemon_state& state, std::string_view command, bool dry_run);

}  // namespace s1pilot::app
