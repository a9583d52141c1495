#pragma once
// What the engine is doing, for `GET /v1/status` and `s1pilot status`: per playbook its last and
// next run, per console its limiters and last error. Plain data, and its JSON form.

#include "s1pilot/core/time.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace s1pilot::engine {

struct last_run {
    std::string run_id;
    std::string trigger;  ///< schedule | webhook | manual | ...
    std::string outcome;  ///< ok | failed | held
    core::timestamp started{};
    core::timestamp ended{};
    std::size_t matched = 0;
    std::size_t acted = 0;
    std::size_t calls = 0;
    std::size_t failures = 0;
    std::string error;
};

struct playbook_status {
    std::string name;
    std::string mode;  ///< enforce | dry-run
    std::string console;
    std::optional<std::chrono::milliseconds> every;
    bool webhook = false;
    bool running = false;
    std::optional<last_run> last;
    std::optional<core::timestamp> next_run;  ///< polled playbooks: when the loop wakes next
    std::size_t runs = 0;                     ///< since the process started
    std::size_t held_runs = 0;
    std::size_t failed_runs = 0;
};

struct limiter_status {
    double configured_rate = 0;
    int burst = 0;
    double current_rate = 0;                  ///< lower than configured after a 429, until recovered
    std::chrono::milliseconds paused_for{0};  ///< a 429's pause still in force
};

struct console_status {
    std::string name;
    std::string url;
    limiter_status read;
    limiter_status write;
    std::uint64_t throttled = 0;  ///< 429s since the process started
    std::string last_error;       ///< the last failed attempt's error (redacted), if any
    std::optional<core::timestamp> last_error_at;
};

struct engine_status {
    bool ready = false;
    std::string reason;  ///< why not ready
    /// `active`, `standby` or `taking over` (leadership.hpp); `active` without a shared ledger.
    std::string role = "active";
    std::string cluster;  ///< the cluster competed in; empty without a shared ledger
    std::uint64_t generation = 0;
    std::size_t active_runs = 0;
    std::vector<playbook_status> playbooks;
    std::vector<console_status> consoles;
};

boost::json::value to_json(const engine_status& s);
/// Reads what to_json wrote (for `s1pilot status`); nullopt when it is not that shape.
std::optional<engine_status> status_from_json(const boost::json::value& v);

}  // namespace s1pilot::engine
