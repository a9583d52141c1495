// The engine object: consoles and their clients, one run per playbook at a time, the schedule,
// and graceful shutdown by cancellation.

#include "s1pilot/engine/engine.hpp"

#include "s1pilot/engine/logging.hpp"
#include "s1pilot/net/https_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <random>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::variant<std::unique_ptr<net::transport>, std::string> https_transport(const config::console_config& console,
                                                                           asio::any_io_executor executor) {
    net::client_config settings;
    settings.origin = console.url;
    if (console.ca_file) settings.ca_file = console.ca_file->string();
    if (console.proxy) settings.proxy = "http://" + console.proxy->host + ":" + std::to_string(console.proxy->port);
    settings.timeouts.connect = console.connect_timeout;
    settings.timeouts.handshake = console.connect_timeout;
    settings.timeouts.write = console.request_timeout;
    settings.timeouts.read = console.request_timeout;
    settings.timeouts.call = console.connect_timeout + console.request_timeout;
    settings.user_agent = "s1pilot/" S1PILOT_VERSION;
    auto made = net::https_client::create(std::move(executor), std::move(settings));
    if (!made) return "console '" + console.name + "': " + made.error().message;
    return std::unique_ptr<net::transport>(std::move(*made));
}

}  // namespace

const config::playbook* snapshot::find(std::string_view name) const {
    for (const auto& p : playbooks) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

namespace {

/// Two console settings that need no new client: everything but the name is equal.
bool same_console(const config::console_config& a, const config::console_config& b) {
    return a.url == b.url && a.token.reveal() == b.token.reveal() && a.ca_file == b.ca_file && a.proxy == b.proxy &&
           a.read == b.read && a.write == b.write && a.connect_timeout == b.connect_timeout &&
           a.request_timeout == b.request_timeout && a.call_timeout == b.call_timeout && a.batch_size == b.batch_size;
}

/// A client for one console on its own transport, limits and budget.
std::variant<detail::session_ptr, std::string> make_session(engine::impl& state, const config::console_config& console,
                                                            const config::retry_config& retry) {
    auto made = state.services.transports(console, state.executor);
    if (auto* error = std::get_if<std::string>(&made)) return *error;
    const auto steady = state.services.clock->steady_now();
    auto session = std::make_shared<detail::console_session>();
    session->config = console;
    session->transport = std::move(std::get<std::unique_ptr<net::transport>>(made));
    policy::adaptation_settings pacing;
    pacing.pacing_margin = config::defaults::pacing_margin;
    pacing.decrease_factor = config::defaults::throttle_decrease;
    pacing.recovery_step = config::defaults::throttle_recovery_step;
    pacing.probe_step = config::defaults::throttle_probe_step;
    // retry.cap "caps Retry-After too": the pause a 429 imposes on every caller obeys it as well.
    pacing.max_pause = retry.cap;
    session->read = std::make_unique<policy::rate_limiter>(
        policy::rate_settings{console.read.rate, static_cast<double>(console.read.burst)}, steady, pacing);
    session->write = std::make_unique<policy::rate_limiter>(
        policy::rate_settings{console.write.rate, static_cast<double>(console.write.burst)}, steady, pacing);
    session->budget = std::make_unique<policy::retry_budget>(steady, config::defaults::retry_budget_ratio,
                                                             config::defaults::retry_budget_per_second,
                                                             config::defaults::retry_budget_max);
    s1::client_settings settings;
    settings.token = std::string(console.token.reveal());
    settings.retry = {retry.max_attempts, retry.base, retry.cap};
    settings.call_deadline = console.call_timeout;
    // Shutting down, or the cluster's lock lost: nothing more is sent. Failed closed (a ledger or
    // audit write failed, perhaps one written beside this POST while it waited for its turn): no
    // POST leaves until writes succeed again.
    settings.interrupted = [&state](bool write) { return !state.may_send() || (write && !state.ready()); };
    settings.observe = state.observers_for(console.name, session.get());
    s1::sleeper sleep = [&state](std::chrono::nanoseconds d) -> asio::awaitable<void> { co_await state.call_sleep(d); };
    session->client = std::make_unique<s1::client>(
        *session->transport, std::move(settings), s1::console_limits{*session->read, *session->write, *session->budget},
        *state.services.clock, std::move(sleep), state.services.random);
    return session;
}

/// Every configured console's session, reusing those of `old` whose settings are unchanged (they
/// keep their rate-limit state and connections). Every configured console gets one: start-up
/// reconciliation may need one that no loaded playbook uses any more.
std::variant<std::map<std::string, detail::session_ptr>, std::string> make_sessions(
    engine::impl& state, const config::daemon_config& config, const std::map<std::string, detail::session_ptr>& old) {
    std::map<std::string, detail::session_ptr> out;
    for (const auto& [name, console] : config.consoles) {
        const auto kept = old.find(name);
        if (kept != old.end() && same_console(kept->second->config, console)) {
            out.emplace(name, kept->second);
            continue;
        }
        auto made = make_session(state, console, config.retry);
        if (auto* error = std::get_if<std::string>(&made)) return *error;
        out.emplace(name, std::get<detail::session_ptr>(made));
    }
    return out;
}

/// The snapshot of a configuration: a playbook without a console uses the only one. The error
/// names a playbook whose console is not configured.
std::variant<std::shared_ptr<const snapshot>, std::string> make_snapshot(config::daemon_config config,
                                                                         std::vector<config::playbook> playbooks,
                                                                         std::uint64_t generation) {
    auto snap = std::make_shared<snapshot>();
    for (auto& p : playbooks) {
        if (p.console.empty() && config.consoles.size() == 1) p.console = config.consoles.begin()->first;
        if (!config.consoles.contains(p.console))
            return "playbook '" + p.name + "': console '" + p.console + "' is not configured";
    }
    snap->config = std::move(config);
    snap->playbooks = std::move(playbooks);
    snap->generation = generation;
    return std::shared_ptr<const snapshot>(std::move(snap));
}

}  // namespace

std::variant<std::unique_ptr<engine>, std::string> engine::create(asio::any_io_executor executor,
                                                                  config::daemon_config config,
                                                                  std::vector<config::playbook> playbooks,
                                                                  engine_services services, engine_options options) {
    if (services.ledger == nullptr || services.clock == nullptr)
        return std::string("engine: a ledger and a clock are required");
    if (!services.transports) services.transports = https_transport;
    if (!services.random) {
        auto generator = std::make_shared<std::mt19937_64>(std::random_device{}());
        services.random = [generator] { return std::uniform_real_distribution<double>(0.0, 1.0)(*generator); };
    }
    auto state = std::make_unique<impl>();
    state->executor = executor;
    state->services = std::move(services);
    state->options = options;
    state->worker = std::make_unique<asio::thread_pool>(1);
    if (state->services.metrics == nullptr) {
        state->own_metrics = std::make_unique<core::metrics_registry>();
        state->services.metrics = state->own_metrics.get();
    }
    state->metrics = std::make_unique<engine_metrics>(*state->services.metrics);
    if (state->services.lock != nullptr && !state->options.plan) {
        state->lease.session = state->services.lock;
        state->lease.key = cluster_lock_key(config.cluster);
        state->lease.state = {false, true};
        state->lease.role = lease_role::standby;
        state->lease.standby_reason = "standby: the lock of cluster '" + config.cluster + "' is not taken yet";
    }
    auto snap = make_snapshot(std::move(config), std::move(playbooks), 1);
    if (auto* error = std::get_if<std::string>(&snap)) return *error;
    state->current = std::get<std::shared_ptr<const snapshot>>(snap);
    auto sessions = make_sessions(*state, state->current->config, {});
    if (auto* error = std::get_if<std::string>(&sessions)) return *error;
    state->sessions = std::move(std::get<0>(sessions));
    state->metrics->publish_playbooks(state->current->playbooks);
    return std::unique_ptr<engine>(new engine(std::move(state)));
}

engine::engine(std::unique_ptr<impl> state) : impl_(std::move(state)) {
    impl_->self = this;
}
engine::~engine() {
    // Coroutines of the engine that are still suspended see the stop when they resume (they
    // share the state) and end without touching the borrowed ledger or writer.
    impl_->stopping = true;
    impl_->self = nullptr;
    for (auto* timer : impl_->sleeping) timer->cancel();
    if (impl_->lease.waiting != nullptr) impl_->lease.waiting->cancel();
    for (auto& [name, loop] : impl_->loops) {
        loop->stopped = true;
        if (loop->sleeping != nullptr) loop->sleeping->cancel();
    }
    // The worker may still hold a write of an abandoned run (drain timed out): let it finish
    // before the ledger and the writer it uses go away.
    if (impl_->worker) impl_->worker->join();
}

reload_report engine::reload(config::daemon_config config, std::vector<config::playbook> playbooks) {
    reload_report report;
    const auto old = impl_->current;
    auto made = make_snapshot(std::move(config), std::move(playbooks), old->generation + 1);
    if (auto* error = std::get_if<std::string>(&made)) {
        report.error = *error;
        return report;
    }
    auto snap = std::get<std::shared_ptr<const snapshot>>(made);
    auto sessions = make_sessions(*impl_, snap->config, impl_->sessions);
    if (auto* error = std::get_if<std::string>(&sessions)) {
        report.error = *error;
        return report;
    }
    for (const auto& p : snap->playbooks) {
        const auto* before = old->find(p.name);
        if (before == nullptr)
            report.added.push_back(p.name);
        else if (before->sha256 != p.sha256 || before->console != p.console ||
                 !same_console(impl_->sessions.at(before->console)->config, snap->config.consoles.at(p.console)))
            report.changed.push_back(p.name);
        else
            ++report.unchanged;
    }
    for (const auto& p : old->playbooks)
        if (snap->find(p.name) == nullptr) report.removed.push_back(p.name);
    impl_->sessions = std::move(std::get<0>(sessions));
    impl_->current = snap;
    impl_->metrics->publish_playbooks(snap->playbooks);
    // A standby has no loops to change: taking the lock starts those of the configuration then.
    if (impl_->scheduling && !impl_->stopping && impl_->acting()) {
        for (const auto& name : report.removed) impl_->stop_loop(name);
        for (const auto& name : report.changed) impl_->stop_loop(name);
        for (const auto& name : report.changed) impl_->start_loop(*snap->find(name));
        for (const auto& name : report.added) impl_->start_loop(*snap->find(name));
    }
    log_info("configuration reloaded", {{"generation", std::to_string(snap->generation)},
                                        {"added", std::to_string(report.added.size())},
                                        {"changed", std::to_string(report.changed.size())},
                                        {"removed", std::to_string(report.removed.size())},
                                        {"unchanged", std::to_string(report.unchanged)}});
    return report;
}

asio::awaitable<bool> engine::record(boost::json::object fields) {
    co_return co_await impl_->audit(std::move(fields));
}

std::shared_ptr<const snapshot> engine::current() const {
    return impl_->current;
}

void engine::start_schedule() {
    impl_->scheduling = true;
    // A standby schedules nothing; taking the lock starts the loops (lease.cpp).
    if (impl_->acting())
        for (const auto& p : impl_->current->playbooks) impl_->start_loop(p);
    if (impl_->lease.session != nullptr && !impl_->lease.looping && !impl_->stopping) {
        impl_->lease.looping = true;
        // Owned by the engine: `lease.looping` is true until it ends, and drain() waits for that.
        auto keep = impl_;
        asio::co_spawn(
            impl_->executor, [keep] { return keep->lease_loop(); },
            [keep](std::exception_ptr e) {
                keep->lease.looping = false;
                if (e) keep->fail_closed("the lease loop ended by an internal error");
            });
    }
    if (impl_->following || impl_->options.plan || impl_->options.dry_run) return;
    impl_->following = true;
    // Owned by the engine: `following` is true until it ends, and drain() waits for that.
    auto keep = impl_;
    asio::co_spawn(
        impl_->executor, [keep] { return keep->confirmations_loop(); },
        [keep](std::exception_ptr e) {
            keep->following = false;
            if (e) keep->fail_closed("the confirmation follow-up ended by an internal error");
        });
}

void engine::stop() {
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto* timer : impl_->sleeping) timer->cancel();
    if (impl_->lease.waiting != nullptr) impl_->lease.waiting->cancel();
    for (auto& [name, loop] : impl_->loops) loop->stopped = true;
    for (auto& [name, h] : impl_->history)
        for (auto* timer : h.waiting) timer->cancel();
    log_info("stopping: no new run or call starts; waits are cut short; calls in flight finish",
             {{"active_runs", std::to_string(impl_->active_runs)}});
}

asio::awaitable<bool> engine::drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer timer(impl_->executor);
    while (impl_->active_runs > 0 || impl_->live_loops > 0 || impl_->recovering || impl_->following ||
           impl_->lease.looping || impl_->lease.reconciling) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        // Sleeps that began after stop() (a loop between two awaits) end at once too.
        for (auto* sleeping : impl_->sleeping) sleeping->cancel();
        if (impl_->lease.waiting != nullptr) impl_->lease.waiting->cancel();
        timer.expires_after(
            std::min<std::chrono::steady_clock::duration>(20ms, deadline - std::chrono::steady_clock::now()));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    (void)co_await impl_->flush_deferred();  // normally done by the runs' ends already
    for (auto& [name, session] : impl_->sessions) {
        if (auto* https = dynamic_cast<net::https_client*>(session->transport.get())) https->close_idle();
    }
    co_return true;
}

asio::any_io_executor engine::executor() const {
    return impl_->executor;
}

bool engine::ready() const noexcept {
    return impl_->ready() && (impl_->lease.session == nullptr || impl_->lease.role == lease_role::active);
}
std::string engine::reason() const {
    const auto& s = *impl_;
    if (!s.ready()) return s.not_ready;
    if (s.lease.session == nullptr) return {};
    switch (s.lease.role) {
        case lease_role::active: return {};
        case lease_role::taking_over: return "taking over: reconciling actions left pending";
        case lease_role::standby: break;
    }
    return s.lease.standby_reason.empty() ? "standby" : s.lease.standby_reason;
}
lease_role engine::role() const noexcept {
    return impl_->lease.role;
}
bool engine::leading() const noexcept {
    return impl_->lease.session == nullptr || impl_->lease.state.holding;
}
std::size_t engine::active_runs() const noexcept {
    return impl_->active_runs;
}
const std::vector<config::playbook>& engine::playbooks() const noexcept {
    return impl_->current->playbooks;
}

}  // namespace s1pilot::engine
