// The daemon's lifecycle: signals, bounded start-up, readiness, systemd notifications, reload
// (SIGHUP and the playbook watch), drain.

#include "s1pilot/ops/service.hpp"

#include "s1pilot/engine/events.hpp"
#include "s1pilot/engine/logging.hpp"
#include "s1pilot/ops/directory_watch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>

#include <csignal>
#include <cstdlib>
#include <deque>

namespace s1pilot::ops {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

std::vector<std::string> problems_of(const config::load_result& loaded) {
    std::vector<std::string> out;
    for (const auto& d : loaded.diagnostics)
        if (d.level == core::severity::error) out.push_back(core::to_string(d));
    return out;
}

struct process_signals::impl {
    asio::signal_set stops;
    asio::signal_set hang_ups;
    explicit impl(asio::any_io_executor executor) : stops(executor, SIGTERM, SIGINT), hang_ups(executor, SIGHUP) {}
};

process_signals::process_signals(asio::any_io_executor executor) : impl_(std::make_unique<impl>(executor)) {}
process_signals::~process_signals() = default;

struct service::impl {
    engine::engine& engine;
    notifier& notify;
    loader load;
    service_options options;
    process_signals* signals;
    asio::steady_timer wake;           ///< cancelled to wake the main loop (stop or reload requested)
    asio::steady_timer beat;           ///< the heartbeat's wait
    asio::steady_timer startup_limit;  ///< start-up reconciliation's bound; a stop cancels it
    std::unique_ptr<directory_watch> watch;
    std::deque<std::string> reload_requests;
    std::string stop_reason;
    bool started = false;
    bool stopping = false;
    bool last_ready = false;
    std::string last_status;
    std::size_t reloads = 0;
    std::size_t rejections = 0;
    bool drained = true;

    impl(engine::engine& e, notifier& n, loader l, process_signals* p, service_options o)
        : engine(e),
          notify(n),
          load(std::move(l)),
          options(o),
          signals(p),
          wake(e.executor(), asio::steady_timer::time_point::max()),
          beat(e.executor()),
          startup_limit(e.executor()) {}

    readiness ready() const {
        readiness r;
        if (!started) r.reasons.push_back(stopping ? "stopping" : "starting: reconciling actions left pending");
        if (stopping && started) r.reasons.push_back("stopping");
        if (!engine.ready()) r.reasons.push_back(engine.reason());
        r.ready = r.reasons.empty();
        return r;
    }

    std::string status_line() const {
        const auto r = ready();
        const auto snap = engine.current();
        std::string line = "running " + std::to_string(snap->playbooks.size()) + " playbook(s)";
        if (!r.ready) {
            line = "not ready:";
            for (const auto& why : r.reasons) line += " " + why + ";";
            line.pop_back();
        }
        if (rejections > 0 && r.ready) line += "; last reload rejected (see the audit log)";
        return line;
    }

    /// STATUS= and the log follow readiness: a fail-closed engine is visible within a second.
    void publish() {
        const auto r = ready();
        const auto line = status_line();
        if (line != last_status) notify.status(line);
        if (r.ready != last_ready && started && !stopping) {
            if (r.ready)
                engine::log_info("ready", {{"status", line}});
            else
                engine::log_error("not ready", {{"status", line}});
        }
        last_ready = r.ready;
        last_status = line;
    }

    void listen_for_stops() {
        if (signals == nullptr) return;
        signals->impl_->stops.async_wait([this](const boost::system::error_code& ec, int signal) {
            if (ec) return;
            if (stopping) {
                // A second signal means "now": rows left pending are reconciled at the next start.
                engine::log_error("second signal: exiting at once", {{"signal", std::to_string(signal)}});
                engine::flush_logs();
                std::_Exit(1);
            }
            request_stop(signal == SIGTERM ? "SIGTERM" : "SIGINT");
            listen_for_stops();
        });
    }

    void listen_for_hang_ups() {
        if (signals == nullptr) return;
        signals->impl_->hang_ups.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) return;
            request_reload("SIGHUP");
            listen_for_hang_ups();
        });
    }

    void request_reload(std::string why) {
        if (stopping) return;
        reload_requests.push_back(std::move(why));
        wake.cancel();
    }

    void request_stop(std::string why) {
        if (stopping) return;
        stopping = true;
        stop_reason = std::move(why);
        engine.stop();  // cuts every sleep short now, not at the next turn of the main loop
        engine::log_info("stop requested", {{"reason", stop_reason}});
        startup_limit.cancel();
        beat.cancel();
        wake.cancel();
    }

    asio::awaitable<void> reload(const std::string& why) {
        notify.reloading("reloading the configuration (" + why + ")");
        engine::log_info("reloading the configuration", {{"trigger", why}});
        auto loaded = load();
        std::vector<std::string> problems = problems_of(loaded);
        if (problems.empty() && !loaded.config) problems.push_back("the configuration could not be read");
        engine::reload_report report;
        if (problems.empty()) {
            report = engine.reload(std::move(*loaded.config), std::move(loaded.playbooks));
            if (!report.ok()) problems.push_back(report.error);
        }
        if (!problems.empty()) {
            boost::json::array listed;
            for (const auto& p : problems) listed.emplace_back(p);
            auto record = engine::daemon_event(
                "config.rejected", {{"trigger", why}, {"problems", std::move(listed)}, {"outcome", "failure"}});
            (void)co_await engine.record(std::move(record));  // a failure turns the engine not-ready
            log_fields_of_problems(problems);
            ++rejections;
        } else {
            const auto snap = engine.current();
            boost::json::array playbooks;
            for (const auto& p : snap->playbooks) playbooks.push_back({{"name", p.name}, {"sha256", p.sha256}});
            auto record = engine::daemon_event("config.loaded", {{"trigger", why},
                                                                 {"generation", snap->generation},
                                                                 {"playbooks", std::move(playbooks)},
                                                                 {"outcome", "success"}});
            (void)co_await engine.record(std::move(record));  // a failure turns the engine not-ready
            ++reloads;
        }
        notify.ready(status_line());
        last_status = status_line();
    }

    static void log_fields_of_problems(const std::vector<std::string>& problems) {
        std::string all;
        for (const auto& p : problems) all += (all.empty() ? "" : "\n") + p;
        engine::log_error("reload rejected: the old configuration keeps running",
                          {{"problems", std::to_string(problems.size())}, {"details", all}});
    }

    /// Start-up reconciliation, bounded: past startup_timeout (or a stop) it is cancelled and
    /// what it had not decided stays pending for the first runs.
    asio::awaitable<void> start_up() {
        startup_limit.expires_after(options.startup_timeout);
        auto outcome =
            co_await (engine.reconcile_pending() || startup_limit.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (outcome.index() == 1) {
            if (stopping) co_return;
            engine::log_warn(
                "start-up reconciliation did not finish in time; undecided rows are left to the first runs",
                {{"startup_timeout", core::format_duration(options.startup_timeout)}});
            co_return;
        }
        const auto& report = std::get<0>(outcome);
        if (!report.ok()) engine::log_error("start-up reconciliation failed", {{"error", report.error}});
        if (report.standby)
            engine::log_info("standby: another instance holds the cluster's lock; trying again every lease.retry",
                             {{"cluster", engine.current()->config.cluster}, {"reason", engine.reason()}});
    }

    void start_watch() {
        if (!options.watch_playbooks) return;
        const auto snap = engine.current();
        std::vector<std::filesystem::path> paths;
        if (!snap->config.playbook_dir.empty())
            paths.push_back(snap->config.playbook_dir);
        else
            paths = snap->config.playbook_files;
        if (paths.empty()) return;
        auto made = directory_watch::create(engine.executor(), paths, options.watch_debounce,
                                            [this](std::string_view what) { request_reload(std::string(what)); });
        if (auto* error = std::get_if<std::string>(&made)) {
            engine::log_warn("not watching the playbooks; reload with SIGHUP", {{"error", *error}});
            return;
        }
        watch = std::move(std::get<std::unique_ptr<directory_watch>>(made));
    }

    /// WATCHDOG=1 and STATUS= from the event loop itself, once a second (or as often as the
    /// watchdog asks), until the service stops.
    asio::awaitable<void> heartbeat() {
        const auto watchdog = notify.watchdog_period();
        const auto period = watchdog ? std::min<std::chrono::microseconds>(*watchdog, 1s) : 1s;
        while (!stopping) {
            if (watchdog) notify.watchdog();
            publish();
            beat.expires_after(period);
            co_await beat.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

    asio::awaitable<void> wait_for_requests() {
        while (!stopping) {
            if (!reload_requests.empty()) {
                const auto why = reload_requests.front();
                reload_requests.clear();  // one reload reads everything: later requests are absorbed
                co_await reload(why);
                continue;
            }
            wake.expires_at(asio::steady_timer::time_point::max());
            co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
};

service::service(engine::engine& engine, notifier& notify, loader load, process_signals* signals,
                 service_options options)
    : impl_(std::make_unique<impl>(engine, notify, std::move(load), signals, options)) {
    impl_->listen_for_stops();
    impl_->listen_for_hang_ups();
}

service::~service() = default;

asio::awaitable<int> service::run() {
    auto& s = *impl_;
    s.notify.status("starting: reconciling actions left pending");
    // The heartbeat runs from the first moment: a long start-up is not a hung one.
    auto life = [&s]() -> asio::awaitable<void> {
        if (!s.stopping) co_await s.start_up();
        if (!s.stopping) {
            s.engine.start_schedule();
            s.start_watch();
            s.started = true;
            s.notify.ready(s.status_line());
            s.last_status = s.status_line();
            s.last_ready = s.ready().ready;
            engine::log_info("s1pilot running", {{"playbooks", std::to_string(s.engine.playbooks().size())}});
        }
        co_await s.wait_for_requests();
    };
    co_await (s.heartbeat() && life());
    s.notify.stopping("draining calls in flight");
    engine::log_info("stopping: draining",
                     {{"reason", s.stop_reason}, {"drain_timeout", core::format_duration(s.options.drain_timeout)}});
    if (s.watch) s.watch->cancel();
    const bool drained = co_await s.engine.drain(s.options.drain_timeout);
    s.drained = drained;
    auto record = engine::daemon_event(
        "daemon.stop",
        {{"command", "run"}, {"drained", drained}, {"ready", s.engine.ready()}, {"reason", s.stop_reason}});
    (void)co_await s.engine.record(std::move(record));
    if (s.signals != nullptr) {
        s.signals->impl_->stops.cancel();
        s.signals->impl_->hang_ups.cancel();
    }
    if (!drained)
        engine::log_warn("drain timeout passed with calls in flight; their rows stay pending for reconciliation",
                         {{"active_runs", std::to_string(s.engine.active_runs())}});
    else
        engine::log_info("stopped");
    // Abandoned calls are not an error: their rows stay pending and the next start reconciles them.
    co_return 0;
}

void service::request_reload(std::string why) {
    impl_->request_reload(std::move(why));
}
void service::request_stop(std::string why) {
    impl_->request_stop(std::move(why));
}
bool service::drained() const noexcept {
    return impl_->drained;
}
readiness service::ready() const {
    return impl_->ready();
}
std::size_t service::reloads() const noexcept {
    return impl_->reloads;
}
std::size_t service::rejections() const noexcept {
    return impl_->rejections;
}

}  // namespace s1pilot::ops
