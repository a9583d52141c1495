#pragma once
// The daemon's lifecycle (DESIGN.md §7), in the library so that it is tested in-process: signals,
// bounded start-up reconciliation, readiness with its reasons, systemd notifications (READY,
// RELOADING, STATUS, WATCHDOG, STOPPING), reload on SIGHUP or a change in the playbook files,
// and the drain on SIGTERM. `s1pilot run` only wires it.
//
// Thread model: everything runs on the engine's executor (one io_context thread).
//
// Reload: load and validate everything; swap only when all of it is valid. Otherwise the old set
// keeps running and `config.rejected` is audited with every problem as `file:line:col: message`.
// Runs in flight finish on their old snapshot.

#include "s1pilot/config/defaults.hpp"
#include "s1pilot/config/load.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/ops/notifier.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace s1pilot::ops {

struct service_options {
    /// Start-up reconciliation gets this long; undecided rows are then left to the first runs.
    std::chrono::milliseconds startup_timeout = config::defaults::startup_timeout;
    /// After SIGTERM, calls in flight get this long to finish.
    std::chrono::milliseconds drain_timeout = config::defaults::drain_timeout;
    /// Watch the playbook files and reload on a change, this long after the last one.
    bool watch_playbooks = true;
    std::chrono::milliseconds watch_debounce = config::defaults::watch_debounce;
};

/// Where the service stands, with the reasons it is not ready.
struct readiness {
    bool ready = false;
    std::vector<std::string> reasons;
};

/// SIGTERM, SIGINT and SIGHUP taken from the first moment of the process: create it before
/// anything slow. Signals that arrive before a service adopts it are queued, not lost.
class process_signals {
public:
    explicit process_signals(boost::asio::any_io_executor executor);
    ~process_signals();
    process_signals(const process_signals&) = delete;
    process_signals& operator=(const process_signals&) = delete;

    struct impl;
    std::unique_ptr<impl> impl_;
};

class service {
public:
    /// Reads the configuration and playbooks again (a reload).
    using loader = std::function<config::load_result()>;

    /// `signals` (optional; tests call request_stop and request_reload instead) are adopted at
    /// once: SIGTERM/SIGINT stop, SIGHUP reloads. `engine`, `notify` and `signals` must outlive
    /// the service.
    service(engine::engine& engine, notifier& notify, loader load, process_signals* signals,
            service_options options = {});
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// The daemon's life: reconcile (bounded), schedule, READY=1, then reload on SIGHUP or a
    /// change, until SIGTERM/SIGINT; then drain. Returns the exit code: 0, also when the drain
    /// timeout abandoned calls (their rows stay pending for the next start's reconciliation; see
    /// drained()). A second stop signal exits the process at once.
    boost::asio::awaitable<int> run();
    /// After run(): false when calls were still in flight at the drain timeout. Their coroutines
    /// still hold the engine: the process must exit without unwinding them (std::_Exit).
    bool drained() const noexcept;

    /// What SIGHUP does (also a change in the playbook files). Queued when one is going.
    void request_reload(std::string why);
    /// What the first SIGTERM does.
    void request_stop(std::string why);

    readiness ready() const;
    /// Reloads taken and refused so far.
    std::size_t reloads() const noexcept;
    std::size_t rejections() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// The problems of a load as `file:line:col: message` lines (errors only).
std::vector<std::string> problems_of(const config::load_result& loaded);

}  // namespace s1pilot::ops
