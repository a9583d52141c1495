// The engine's durable writes (ledger, audit log) on its worker thread, failing closed when one
// fails and recovering by itself; and the engine's sleeps, which stop() cuts short.

#include "s1pilot/engine/confirmation.hpp"
#include "s1pilot/engine/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>

#include <iterator>
#include <span>
#include <utility>

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
    // With a shared ledger a failed write may be a lost session: the lease loop checks it now.
    suspect_session();
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

asio::awaitable<bool> engine::impl::commit(std::vector<state::row_write> writes,
                                           std::vector<boost::json::object> records) {
    // What was deferred goes first, in the same transaction and the same sync: a batch's results
    // ride with the next write (usually the next batch's intent).
    auto earlier = std::exchange(deferred, {});
    const auto earlier_writes = earlier.writes.size();
    const auto earlier_records = earlier.records.size();
    if (!earlier.writes.empty())
        writes.insert(writes.begin(), std::make_move_iterator(earlier.writes.begin()),
                      std::make_move_iterator(earlier.writes.end()));
    if (!earlier.records.empty())
        records.insert(records.begin(), std::make_move_iterator(earlier.records.begin()),
                       std::make_move_iterator(earlier.records.end()));
    if (options.plan || services.audit == nullptr) records.clear();
    if (writes.empty() && records.empty()) co_return ready();
    auto* ledger = services.ledger;
    auto* writer = services.audit;
    // The ledger first, then the audit log: a record says what the ledger now holds.
    const std::string error = co_await on_worker([&]() -> std::string {
        if (!writes.empty())
            if (auto r = ledger->apply(writes); !r) return "ledger: " + r.error().message;
        if (!records.empty())
            if (auto r = writer->append(std::span<const boost::json::object>(records)); !r)
                return "audit log: " + r.error().message;
        return {};
    });
    if (!error.empty()) {
        // The deferred results are kept for the write that succeeds after recovery (applying
        // them twice is harmless: they are upserts); what was new fails with this call. Ahead of
        // what was deferred while this write was on the worker (a POST in flight beside it).
        deferred.writes.insert(deferred.writes.begin(), std::make_move_iterator(writes.begin()),
                               std::make_move_iterator(writes.begin() + static_cast<std::ptrdiff_t>(earlier_writes)));
        if (!options.plan && services.audit != nullptr)
            deferred.records.insert(
                deferred.records.begin(), std::make_move_iterator(records.begin()),
                std::make_move_iterator(records.begin() + static_cast<std::ptrdiff_t>(earlier_records)));
        fail_closed(error);
        co_return false;
    }
    for (const auto& record : records) metrics->observe_record(record);
    co_return true;
}

void engine::impl::defer(state::row_write write) {
    if (!write.rows.empty() || write.run) deferred.writes.push_back(std::move(write));
}

void engine::impl::defer(boost::json::object record) {
    deferred.records.push_back(std::move(record));
}

asio::awaitable<bool> engine::impl::flush_deferred() {
    std::vector<state::row_write> none;
    std::vector<boost::json::object> nothing;
    co_return co_await commit(std::move(none), std::move(nothing));
}

// Plain functions returning the commit's awaitable (no braced temporaries inside a co_await:
// GCC 12 mishandles those).
asio::awaitable<bool> engine::impl::audit(boost::json::object record) {
    std::vector<boost::json::object> records;
    records.push_back(std::move(record));
    return commit(std::vector<state::row_write>{}, std::move(records));
}

asio::awaitable<bool> engine::impl::write_rows(state::row_write write) {
    std::vector<state::row_write> writes;
    writes.push_back(std::move(write));
    return commit(std::move(writes), std::vector<boost::json::object>{});
}

asio::awaitable<bool> engine::impl::mark_pending(std::vector<state::action_row> rows) {
    return write_rows(state::row_write{state::row_write::kind::pending, std::move(rows), {}, {}, {}});
}

asio::awaitable<bool> engine::impl::mark_done(std::vector<state::action_row> rows) {
    return write_rows(state::row_write{state::row_write::kind::done, std::move(rows), {}, {}, {}});
}

asio::awaitable<bool> engine::impl::mark_failed(std::vector<state::action_row> rows, std::string reason) {
    return write_rows(state::row_write{state::row_write::kind::failed, std::move(rows), std::move(reason), {}, {}});
}

asio::awaitable<bool> engine::impl::record_run(state::run_record run) {
    auto* ledger = services.ledger;
    auto r = co_await on_worker([&] { return ledger->record_run(run); });
    if (!r) fail_closed("ledger: " + r.error().message);
    co_return r.has_value();
}

state::row_write engine::impl::accepted(std::vector<state::action_row> rows,
                                        std::optional<std::chrono::milliseconds> confirm_within) const {
    if (!confirm_within) return {state::row_write::kind::done, std::move(rows), {}, {}, {}};
    const auto now = services.clock->now();
    const auto confirm_by = now + *confirm_within;
    return {state::row_write::kind::sent, std::move(rows), {}, next_confirmation_check(0, now, confirm_by), confirm_by};
}

asio::awaitable<bool> engine::impl::mark_accepted(std::vector<state::action_row> rows,
                                                  std::optional<std::chrono::milliseconds> confirm_within) {
    return write_rows(accepted(std::move(rows), confirm_within));
}

asio::awaitable<void> engine::impl::recover() {
    auto* ledger = services.ledger;
    auto* writer = services.audit;
    while (!ready() && !stopping) {
        if (!co_await sleep(options.recovery_interval)) break;
        // A real write to each: a ledger transaction, and the audit log records the recovery.
        std::string error;
        if (auto probed = co_await on_worker([&] { return ledger->probe_write(); }); !probed)
            error = "ledger: " + probed.error().message;
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
        (void)co_await flush_deferred();  // results recorded before the failure
    }
    recovering = false;
}

}  // namespace s1pilot::engine
