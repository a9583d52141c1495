#pragma once
// The real s1pilot binary for one test: a configuration written into the test's directory and
// pointed at a running s1sim, runs of its subcommands with bounded waits, the audit records it
// wrote, and the secret canary (RELIABILITY #13): the token is `CANARY-<random>` and must never
// show up in anything s1pilot prints or writes.

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace s1pilot::integration {

struct console_settings {
    std::string url{};                  ///< https://127.0.0.1:<port>
    std::optional<fs::path> ca_file{};  ///< absent: the system trust store
    int batch_size = 100;
    std::string request_timeout = "60s";
    std::string retry = "{max_attempts: 3, base: 100ms, cap: 2s}";
    /// Generous by default: most tests are about what is sent, not about pacing.
    std::string read_limit = "{rate: 200, burst: 400}";
    std::string write_limit = "{rate: 200, burst: 400}";
    std::string call_timeout = "120s";  ///< timeouts.call: every attempt and wait of one call
    /// The `playbooks:` value instead of the list of files (e.g. a directory, for reloads).
    std::optional<fs::path> playbook_dir{};
    /// The audit log's path instead of `<dir>/audit.jsonl` (e.g. on a small file system).
    std::optional<fs::path> audit_file{};
    /// A file holding the admin token (mode 0600): POST routes of the admin listener are on.
    std::optional<fs::path> admin_token_file{};
};

class pilot {
public:
    /// Files go into `dir`; the token is a fresh canary.
    explicit pilot(const fs::path& dir);

    const std::string& token() const noexcept { return token_; }
    fs::path config_path() const { return dir_ / "s1pilot.yaml"; }
    fs::path audit_path() const { return audit_path_; }
    fs::path state_path() const { return dir_ / "state.db"; }
    /// The console token's file (mode 0600), which the configuration names.
    fs::path token_file() const { return dir_ / "s1-token"; }

    /// Copies a playbook into `<dir>/playbooks/` and returns the copy's path.
    fs::path copy_playbook(const fs::path& source) const;
    /// Writes the configuration: one console `sim` and these playbook files.
    void write_config(const console_settings& console, const std::vector<fs::path>& playbooks) const;

    /// `s1pilot ARGS...` to its end (killed after `timeout`).
    run_result run(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 240s) const;
    /// `WRAPPER... s1pilot ARGS...` to its end: s1pilot run by another program (strace).
    run_result run_under(const std::vector<std::string>& wrapper, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = 240s) const;
    /// `s1pilot once -c CONFIG EXTRA...`.
    run_result once(const std::vector<std::string>& extra = {}) const;
    /// Starts `s1pilot ARGS...` without waiting (the crash tests kill it), with `env` added to its
    /// environment.
    std::unique_ptr<child_process> start(const std::vector<std::string>& args,
                                         const std::map<std::string, std::string>& env = {}) const;

    /// Every audit record, parsed (a line that is not a JSON object is a test failure).
    std::vector<boost::json::object> audit_records() const;
    /// The records of one event (`run.start`, `action.intent`, ...).
    std::vector<boost::json::object> audit_events(std::string_view event) const;

    /// Fails the test if the token appears in any file s1pilot wrote or printed (its outputs,
    /// the audit log, the state database and its WAL, anything else in the directory).
    void expect_token_never_written() const;

private:
    spawn_options spawn(const std::vector<std::string>& args) const;

    fs::path dir_;
    std::string token_;
    mutable fs::path audit_path_ = dir_ / "audit.jsonl";
};

/// `field` of a record as text ("" when absent or not a string).
std::string text_of(const boost::json::object& record, std::string_view field);

}  // namespace s1pilot::integration
