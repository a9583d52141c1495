#pragma once
// Every default and every limit of the configuration and playbook formats, in one place.
// docs/configuration.md and docs/playbooks.md list the same values; change both together.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace s1pilot::config::defaults {

using namespace std::chrono_literals;

// --- daemon configuration (DESIGN §2) -----------------------------------------------------------
inline constexpr std::string_view config_path = "/etc/s1pilot/s1pilot.yaml";
inline constexpr std::string_view config_env = "S1PILOT_CONFIG";
inline constexpr std::string_view playbooks = "/etc/s1pilot/playbooks";
inline constexpr std::string_view state = "/var/lib/s1pilot/state.db";
inline constexpr std::string_view audit_path = "/var/log/s1pilot/audit.jsonl";
inline constexpr std::uint64_t audit_rotate_size = 100ull * 1024 * 1024;  // 100MiB
inline constexpr int audit_keep = 20;
inline constexpr std::string_view admin_host = "127.0.0.1";
inline constexpr std::uint16_t admin_port = 9109;

inline constexpr double read_rate = 5;  // requests per second (GET)
inline constexpr int read_burst = 10;
inline constexpr double write_rate = 2;  // requests per second (POST)
inline constexpr int write_burst = 4;
inline constexpr std::chrono::milliseconds connect_timeout = 10s;
inline constexpr std::chrono::milliseconds request_timeout = 30s;
inline constexpr std::chrono::milliseconds call_timeout = 120s;  // every attempt and wait of one call
inline constexpr int batch_size = 100;
// Pacing (policy::adaptation_settings): 1 % under the configured rate (2 % cost B1 2.5 % of its
// efficiency and bought nothing: 0 x 429 in 9 runs at 1 %, 3 of them with both cores busy). On a
// 429, honour Retry-After, then resume at 85 % (or just under what the console was measured to
// take, when that is less) and recover 15 % of the rate a second (back in about a second); above
// a measured rate, 2 % of it a second.
inline constexpr double pacing_margin = 0.01;
inline constexpr double throttle_decrease = 0.85;
inline constexpr double throttle_recovery_step = 0.15;
inline constexpr double throttle_probe_step = 0.02;
inline constexpr int max_batch_size = 1000;

inline constexpr int retry_max_attempts = 5;
inline constexpr std::chrono::milliseconds retry_base = 500ms;
inline constexpr std::chrono::milliseconds retry_cap = 30s;
// The retry budget per console (policy::retry_budget): it starts full; each first attempt earns
// a fifth of a retry and two retries a second are always allowed, never more than 20 saved up.
inline constexpr double retry_budget_ratio = 0.2;
inline constexpr double retry_budget_per_second = 2;
inline constexpr double retry_budget_max = 20;

inline constexpr std::string_view log_level = "info";
inline constexpr std::string_view log_format = "json";

// --- the daemon's lifecycle (DESIGN §7) -------------------------------------------------------
inline constexpr std::chrono::milliseconds max_splay = 10s;  // a polled playbook's first run waits up to this
inline constexpr std::chrono::milliseconds stale_pending_after =
    15min;                                                          // older pending rows are not resent at start-up
inline constexpr std::chrono::milliseconds recovery_interval = 3s;  // a failed write is retried this often
inline constexpr std::chrono::milliseconds startup_timeout = 60s;   // start-up reconciliation's bound
inline constexpr std::chrono::milliseconds drain_timeout = 30s;     // calls in flight after SIGTERM
inline constexpr std::chrono::milliseconds watch_debounce = 300ms;  // quiet time after a playbook change

// --- leadership on a shared PostgreSQL ledger (DESIGN §9) ----------------------------------------
inline constexpr std::string_view cluster = "default";  // instances with the same cluster share one lock
inline constexpr std::size_t max_cluster_name = 64;
inline constexpr std::chrono::milliseconds lease_retry = 2s;  // a standby tries the lock this often
inline constexpr std::chrono::milliseconds min_lease_retry = 100ms;
inline constexpr std::chrono::milliseconds max_lease_retry = 60s;
inline constexpr std::chrono::milliseconds lease_grace = 5s;  // timeouts.call + this before another's pending row
inline constexpr std::chrono::milliseconds max_lease_grace = 10min;
// The active checks its session this often, and a check unanswered for this long is a lost session:
// a database that dies stops the sending within check_every + check_timeout (1 s).
inline constexpr std::chrono::milliseconds lease_check_every = 250ms;
inline constexpr std::chrono::milliseconds lease_check_timeout = 750ms;

// --- playbooks (DESIGN §3) ----------------------------------------------------------------------
inline constexpr int max_threats = 50;
inline constexpr std::chrono::milliseconds min_every = 5s;
inline constexpr std::chrono::milliseconds confirm_within = 15min;  // following an accepted mitigation
inline constexpr std::chrono::milliseconds min_confirm_within = 10s;
inline constexpr std::chrono::milliseconds max_confirm_within = 7 * 24h;

// --- input limits: refuse hostile or accidental monsters before walking them --------------------
inline constexpr std::uintmax_t max_file_size = 1024 * 1024;  // 1 MiB, playbooks and configuration
inline constexpr int max_depth = 64;                          // nesting levels of a YAML document
inline constexpr std::size_t max_nodes = 100000;              // nodes visited, aliases included
inline constexpr std::size_t max_secret_size = 64 * 1024;     // a token file larger than this is wrong

}  // namespace s1pilot::config::defaults
