// The engine object: consoles and their clients, one run per playbook at a time, the schedule,
// and graceful shutdown by cancellation.

#include "s1pilot/engine/engine.hpp"

#include "s1pilot/engine/logging.hpp"
#include "s1pilot/net/https_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

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

const config::playbook* engine::impl::find_playbook(std::string_view name) const {
    for (const auto& p : playbooks) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

detail::console_session* engine::impl::session_for(std::string_view console) {
    const auto found = sessions.find(std::string(console));
    return found == sessions.end() ? nullptr : &found->second;
}

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
    state->config = std::move(config);
    state->playbooks = std::move(playbooks);
    state->services = std::move(services);
    state->options = options;
    // A playbook without a console name (loaded without a configuration) uses the only one.
    for (auto& p : state->playbooks) {
        if (p.console.empty() && state->config.consoles.size() == 1) p.console = state->config.consoles.begin()->first;
    }
    // Every configured console gets a session: start-up reconciliation may need one that no
    // loaded playbook uses any more.
    const auto steady = state->services.clock->steady_now();
    for (const auto& [name, console] : state->config.consoles) {
        auto made = state->services.transports(console, executor);
        if (auto* error = std::get_if<std::string>(&made)) return *error;
        detail::console_session session;
        session.config = &console;
        session.transport = std::move(std::get<std::unique_ptr<net::transport>>(made));
        session.read = std::make_unique<policy::rate_limiter>(
            policy::rate_settings{console.read.rate, static_cast<double>(console.read.burst)}, steady);
        session.write = std::make_unique<policy::rate_limiter>(
            policy::rate_settings{console.write.rate, static_cast<double>(console.write.burst)}, steady);
        session.budget = std::make_unique<policy::retry_budget>(steady);
        s1::client_settings settings;
        settings.token = std::string(console.token.reveal());
        settings.retry = {state->config.retry.max_attempts, state->config.retry.base, state->config.retry.cap};
        session.client = std::make_unique<s1::client>(
            *session.transport, std::move(settings), s1::console_limits{*session.read, *session.write, *session.budget},
            *state->services.clock, state->services.sleep, state->services.random);
        state->sessions.emplace(name, std::move(session));
    }
    for (const auto& p : state->playbooks) {
        if (!state->sessions.contains(p.console))
            return "playbook '" + p.name + "': console '" + p.console + "' is not configured";
        state->gates[p.name];
    }
    return std::unique_ptr<engine>(new engine(std::move(state)));
}

engine::engine(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
engine::~engine() = default;

asio::awaitable<run_report> engine::run_now(std::string_view playbook, trigger t) {
    const config::playbook* p = impl_->find_playbook(playbook);
    if (p == nullptr) {
        run_report unknown;
        unknown.playbook = std::string(playbook);
        unknown.outcome = run_outcome::failed;
        unknown.error = "no playbook named '" + std::string(playbook) + "' is loaded";
        co_return unknown;
    }
    trigger_gate& gate = impl_->gates[p->name];
    if (!gate.arrive(t)) {
        run_report coalesced;
        coalesced.playbook = p->name;
        coalesced.outcome = run_outcome::coalesced;
        log_info("trigger coalesced into the next run", {{"playbook", p->name}, {"trigger", t.source}});
        co_return coalesced;
    }
    ++impl_->active_runs;
    run_report report;
    std::optional<trigger> next = std::move(t);
    try {
        while (next) {
            report = co_await impl_->execute_run(*p, *next);
            next = gate.finish();
        }
    } catch (...) {
        // A bug, not an expected failure: keep the gate usable, then let the owner see it.
        while (gate.finish()) {
        }
        --impl_->active_runs;
        throw;
    }
    --impl_->active_runs;
    co_return report;
}

asio::awaitable<run_report> engine::run_now(std::string_view playbook) {
    return run_now(playbook, trigger{});
}

asio::awaitable<std::vector<run_report>> engine::run_all(std::vector<std::string> names, std::string source) {
    std::vector<run_report> reports;
    if (names.empty()) {
        for (const auto& p : impl_->playbooks) names.push_back(p.name);
    }
    for (const auto& name : names) {
        trigger t;
        t.source = source;
        reports.push_back(co_await run_now(name, t));
    }
    co_return reports;
}

void engine::start_schedule() {
    for (const auto& p : impl_->playbooks) {
        if (!p.trigger.every) continue;
        auto& timer = impl_->timers.emplace_back(impl_->executor);
        const auto every = *p.trigger.every;
        const auto delay = first_delay(every, impl_->options.max_splay, impl_->services.random());
        const std::string name = p.name;
        ++impl_->loops;
        auto loop = [this, &timer, every, delay, name]() -> asio::awaitable<void> {
            timer.expires_after(delay);
            auto [first] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (first) co_return;
            while (!impl_->stopping) {
                const auto due = std::chrono::steady_clock::now() + every;
                trigger t;
                t.source = "schedule";
                co_await run_now(name, t);
                if (impl_->stopping) break;
                timer.expires_at(due);  // start to start; a run longer than `every` is followed at once
                auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                if (ec) break;
            }
        };
        // Owned by the engine: `loops` counts it until it ends, and drain() waits for that.
        asio::co_spawn(impl_->executor, std::move(loop), [this, name](std::exception_ptr e) {
            --impl_->loops;
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    impl_->fail_closed("schedule of playbook '" + name + "' ended by an internal error: " + ex.what());
                }
            }
        });
        log_info(
            "playbook scheduled",
            {{"playbook", name}, {"every", core::format_duration(every)}, {"first_in", core::format_duration(delay)}});
    }
}

void engine::stop() {
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& timer : impl_->timers) timer.cancel();
    log_info("stopping: no new run or call starts; calls in flight finish",
             {{"active_runs", std::to_string(impl_->active_runs)}});
}

asio::awaitable<bool> engine::drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer timer(impl_->executor);
    while (impl_->active_runs > 0 || impl_->loops > 0) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        timer.expires_after(
            std::min<std::chrono::steady_clock::duration>(20ms, deadline - std::chrono::steady_clock::now()));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    for (auto& [name, session] : impl_->sessions) {
        if (auto* https = dynamic_cast<net::https_client*>(session.transport.get())) https->close_idle();
    }
    co_return true;
}

bool engine::ready() const noexcept {
    return impl_->ready();
}
const std::string& engine::reason() const noexcept {
    return impl_->not_ready;
}
std::size_t engine::active_runs() const noexcept {
    return impl_->active_runs;
}
const std::vector<config::playbook>& engine::playbooks() const noexcept {
    return impl_->playbooks;
}

}  // namespace s1pilot::engine
