#pragma once
// The real s1pilot binary for one test: a configuration written into the test's directory and
// pointed at a running s1sim, runs of its subcommands with bounded waits, the audit records it
// wrote, and the secret canaries (RELIABILITY #13). Every configuration holds three secrets, each
// `CANARY-<uuid>` read from a 0600 file: the console token, the admin token and the audit HMAC
// key. When the pilot goes (at the end of every black-box test) it fails the test if any of them
// shows up in anything s1pilot printed or wrote: its stdout and stderr, the audit log, the state
// database and its WAL, core files, any other file in the test's directory.

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
    /// `http://HOST:PORT` of a CONNECT proxy to reach the console through.
    std::string proxy{};
    /// The `state:` value instead of `<dir>/state.db` (a postgresql:// URI), and the file of its
    /// password (mode 0600).
    std::string state{};
    std::optional<fs::path> state_password_file{};
    /// Top-level YAML added at the end (`cluster: ...`, `lease: ...`).
    std::string extra_yaml{};
};

/// A secret s1pilot printed or wrote: which one, and where.
struct secret_leak {
    std::string secret;  ///< `console token`, `admin token` or `audit HMAC key`
    fs::path file;
};

class pilot {
public:
    /// Files go into `dir` (which must outlive the pilot); every secret is a fresh canary.
    explicit pilot(const fs::path& dir);
    /// Fails the test when a secret was written (secrets_written()).
    /// Files go into `dir`, with this console token (instances sharing one console and s1sim).
    pilot(const fs::path& dir, std::string token);
    ~pilot();
    pilot(const pilot&) = delete;
    pilot& operator=(const pilot&) = delete;

    const std::string& token() const noexcept { return token_; }
    const std::string& admin_token() const noexcept { return admin_token_; }
    const std::string& audit_key() const noexcept { return audit_key_; }
    fs::path config_path() const { return dir_ / "s1pilot.yaml"; }
    fs::path audit_path() const { return audit_path_; }
    fs::path state_path() const { return dir_ / "state.db"; }
    /// The secrets' files (mode 0600), which the configuration names.
    fs::path token_file() const { return dir_ / "s1-token"; }
    fs::path admin_token_file() const { return dir_ / "admin-token"; }
    fs::path audit_key_file() const { return dir_ / "audit-key"; }

    /// Copies a playbook into `<dir>/playbooks/` and returns the copy's path.
    fs::path copy_playbook(const fs::path& source) const;
    /// Writes the configuration: one console `sim` and these playbook files.
    void write_config(const console_settings& console, const std::vector<fs::path>& playbooks) const;

    /// `s1pilot ARGS...` to its end (killed after `timeout`).
    run_result run(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 240s) const;
    /// `WRAPPER... s1pilot ARGS...` to its end: s1pilot run by another program (strace, a
    /// terminal), with `env` added to its environment.
    run_result run_under(const std::vector<std::string>& wrapper, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = 240s,
                         const std::map<std::string, std::string>& env = {}) const;
    /// `s1pilot audit ARGS... --key-file KEY`: verify or export this pilot's (keyed) log.
    run_result audit(const std::vector<std::string>& args) const;
    /// `s1pilot once -c CONFIG EXTRA...`.
    run_result once(const std::vector<std::string>& extra = {}) const;
    /// Starts `s1pilot ARGS...` without waiting (the crash tests kill it), with `env` added to its
    /// environment.
    std::unique_ptr<child_process> start(const std::vector<std::string>& args,
                                         const std::map<std::string, std::string>& env = {}) const;
    /// Starts `WRAPPER... s1pilot ARGS...` without waiting, with `env` added to its environment.
    std::unique_ptr<child_process> start_under(const std::vector<std::string>& wrapper,
                                               const std::vector<std::string>& args,
                                               const std::map<std::string, std::string>& env = {}) const;

    /// Every audit record, parsed (a line that is not a JSON object is a test failure).
    std::vector<boost::json::object> audit_records() const;
    /// The records of one event (`run.start`, `action.intent`, ...).
    std::vector<boost::json::object> audit_events(std::string_view event) const;

    /// Every place a secret appears in the directory, outside the secrets' own files and
    /// s1sim's (the harness's). The destructor checks this; a test may check earlier.
    std::vector<secret_leak> secrets_written() const;
    /// Fails the test for each secret written, naming the secret and the file.
    void expect_token_never_written() const;

private:
    spawn_options spawn(const std::vector<std::string>& args) const;

    fs::path dir_;
    std::string token_, admin_token_, audit_key_;
    mutable fs::path audit_path_ = dir_ / "audit.jsonl";
};

/// `CANARY-` and a random version-4 UUID.
std::string canary();

/// The admin listener's port of a started `s1pilot run` (listening on port 0), read from the line
/// it logs; 0 when it did not say within `timeout` or exited first.
std::uint16_t admin_port_of(child_process& daemon, std::chrono::milliseconds timeout = 60s);

/// `field` of a record as text ("" when absent or not a string).
std::string text_of(const boost::json::object& record, std::string_view field);

}  // namespace s1pilot::integration
