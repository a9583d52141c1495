// The engine's durable writes (ledger, audit log) on its worker thread, failing closed when one
// fails and recovering by itself; and the engine's sleeps, which stop() cuts short.

#include "s1pilot/engine/confirmation.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;

detail::session_ptr engine::impl::session_for(std::string_view console) const {
    const auto found = sessions.find(std::string(console));
    return found == sessions.end() ? nullptr : found->second;
}

asio::awaitable<bool> engine::impl::sleep(std::chrono::nanoseconds d, detail::playbook_loop* loop) {
    auto cut = [&] { return stopping || (loop != nullptr && loop->stopped); };
    if (cut()) co_return false;
    if (services.sleep) {
        co_await services.sleep(d);
        co_return !cut();
    }
    asio::steady_timer timer(executor, d);
    sleeping.insert(&timer);
    if (loop != nullptr) loop->sleeping = &timer;
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    sleeping.erase(&timer);
    if (loop != nullptr) loop->sleeping = nullptr;
    co_return !ec && !cut();
}

void engine::impl::fail_closed(const std::string& why) {
    if (!not_ready.empty()) return;
    not_ready = why;
    log_error("failing closed: no action will be sent until the write succeeds again", {{"reason", why}});
    if (recovering || stopping) return;
    recovering = true;
    // Owned by the engine: `recovering` is true until it ends; stop() ends it at its next sleep.
    // It keeps the state alive, so that it may resume after the engine is gone and just end.
    asio::co_spawn(
        executor, [keep = shared_from_this()] { return keep->recover(); }, asio::detached);
}

asio::awaitable<bool> engine::impl::audit(boost::json::object record) {
    if (services.audit == nullptr || options.plan) co_return true;
    auto* writer = services.audit;
    auto r = co_await on_worker([&] { return writer->append(record); });
    if (r) {
        metrics->observe_record(record);
        co_return true;
    }
    fail_closed("audit log: " + r.error().message);
    co_return false;
}

asio::awaitable<bool> engine::impl::mark_pending(std::vector<state::action_row> rows) {
    auto* ledger = services.ledger;
    auto r = co_await on_worker([&] { return ledger->mark_pending(rows); });
    if (!r) fail_closed("ledger: " + r.error().message);
    co_return r.has_value();
}

asio::awaitable<bool> engine::impl::mark_done(std::vector<state::action_row> rows) {
    if (rows.empty()) co_return true;
    auto* ledger = services.ledger;
    auto r = co_await on_worker([&] { return ledger->mark_done(rows); });
    if (!r) fail_closed("ledger: " + r.error().message);
    co_return r.has_value();
}

asio::awaitable<bool> engine::impl::mark_failed(std::vector<state::action_row> rows, std::string reason) {
    if (rows.empty()) co_return true;
    auto* ledger = services.ledger;
    auto r = co_await on_worker([&] { return ledger->mark_failed(rows, reason); });
    if (!r) fail_closed("ledger: " + r.error().message);
    co_return r.has_value();
}

asio::awaitable<bool> engine::impl::record_run(state::run_record run) {
    auto* ledger = services.ledger;
    auto r = co_await on_worker([&] { return ledger->record_run(run); });
    if (!r) fail_closed("ledger: " + r.error().message);
    co_return r.has_value();
}

asio::awaitable<bool> engine::impl::mark_accepted(std::vector<state::action_row> rows,
                                                  std::optional<std::chrono::milliseconds> confirm_within) {
    if (!confirm_within) co_return co_await mark_done(std::move(rows));
    if (rows.empty()) co_return true;
    auto* ledger = services.ledger;
    const auto now = services.clock->now();
    const auto confirm_by = now + *confirm_within;
    const auto first = next_confirmation_check(0, now, confirm_by);
    auto r = co_await on_worker([&] { return ledger->mark_sent(rows, first, confirm_by); });
    if (!r) fail_closed("ledger: " + r.error().message);
    co_return r.has_value();
}

asio::awaitable<void> engine::impl::recover() {
    auto* ledger = services.ledger;
    auto* writer = services.audit;
    while (!ready() && !stopping) {
        if (!co_await sleep(options.recovery_interval)) break;
        // A real write to each: the ledger takes a run id, the audit log records the recovery.
        std::string error;
        if (auto id = co_await on_worker([&] { return ledger->next_run_id(); }); !id)
            error = "ledger: " + id.error().message;
        if (error.empty() && writer != nullptr && !options.plan) {
            const auto why = not_ready;
            auto appended = co_await on_worker([&]() -> audit::result<audit::appended> {
                if (auto reopened = writer->recover(); !reopened) return reopened.error();
                return writer->append(daemon_event("engine.recovered", {{"after", why}, {"outcome", "success"}}));
            });
            if (!appended) error = "audit log: " + appended.error().message;
        }
        if (!error.empty()) {
            log_warn("still failing closed: the write failed again", {{"error", error}});
            continue;
        }
        log_info("writes succeed again: ready", {{"after", not_ready}});
        not_ready.clear();
    }
    recovering = false;
}

}  // namespace s1pilot::engine
