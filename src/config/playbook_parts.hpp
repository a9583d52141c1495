#pragma once
// Internal: the parsers of a playbook's parts, called by parse_playbook (playbook_parse.cpp).

#include "s1pilot/config/daemon_config.hpp"
#include "s1pilot/config/playbook.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "yaml_reader.hpp"

namespace s1pilot::config::detail {

/// `match:` → a validated threat filter that satisfies the scope rule (DESIGN §3).
std::optional<filter::threat_filter> parse_match(reader& r, const entry& match, bool allow_tenant_wide);

/// `actions:` → at least one action, no two equal. `target` decides which actions are possible.
std::optional<std::vector<action>> parse_actions(reader& r, const entry& actions, target_kind target);

}  // namespace s1pilot::config::detail

namespace s1pilot::config::detail {

/// Where a playbook's set-level facts are written, for load.cpp's messages.
struct playbook_positions {
    YAML::Mark top;
    YAML::Mark name;
    std::optional<YAML::Mark> console;
};

/// The whole playbook file (playbook_parse.cpp), or nullopt when it has any error. Set-level
/// checks (unique names, consoles) are load.cpp's.
std::optional<playbook> parse_playbook_text(reader& r, std::string_view text, playbook_positions* positions = nullptr);

/// Where the configuration names things that load.cpp checks on disk (secrets, files).
struct config_positions {
    YAML::Mark top;
    std::optional<YAML::Mark> playbooks;
    std::map<std::string, YAML::Mark> console_token;
    std::map<std::string, YAML::Mark> console_ca;
    std::optional<YAML::Mark> hmac_key;
    std::optional<YAML::Mark> admin_token;
    std::optional<YAML::Mark> state_password;
};

/// The whole configuration file (config_parse.cpp); `base` is the configuration's directory.
/// Returns what was understood even when there were errors (the caller counts them), so that
/// the playbooks it names are still checked; nullopt when the document itself is unusable.
std::optional<daemon_config> parse_config_text(reader& r, std::string_view text, const std::filesystem::path& base,
                                               config_positions* positions = nullptr);

}  // namespace s1pilot::config::detail
