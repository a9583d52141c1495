#pragma once
// The engine wired to a fake console, a real SQLite ledger and a real audit log in a temporary
// directory, with a manual clock that sleeps advance. Runs are bounded (run_bounded).

#include "s1pilot/audit/writer.hpp"
#include "s1pilot/engine/effects.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/engine/plan.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "../net/run_bounded.hpp"
#include "fake_console.hpp"
#include "playbooks.hpp"
#include "temp_dir.hpp"

namespace s1pilot::engine::test {

namespace asio = boost::asio;

/// Forwards to a fake the test keeps (the engine owns its transports).
class forwarding_transport final : public net::transport {
public:
    explicit forwarding_transport(net::transport& to) : to_(to) {}
    asio::awaitable<net::result<net::response>> send(net::request req) override { return to_.send(std::move(req)); }

private:
    net::transport& to_;
};

/// A ledger that hands every call to a real one: tests override the calls they disturb.
class forwarding_ledger : public state::ledger {
public:
    explicit forwarding_ledger(state::ledger& real) : real_(real) {}

    state::result<std::vector<state::remaining_action>> remaining(
        std::string_view playbook, const std::vector<std::string>& keys, const std::vector<std::string>& ids,
        std::optional<std::chrono::milliseconds> cooldown) override {
        return real_.remaining(playbook, keys, ids, cooldown);
    }
    state::result<void> mark_pending(const std::vector<state::action_row>& rows) override {
        return real_.mark_pending(rows);
    }
    state::result<void> mark_done(const std::vector<state::action_row>& rows) override { return real_.mark_done(rows); }
    state::result<void> mark_failed(const std::vector<state::action_row>& rows, std::string_view reason) override {
        return real_.mark_failed(rows, reason);
    }
    state::result<void> mark_sent(const std::vector<state::action_row>& rows, core::timestamp first_check,
                                  core::timestamp confirm_by) override {
        return real_.mark_sent(rows, first_check, confirm_by);
    }
    state::result<std::vector<state::confirmation>> confirmations_due(core::timestamp now, std::size_t limit) override {
        return real_.confirmations_due(now, limit);
    }
    state::result<void> update_confirmations(const std::vector<state::confirmation>& updates) override {
        return real_.update_confirmations(updates);
    }
    state::result<state::confirmation_counts> count_confirmations(std::string_view playbook) override {
        return real_.count_confirmations(playbook);
    }
    state::result<std::optional<core::timestamp>> next_confirmation_check() override {
        return real_.next_confirmation_check();
    }
    state::result<std::vector<state::ledger_entry>> pending() override { return real_.pending(); }
    state::result<std::optional<state::ledger_entry>> find(std::string_view p, std::string_view a,
                                                           std::string_view t) override {
        return real_.find(p, a, t);
    }
    state::result<void> record_run(const state::run_record& run) override { return real_.record_run(run); }
    state::result<std::optional<state::run_record>> find_run(std::string_view id) override {
        return real_.find_run(id);
    }
    state::result<std::string> next_run_id() override { return real_.next_run_id(); }
    state::result<state::row_counts> count_rows() override { return real_.count_rows(); }
    /// Each write through the overridable mark_* calls, so that a test disturbing mark_pending
    /// disturbs an intent committed with a batch's results too. Not one transaction: these
    /// ledgers are about failures and timing (the real one's atomicity has its own tests).
    state::result<void> apply(const std::vector<state::row_write>& writes) override {
        for (const auto& w : writes) {
            state::result<void> r;
            switch (w.what) {
                case state::row_write::kind::pending: r = mark_pending(w.rows); break;
                case state::row_write::kind::done: r = mark_done(w.rows); break;
                case state::row_write::kind::failed: r = mark_failed(w.rows, w.reason); break;
                case state::row_write::kind::sent: r = mark_sent(w.rows, w.first_check, w.confirm_by); break;
                case state::row_write::kind::run: r = w.run ? record_run(*w.run) : state::result<void>{}; break;
            }
            if (!r) return r;
        }
        return {};
    }
    state::result<void> probe_write() override { return real_.probe_write(); }
    state::result<void> integrity_check() override { return real_.integrity_check(); }

protected:
    state::ledger& real_;
};

/// A ledger that fails chosen writes, standing in for a full disk or a crash at that point.
class failing_ledger final : public forwarding_ledger {
public:
    using forwarding_ledger::forwarding_ledger;
    bool fail_pending = false;
    std::string fail_pending_of;  ///< fails only the pending writes naming this threat (an intent)
    bool fail_done = false;
    /// next_run_id (and the recovery's probe_write) succeeds this many more times, then fails
    /// (-1: always).
    int run_ids_left = -1;

    state::result<void> mark_pending(const std::vector<state::action_row>& rows) override {
        if (fail_pending) return failure();
        for (const auto& r : rows)
            if (!fail_pending_of.empty() && r.threat_id == fail_pending_of) return failure();
        return real_.mark_pending(rows);
    }
    state::result<void> mark_done(const std::vector<state::action_row>& rows) override {
        if (fail_done) return failure();
        return real_.mark_done(rows);
    }
    state::result<std::string> next_run_id() override {
        if (run_ids_left == 0) return failure();
        if (run_ids_left > 0) --run_ids_left;
        return real_.next_run_id();
    }
    state::result<void> probe_write() override {
        if (run_ids_left == 0) return failure();
        return real_.probe_write();
    }

private:
    static state::error failure() {
        return {state::make_error_code(state::errc::database_error), "ledger test.db: disk I/O error (simulated)"};
    }
};

class engine_fixture : public ::testing::Test {
protected:
    engine_fixture() {
        config::console_config console;
        console.name = "sim";
        console.url = "https://127.0.0.1:1";
        console.host = "127.0.0.1";
        console.token = config::secret("CANARY-engine-token");
        console.read = {1000, 1000};
        console.write = {1000, 1000};
        console.batch_size = 2;
        config_.consoles["sim"] = console;
        config_.retry = {3, std::chrono::milliseconds(10), std::chrono::milliseconds(100)};
        open_state();
    }

    void open_state() {
        audit_.reset();
        ledger_.reset();
        ledger_ = state::sqlite_ledger::open(dir_.path() / "state.db", clock_).value();
        audit_ = std::make_unique<audit::writer>(audit::writer::open({dir_.path() / "audit.jsonl"}, clock_).value());
    }

    engine_services services(audit::writer* log) {
        engine_services s;
        s.ledger = ledger_.get();
        s.audit = log;
        s.clock = &clock_;
        s.transports = [this](const config::console_config&,
                              asio::any_io_executor) -> std::variant<std::unique_ptr<net::transport>, std::string> {
            return std::unique_ptr<net::transport>(std::make_unique<forwarding_transport>(console_));
        };
        s.sleep = [this](std::chrono::nanoseconds d) -> asio::awaitable<void> {
            clock_.advance(std::chrono::duration_cast<std::chrono::microseconds>(d));
            co_return;
        };
        s.random = [] { return 0.5; };
        return s;
    }

    std::unique_ptr<engine> make(std::vector<config::playbook> playbooks, engine_options options = {}) {
        return make_with(std::move(playbooks), options, audit_.get());
    }

    std::unique_ptr<engine> make_with(std::vector<config::playbook> playbooks, engine_options options,
                                      audit::writer* log) {
        auto made = engine::create(ioc_.get_executor(), config_, std::move(playbooks), services(log), options);
        if (auto* error = std::get_if<std::string>(&made)) throw std::runtime_error(*error);
        return std::move(std::get<std::unique_ptr<engine>>(made));
    }

    template <class T>
    T run(asio::awaitable<T> work) {
        auto r = s1pilot::test::run_bounded(ioc_, std::move(work));
        if (!r) throw std::runtime_error("timed out");
        return std::move(*r);
    }

    /// Runs the io_context until `done()` or `limit` handlers ran.
    template <class Done>
    bool run_until(Done done, std::size_t limit = 200'000) {
        ioc_.restart();
        for (std::size_t i = 0; i < limit && !done(); ++i) {
            if (ioc_.run_one_for(std::chrono::seconds(5)) == 0) return done();
        }
        return done();
    }

    /// Every audit record, in order.
    std::vector<boost::json::object> audit_records() const {
        std::vector<boost::json::object> out;
        std::ifstream in(dir_.path() / "audit.jsonl");
        for (std::string line; std::getline(in, line);) out.push_back(boost::json::parse(line).as_object());
        return out;
    }

    std::vector<std::string> audit_events() const {
        std::vector<std::string> out;
        for (const auto& r : audit_records()) out.emplace_back(r.at("event").as_string());
        return out;
    }

    std::optional<state::ledger_entry> row(std::string_view playbook, std::string_view key, std::string_view threat) {
        return ledger_->find(playbook, key, threat).value();
    }

    ::s1pilot::test::temp_dir dir_;
    asio::io_context ioc_{1};
    core::manual_clock clock_{core::parse_timestamp("2026-01-02T00:00:00Z").value()};
    config::daemon_config config_;
    fake_console console_;
    std::unique_ptr<state::sqlite_ledger> ledger_;
    std::unique_ptr<audit::writer> audit_;
};

}  // namespace s1pilot::engine::test
