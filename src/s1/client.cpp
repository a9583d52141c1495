// The thin I/O around policy: reserve a token, sleep, send, classify, decide. Every sleep is
// bounded by the call deadline; a write whose effect is unknown is handed back, never resent.

#include "s1pilot/s1/client.hpp"

#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/wire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <random>

namespace s1pilot::s1 {

namespace asio = boost::asio;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

asio::awaitable<void> timer_sleep(nanoseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

random_source default_random() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

template <class T>
call_result<T> refused(net::http_method method, boost::system::error_code code, std::string message) {
    call_result<T> out;
    out.method = method;
    out.error = {code, policy::outcome::local_error, std::move(message), {}};
    return out;
}

/// Carries a finished call over to the value type, parsing the body of a success. A write
/// that was answered 2xx with a body that is not understood probably took effect: that is
/// for reconciliation to find out, not a failure.
template <class T, class Parse>
call_result<T> convert(call_result<net::response>&& raw, Parse parse) {
    call_result<T> out;
    out.status = raw.status;
    out.error = std::move(raw.error);
    out.method = raw.method;
    out.target = std::move(raw.target);
    out.attempts = std::move(raw.attempts);
    if (raw.status != call_status::success) return out;
    auto parsed = parse(*raw.value);
    if (parsed) {
        out.value = std::move(*parsed);
        return out;
    }
    out.status = out.method == net::http_method::post ? call_status::reconcile_needed : call_status::failed;
    out.error = {
        core::errc::bad_response,
        policy::outcome::local_error,
        "HTTP " + std::to_string(raw.value->status) + " with a body that is not understood: " + parsed.error().message,
        {}};
    return out;
}

/// Request builders require resolved times (filter::to_json); a relative one is refused.
bool absolute(const filter::threat_filter& f) {
    return !f.has_relative_times();
}

}  // namespace

client::client(net::transport& transport, client_settings settings, console_limits limits, const core::clock& clock,
               sleeper sleep, random_source random)
    : transport_(transport),
      settings_(std::move(settings)),
      limits_(limits),
      clock_(clock),
      sleep_(sleep ? std::move(sleep) : sleeper(timer_sleep)),
      random_(random ? std::move(random) : default_random()) {}

namespace {

/// The last attempt was not retried: its failure, its redacted API errors, and whether its effect
/// is unknown. A write that was sent but whose answer could not be read (too large, malformed
/// head) is unknown, whatever the outcome's name says.
void end_without_retry(call_result<net::response>& out, classified& what, const policy::decision& next, bool answered,
                       bool write_sent_unanswered, const std::string& token) {
    for (auto& e : what.api_errors) {
        e.title = redact(std::move(e.title), token);
        e.detail = redact(std::move(e.detail), token);
    }
    out.error.api_errors = std::move(what.api_errors);
    out.error.outcome = what.outcome;
    if (answered) out.error.code = core::errc::api_error;
    out.error.message = out.attempts.back().error + " (" + std::string(next.reason) + ")";
    out.status = next.step == policy::next_step::reconcile ? call_status::reconcile_needed : call_status::failed;
    if (write_sent_unanswered && out.status == call_status::failed) out.status = call_status::reconcile_needed;
}

/// One attempt as the call's result keeps it, the token redacted from what the console said.
attempt_record record_attempt(int number, const classified& what, const auto& answer, nanoseconds waited,
                              nanoseconds took, const std::string& token) {
    attempt_record record;
    record.number = number;
    record.outcome = what.outcome;
    record.http_status = answer ? answer->status : 0;
    record.request_id = answer ? redact(answer->request_id, token) : std::string();
    record.waited = duration_cast<milliseconds>(waited);
    record.duration = duration_cast<milliseconds>(took);
    record.error = redact(what.message, token);
    return record;
}

}  // namespace

void client::throttled(policy::rate_limiter& limiter, const net::request& req,
                       std::optional<std::chrono::milliseconds> retry_after, policy::steady_time now) {
    limiter.on_throttled(now, retry_after);
    if (!settings_.observe.throttled) return;
    const auto query = req.target.find('?');
    settings_.observe.throttled({std::string(net::to_string(req.method)) + " " + req.target.substr(0, query),
                                 retry_after, duration_cast<milliseconds>(limiter.paused_for(now)),
                                 limiter.current_rate(now)});
}

asio::awaitable<call_result<net::response>> client::execute(net::request req) {
    call_result<net::response> out;
    out.method = req.method;
    out.target = req.target;
    const bool idempotent = req.method == net::http_method::get;
    policy::rate_limiter& limiter = idempotent ? limits_.read : limits_.write;
    req.headers.emplace_back("Authorization", "ApiToken " + settings_.token);

    const auto deadline = clock_.steady_now() + settings_.call_deadline;
    auto give_up = [&](std::string why) {
        // Only attempts that reached nothing or were refused come here: nothing was applied.
        out.status = call_status::failed;
        out.error.outcome = out.attempts.empty() ? policy::outcome::not_sent : out.attempts.back().outcome;
        out.error.message = redact(std::move(why), settings_.token);
    };

    nanoseconds backoff{0};
    for (int attempt = 1;; ++attempt) {
        if (clock_.steady_now() + backoff > deadline) {
            give_up("call deadline of " + core::format_duration(settings_.call_deadline) +
                    " would pass before attempt " + std::to_string(attempt) + "; last: " + out.attempts.back().error);
            co_return out;
        }
        if (backoff > nanoseconds::zero()) co_await sleep_(backoff);
        const auto wait = limiter.reserve(clock_.steady_now());
        if (clock_.steady_now() + wait > deadline) {
            give_up("call deadline of " + core::format_duration(settings_.call_deadline) +
                    " would pass waiting for the rate limit" +
                    (out.attempts.empty() ? std::string() : "; last: " + out.attempts.back().error));
            co_return out;
        }
        if (wait > nanoseconds::zero()) {
            if (settings_.observe.rate_waited) settings_.observe.rate_waited(!idempotent, wait);
            co_await sleep_(wait);
        }
        if (settings_.interrupted && settings_.interrupted(!idempotent)) {
            give_up("interrupted (shutting down, no longer the active instance, or failed closed): attempt " +
                    std::to_string(attempt) + " not sent");
            co_return out;
        }

        // The net layer keeps real time; hand it what is left of the call on its clock.
        req.deadline = std::chrono::steady_clock::now() + (deadline - clock_.steady_now());
        if (attempt == 1) limits_.budget.on_first_attempt();
        const auto sent_at = clock_.steady_now();
        auto answer = co_await transport_.send(req);
        classified what = classify(answer, req.method, req.target, clock_.now());
        const auto now = clock_.steady_now();

        const auto record = record_attempt(attempt, what, answer, backoff + wait, now - sent_at, settings_.token);
        out.attempts.push_back(record);
        if (settings_.observe.attempted) {
            const std::string_view target(req.target);
            settings_.observe.attempted({!idempotent, target.substr(0, target.find('?')),
                                         static_cast<int>(record.http_status), now - sent_at, record.error});
        }

        if (what.outcome == policy::outcome::throttled)
            throttled(limiter, req, what.retry_after, now);
        else if (answer)
            limiter.on_accepted();  // the console took it: part of the measure of what it takes
        if (what.outcome == policy::outcome::success) {
            out.status = call_status::success;
            out.value = std::move(*answer);
            co_return out;
        }
        const policy::decision next = policy::decide(settings_.retry, what.outcome, attempt, idempotent,
                                                     what.retry_after, random_(), limits_.budget, now);
        if (next.step == policy::next_step::retry) {
            if (settings_.observe.retried) settings_.observe.retried(!idempotent);
            backoff = next.delay;
            continue;
        }
        const bool sent_unanswered = !answer && answer.error().request_sent;
        end_without_retry(out, what, next, answer.has_value(), !idempotent && sent_unanswered, settings_.token);
        co_return out;
    }
}

asio::awaitable<call_result<threat_page>> client::list_threats(const filter::threat_filter& f,
                                                               const page_request& page) {
    if (f.has_relative_times()) {
        co_return refused<threat_page>(net::http_method::get, core::errc::invalid_filter,
                                       "the filter has relative times: resolve it before listing");
    }
    if (filter::has_list_item_with_comma(f)) {
        co_return refused<threat_page>(net::http_method::get, core::errc::invalid_filter,
                                       "a list item of the filter holds a comma, which the console would read as a "
                                       "separator: refused before sending");
    }
    net::request req;
    req.target = list_threats_target(f, page);
    auto raw = co_await execute(std::move(req));
    co_return convert<threat_page>(std::move(raw), [](const net::response& r) { return parse_threat_page(r.body); });
}

asio::awaitable<call_result<std::size_t>> client::for_each_page(const filter::threat_filter& f,
                                                                std::function<bool(threat_page&)> on_page,
                                                                page_request first) {
    threat_pager pager(*this, f, std::move(first));
    call_result<std::size_t> out;
    std::size_t seen = 0;
    while (!pager.done()) {
        auto page = co_await pager.next();
        if (!page.ok()) {
            out.status = page.status;
            out.error = std::move(page.error);
            out.target = std::move(page.target);
            out.attempts = std::move(page.attempts);
            co_return out;
        }
        seen += page.value->threats.size();
        out.target = std::move(page.target);
        out.attempts = std::move(page.attempts);
        if (!on_page(*page.value)) break;
    }
    out.status = call_status::success;
    out.value = seen;
    co_return out;
}

asio::awaitable<call_result<std::int64_t>> client::count_threats(const filter::threat_filter& f) {
    if (f.has_relative_times()) {
        co_return refused<std::int64_t>(net::http_method::get, core::errc::invalid_filter,
                                        "the filter has relative times: resolve it before counting");
    }
    if (filter::has_list_item_with_comma(f)) {
        co_return refused<std::int64_t>(net::http_method::get, core::errc::invalid_filter,
                                        "a list item of the filter holds a comma, which the console would read as a "
                                        "separator: refused before sending");
    }
    net::request req;
    req.target = count_threats_target(f);
    auto raw = co_await execute(std::move(req));
    co_return convert<std::int64_t>(std::move(raw), [](const net::response& r) -> parse_result<std::int64_t> {
        auto page = parse_threat_page(r.body, false);
        if (!page) return page.error();
        return page->total_items;
    });
}

asio::awaitable<call_result<action_response>> client::post_action(const action_result& built) {
    if (!built) {
        co_return refused<action_response>(net::http_method::post, built.error(),
                                           "refused before sending: " + built.error().message());
    }
    auto raw = co_await execute(to_post(*built));
    co_return convert<action_response>(std::move(raw),
                                       [](const net::response& r) { return parse_action_response(r.body); });
}

asio::awaitable<call_result<action_response>> client::mitigate(mitigation_action action,
                                                               const filter::threat_filter& f) {
    // A named local, not a conditional temporary: GCC 12 destroys such temporaries twice
    // inside co_await.
    const action_result built = absolute(f) ? mitigate_request(action, f) : action_result(core::errc::invalid_filter);
    co_return co_await post_action(built);
}

asio::awaitable<call_result<action_response>> client::set_incident(const filter::threat_filter& f,
                                                                   incident_status status,
                                                                   std::optional<analyst_verdict> verdict) {
    // A named local, not a conditional temporary: GCC 12 destroys such temporaries twice
    // inside co_await.
    const action_result built =
        absolute(f) ? incident_request(f, status, verdict) : action_result(core::errc::invalid_filter);
    co_return co_await post_action(built);
}

asio::awaitable<call_result<action_response>> client::set_verdict(const filter::threat_filter& f,
                                                                  analyst_verdict verdict) {
    // A named local, not a conditional temporary: GCC 12 destroys such temporaries twice
    // inside co_await.
    const action_result built = absolute(f) ? verdict_request(f, verdict) : action_result(core::errc::invalid_filter);
    co_return co_await post_action(built);
}

asio::awaitable<call_result<action_response>> client::add_note(const filter::threat_filter& f, std::string text) {
    // A named local, not a conditional temporary: GCC 12 destroys such temporaries twice
    // inside co_await.
    const action_result built = absolute(f) ? note_request(f, text) : action_result(core::errc::invalid_filter);
    co_return co_await post_action(built);
}

asio::awaitable<call_result<action_response>> client::set_external_ticket(const filter::threat_filter& f,
                                                                          std::string ticket_id) {
    // A named local, not a conditional temporary: GCC 12 destroys such temporaries twice
    // inside co_await.
    const action_result built =
        absolute(f) ? external_ticket_request(f, ticket_id) : action_result(core::errc::invalid_filter);
    co_return co_await post_action(built);
}

asio::awaitable<call_result<action_response>> client::set_agent_network(const filter::threat_filter& agents,
                                                                        bool disconnect) {
    // A named local, not a conditional temporary: GCC 12 destroys such temporaries twice
    // inside co_await.
    const action_result built =
        absolute(agents) ? agent_network_request(agents, disconnect) : action_result(core::errc::invalid_filter);
    co_return co_await post_action(built);
}

asio::awaitable<call_result<std::vector<std::string>>> client::list_notes(object_id threat) {
    call_result<std::vector<std::string>> out;
    out.value.emplace();
    std::unordered_set<std::string> seen;
    std::string cursor;
    for (;;) {
        net::request req;
        req.target = notes_target(threat, cursor);
        auto raw = co_await execute(std::move(req));
        auto page =
            convert<notes_page>(std::move(raw), [](const net::response& r) { return parse_notes_page(r.body); });
        out.target = page.target;
        out.attempts.insert(out.attempts.end(), page.attempts.begin(), page.attempts.end());
        if (!page.ok()) {
            out.status = page.status;
            out.error = std::move(page.error);
            out.value.reset();
            co_return out;
        }
        auto& texts = page.value->texts;
        out.value->insert(out.value->end(), std::make_move_iterator(texts.begin()),
                          std::make_move_iterator(texts.end()));
        if (!page.value->next_cursor) break;
        if (!seen.insert(*page.value->next_cursor).second) {
            out.status = call_status::failed;
            out.error = {core::errc::bad_response,
                         policy::outcome::local_error,
                         "notes of threat " + to_string_id(threat) + ": the console repeated a cursor",
                         {}};
            out.value.reset();
            co_return out;
        }
        cursor = *page.value->next_cursor;
    }
    out.status = call_status::success;
    co_return out;
}

threat_pager::threat_pager(client& c, filter::threat_filter f, page_request first)
    : client_(c), filter_(std::move(f)), page_(std::move(first)) {}

asio::awaitable<call_result<threat_page>> threat_pager::next() {
    auto page = co_await client_.list_threats(filter_, page_);
    if (!page.ok()) {
        done_ = true;
        co_return page;
    }
    // Only nextCursor ends the walk (reference §2): totalItems may read 0 on cursor pages.
    const auto& cursor = page.value->next_cursor;
    if (!cursor) {
        done_ = true;
    } else if (!seen_cursors_.insert(*cursor).second) {
        done_ = true;
        page.status = call_status::failed;
        page.value.reset();
        page.error = {core::errc::bad_response,
                      policy::outcome::local_error,
                      "GET /threats: the console returned a cursor it had returned before; stopping to avoid a loop",
                      {}};
    } else {
        page_.cursor = *cursor;
    }
    co_return page;
}

}  // namespace s1pilot::s1
