#pragma once
// The daemon configuration (DESIGN §2) as a typed struct. A value of these types has been
// validated: downstream code never checks it again. Defaults come from defaults.hpp.

#include "s1pilot/config/defaults.hpp"
#include "s1pilot/config/secret.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s1pilot::config {

/// A token bucket: `rate` requests per second on average, up to `burst` at once.
struct rate_limit {
    double rate = 0;  ///< > 0
    int burst = 0;    ///< >= 1
    bool operator==(const rate_limit&) const = default;
};

/// `http://host:port`: an HTTP proxy that HTTPS goes through with CONNECT.
struct proxy_config {
    std::string host;
    std::uint16_t port = 0;
    bool operator==(const proxy_config&) const = default;
};

struct console_config {
    std::string name;  ///< the key under `consoles:`; playbooks refer to it
    std::string url;   ///< `https://host[:port]`, no trailing slash, no path
    std::string host;  ///< from url
    std::uint16_t port = 443;
    secret_source token_source;
    secret token;                                  ///< filled by load_config when secrets are read; empty otherwise
    std::optional<std::filesystem::path> ca_file;  ///< absent: the system trust store
    std::optional<proxy_config> proxy;
    rate_limit read{defaults::read_rate, defaults::read_burst};
    rate_limit write{defaults::write_rate, defaults::write_burst};
    std::chrono::milliseconds connect_timeout = defaults::connect_timeout;
    std::chrono::milliseconds request_timeout = defaults::request_timeout;
    std::chrono::milliseconds call_timeout = defaults::call_timeout;  ///< all attempts and waits of one call
    int batch_size = defaults::batch_size;                            ///< threat ids per action call; 1..max_batch_size
};

struct audit_config {
    std::filesystem::path path{defaults::audit_path};
    std::uint64_t rotate_size = defaults::audit_rotate_size;  ///< bytes
    int keep = defaults::audit_keep;                          ///< rotated files kept; >= 1
    std::optional<secret_source> hmac_key_source;             ///< absent: plain SHA-256 chain
    secret hmac_key;                                          ///< filled when secrets are read
};

struct admin_config {
    std::string host{defaults::admin_host};
    std::uint16_t port = defaults::admin_port;
    std::optional<secret_source> token_source;  ///< absent: POST endpoints answer 403
    secret token;                               ///< filled when secrets are read
};

struct retry_config {
    int max_attempts = defaults::retry_max_attempts;  ///< >= 1, counts the first attempt
    std::chrono::milliseconds base = defaults::retry_base;
    std::chrono::milliseconds cap = defaults::retry_cap;  ///< >= base
};

enum class log_level { trace, debug, info, warn, error };
enum class log_format { json, text };

struct log_config {
    log_level level = log_level::info;
    log_format format = log_format::json;
};

/// Leadership among instances that share a PostgreSQL ledger (DESIGN §9).
struct lease_config {
    /// A standby tries to take the cluster's lock this often; a lost session is reopened this often.
    std::chrono::milliseconds retry = defaults::lease_retry;
    /// A row left pending by another instance (or an earlier session) is reconciled only once the
    /// call deadline and this much more have passed since it was written.
    std::chrono::milliseconds grace = defaults::lease_grace;
    bool operator==(const lease_config&) const = default;
};

struct daemon_config {
    std::filesystem::path file;                      ///< the configuration file this came from
    std::map<std::string, console_config> consoles;  ///< at least one
    /// The playbook files, resolved: a configured directory is expanded to its `*.yaml`/`*.yml`
    /// files (sorted); relative paths are resolved against the configuration's directory.
    std::vector<std::filesystem::path> playbook_files;
    std::filesystem::path playbook_dir;  ///< the configured directory; empty when a list was given
    /// The SQLite ledger's file; empty when `state:` is a PostgreSQL URI (`state_uri`).
    std::filesystem::path state{defaults::state};
    /// `state: postgresql://USER@HOST:PORT/DATABASE` (DESIGN §9): the shared ledger. Holds no
    /// password (refused at load); empty for SQLite.
    std::string state_uri;
    std::optional<secret_source> state_password_source;  ///< `state_password:`; only with state_uri
    secret state_password;                               ///< filled when secrets are read
    /// Instances on one PostgreSQL ledger with the same cluster name compete for one lock; the
    /// holder is active. Shards of many consoles use one name each. Accepted, and moot, on SQLite.
    std::string cluster{defaults::cluster};
    lease_config lease;
    audit_config audit;
    admin_config admin;
    retry_config retry;
    log_config log;
};

}  // namespace s1pilot::config
