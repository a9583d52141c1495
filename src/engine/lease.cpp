// Leadership carried out (leadership.hpp decides): the lease loop, taking over, fencing, and the
// rows another instance left pending. Every ledger call runs on the worker thread, on the
// ledger's one session, which holds the cluster's lock.

#include "s1pilot/engine/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "engine_impl.hpp"

namespace s1pilot::engine {

namespace asio = boost::asio;

namespace {

/// How long after it was written another instance's pending row is decided: its POST, if one
/// left, has surely ended by then, because a console's client ends every call (all its attempts
/// and waits) within `timeouts.call`. The longest call deadline of the configured consoles
/// counts, whichever console the row's POST went to; the instances of one cluster share their
/// configuration (docs/high-availability.md), so this is also the writer's deadline.
std::chrono::milliseconds decide_after(const engine::impl& s) {
    std::chrono::milliseconds deadline{0};
    for (const auto& [name, console] : s.current->config.consoles) deadline = std::max(deadline, console.call_timeout);
    return deadline + s.current->config.lease.grace;
}

}  // namespace

void engine::impl::own_run(const std::string& run_id) {
    if (lease.session != nullptr) lease.term_runs.insert(run_id);
}

pending_split engine::impl::split_by_writer(std::vector<state::ledger_entry> entries) const {
    const auto own = [this](std::string_view run_id) { return lease.term_runs.contains(std::string(run_id)); };
    return split_pending(std::move(entries), own, services.clock->now(), decide_after(*this));
}

asio::awaitable<void> engine::impl::call_sleep(std::chrono::nanoseconds d) {
    if (services.sleep || lease.session == nullptr) {
        co_await sleep(d);
        co_return;
    }
    asio::steady_timer timer(executor, d);
    if (stopping || !may_send()) co_return;
    sleeping.insert(&timer);
    lease.call_waits.insert(&timer);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    sleeping.erase(&timer);
    lease.call_waits.erase(&timer);
}

asio::awaitable<bool> engine::impl::try_take_lock() {
    auto* session = lease.session;
    const auto key = lease.key;
    auto taken = co_await on_worker([&] { return session->try_lock(key); });
    if (stopping) co_return false;  // the engine may be going away: touch nothing more
    const auto outcome = !taken   ? lease_outcome::session_lost
                         : *taken ? lease_outcome::lock_taken
                                  : lease_outcome::lock_busy;
    const auto [next, change] = after_lease_outcome(lease.state, outcome);
    lease.state = next;
    const auto& cluster = current->config.cluster;
    if (!taken) {
        lease.standby_reason = "standby: the database session was lost; a new one is opened every " +
                               core::format_duration(current->config.lease.retry);
        log_warn("trying the cluster's lock failed: the database session is lost",
                 {{"cluster", cluster}, {"error", taken.error().message}});
    } else if (!*taken) {
        lease.standby_reason = "standby: another instance of cluster '" + cluster + "' is active";
    }
    if (change == lease_change::lost_lock) co_await lost_lock("the lock was found held by another session");
    co_return change == lease_change::took_lock;
}

asio::awaitable<void> engine::impl::took_lock() {
    ++lease.term;
    lease.term_runs.clear();
    lease.role = lease_role::taking_over;
    lease.due.reset();
    const auto& cluster = current->config.cluster;
    log_info("leader.acquired: this instance holds the cluster's lock; reconciling what was left pending first",
             {{"cluster", cluster}, {"term", std::to_string(lease.term)}});
    auto record = daemon_event("leader.acquired", {{"cluster", cluster}, {"outcome", "success"}});
    (void)co_await audit(std::move(record));  // a failure fails closed: not ready, nothing sent
}

asio::awaitable<void> engine::impl::lost_lock(std::string why) {
    ++lease.term;
    lease.role = lease_role::standby;
    lease.due.reset();
    const auto& cluster = current->config.cluster;
    lease.standby_reason = "standby: the lock of cluster '" + cluster + "' was lost (" + why + ")";
    // Nothing more leaves: a call waiting for its turn ends unsent (its client asks may_send), no
    // batch starts (act_on_batch asks it before and after the intent), and no run is scheduled.
    for (auto* timer : lease.call_waits) timer->cancel();
    for (auto& [name, loop] : loops) {
        loop->stopped = true;
        if (loop->sleeping != nullptr) loop->sleeping->cancel();
    }
    loops.clear();
    log_error("leader.lost: nothing more is sent; standby until the lock is taken again",
              {{"cluster", cluster}, {"reason", why}});
    // Straight to the audit log: the ledger's session is gone, and the results waiting to be
    // committed with the next ledger write stay waiting for it (recovery writes them).
    auto* writer = services.audit;
    if (writer == nullptr || options.plan) co_return;
    auto record = daemon_event("leader.lost", {{"cluster", cluster}, {"reason", why}, {"outcome", "failure"}});
    auto appended = co_await on_worker([&] { return writer->append(record); });
    if (!appended)
        fail_closed("audit log: " + appended.error().message);
    else
        metrics->observe_record(record);
}

void engine::impl::spawn_left_pending(bool taking_over) {
    lease.reconciling = true;
    const auto term = lease.term;
    auto keep = shared_from_this();
    asio::co_spawn(
        executor, [keep] { return keep->reconcile_left_pending(); },
        [keep, term, taking_over](std::exception_ptr e, reconcile_report report) {
            keep->lease.reconciling = false;
            if (e) {
                keep->fail_closed("reconciling the rows left pending ended by an internal error");
                return;
            }
            if (!report.ok()) log_error("reconciling the rows left pending failed", {{"error", report.error}});
            if (!taking_over || keep->lease.term != term || !keep->lease.state.holding || keep->stopping) return;
            keep->lease.role = lease_role::active;
            log_info("active: scheduling playbooks and accepting triggers",
                     {{"cluster", keep->current->config.cluster}});
            if (keep->scheduling)
                for (const auto& p : keep->current->playbooks) keep->start_loop(p);
        });
}

asio::awaitable<std::string> engine::impl::check_lease_session() {
    // The worker may be held by a write to a database that no longer answers: the engine keeps
    // its own time, and a check that has not come back in time is a lost session.
    struct outcome {
        bool finished = false;
        std::string error;
    };
    auto result = std::make_shared<outcome>();
    auto timer = std::make_shared<asio::steady_timer>(executor, options.lease_check_timeout);
    auto* session = lease.session;
    const auto timeout = options.lease_check_timeout;
    asio::post(worker->get_executor(), [result, timer, session, timeout, back = executor] {
        auto checked = session->check_session(timeout);
        std::string error = checked ? std::string() : checked.error().message;
        asio::post(back, [result, timer, error = std::move(error)] {
            result->finished = true;
            result->error = error;
            timer->cancel();
        });
    });
    (void)co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (!result->finished) co_return "the database did not answer a check within " + core::format_duration(timeout);
    co_return result->error;
}

void engine::impl::suspect_session() {
    if (lease.session != nullptr && lease.state.holding && lease.waiting != nullptr) lease.waiting->cancel();
}

asio::awaitable<void> engine::lease_turn() {
    auto& s = *impl_;
    if (s.lease.session == nullptr || s.stopping) co_return;
    const bool lost_term_busy = s.active_runs > 0 || s.lease.reconciling;
    switch (next_lease_step(s.lease.state, lost_term_busy)) {
        case lease_step::try_lock:
            if (co_await s.try_take_lock()) {
                co_await s.took_lock();
                s.spawn_left_pending(true);
            }
            break;
        case lease_step::check: {
            const auto why = co_await s.check_lease_session();
            if (s.stopping) co_return;
            const auto [next, change] = after_lease_outcome(
                s.lease.state, why.empty() ? lease_outcome::session_ok : lease_outcome::session_lost);
            s.lease.state = next;
            if (change == lease_change::lost_lock) co_await s.lost_lock(why);
            break;
        }
        case lease_step::reconnect: {
            auto* session = s.lease.session;
            auto opened = co_await s.on_worker([&] { return session->reconnect(); });
            if (s.stopping) co_return;
            const auto [next, change] = after_lease_outcome(
                s.lease.state, opened ? lease_outcome::reconnected : lease_outcome::reconnect_failed);
            s.lease.state = next;
            if (change == lease_change::lost_lock) co_await s.lost_lock("the session was reopened");
            if (opened) {
                s.lease.standby_reason =
                    "standby: a new database session is open; competing for the lock of cluster '" +
                    s.current->config.cluster + "'";
                log_info("a new database session is open", {{"cluster", s.current->config.cluster}});
            } else {
                log_warn("opening a new database session failed; trying again",
                         {{"error", opened.error().message},
                          {"every", core::format_duration(s.current->config.lease.retry)}});
            }
            break;
        }
        case lease_step::wait: break;
    }
    // Rows another instance left pending that have become due: decided when nothing else is.
    if (s.lease.role == lease_role::active && s.lease.due && s.services.clock->now() >= *s.lease.due &&
        !s.lease.reconciling && s.ready() && !s.stopping)
        s.spawn_left_pending(false);
}

asio::awaitable<void> engine::impl::lease_loop() {
    asio::steady_timer timer(executor);
    while (!stopping && self != nullptr) {
        const auto step = next_lease_step(lease.state, active_runs > 0 || lease.reconciling);
        timer.expires_after(lease_wait(step, options.lease_check_every, current->config.lease.retry));
        lease.waiting = &timer;
        (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        lease.waiting = nullptr;
        if (stopping || self == nullptr) break;
        co_await self->lease_turn();
    }
}

asio::awaitable<reconcile_report> engine::impl::reconcile_left_pending() {
    reconcile_report report;
    auto* ledger = services.ledger;
    auto pending = co_await on_worker([&] { return ledger->pending(); });
    if (!pending) {
        fail_closed("ledger: " + pending.error().message);
        report.error = not_ready;
        co_return report;
    }
    auto split = split_by_writer(std::move(*pending));
    // This term's rows belong to the runs that wrote them (each under its playbook's gate).
    lease.due = split.next_due;
    report.deferred = split.not_yet.size();
    if (!split.not_yet.empty())
        log_info(
            "rows another instance (or an earlier session) left pending are decided later: a POST they guard "
            "may still be on the wire",
            {{"rows", std::to_string(split.not_yet.size())},
             {"due", core::format_timestamp(*split.next_due)},
             {"after", core::format_duration(decide_after(*this))}});
    if (split.due.empty()) co_return report;
    const auto deferred = report.deferred;
    report = co_await reconcile_recorded(std::move(split.due), "(take-over reconciliation)", true);
    report.deferred += deferred;
    co_return report;
}

asio::awaitable<bool> engine::impl::hold_young_rows(std::vector<state::ledger_entry>& entries,
                                                    const std::string& run_id, reconcile_report& report) {
    if (lease.session == nullptr) co_return true;
    auto split = split_by_writer(std::move(entries));
    entries = std::move(split.own);
    entries.insert(entries.end(), std::make_move_iterator(split.due.begin()), std::make_move_iterator(split.due.end()));
    if (split.not_yet.empty()) co_return true;
    if (!lease.due || *split.next_due < *lease.due) lease.due = split.next_due;
    report.deferred += split.not_yet.size();
    report.undecided += split.not_yet.size();
    // One record per action of a playbook, saying when its rows become due.
    std::map<std::pair<std::string, std::string>, std::pair<std::vector<std::string>, core::timestamp>> groups;
    const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(decide_after(*this));
    for (const auto& e : split.not_yet) {
        auto& [ids, due] = groups[{e.row.playbook, e.row.action_key}];
        ids.push_back(e.row.threat_id);
        due = std::max(due, e.updated_at + wait);
    }
    for (auto& [key, group] : groups) {
        reconcile_counts counts;
        counts.unknown = std::move(group.first);
        counts.note =
            "left pending: written by another instance or an earlier session, whose POST may still be on "
            "the wire; decided from " +
            core::format_timestamp(group.second) + " (the call deadline and lease.grace after it)";
        const run_identity id{run_id, key.first, {}, {}, false};
        auto record = reconciled_event(id, key.second, counts);
        if (!co_await audit(std::move(record))) co_return false;
    }
    co_return true;
}

}  // namespace s1pilot::engine
