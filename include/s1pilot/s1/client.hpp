#pragma once
// The typed SentinelOne client: list and count threats, the actions, notes. Every call is
// paced by the console's shared rate limiters, retried as policy::decide says (GETs simply,
// writes never blindly: an unknown effect comes back as reconcile_needed), bounded by an
// overall deadline, and reports every attempt.
//
// Thread model: as net::https_client - one thread; await on the transport's executor. The
// transport, limits and clock are borrowed and must outlive the client.

#include "s1pilot/core/clock.hpp"
#include "s1pilot/filter/filter.hpp"
#include "s1pilot/net/transport.hpp"
#include "s1pilot/policy/rate_limiter.hpp"
#include "s1pilot/policy/retry.hpp"
#include "s1pilot/s1/call.hpp"
#include "s1pilot/s1/requests.hpp"
#include "s1pilot/s1/threat.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace s1pilot::s1 {

/// The pacing state of one console, shared by every caller of that console.
struct console_limits {
    policy::rate_limiter& read;   ///< GETs
    policy::rate_limiter& write;  ///< POSTs
    policy::retry_budget& budget;
};

/// A 429 and the pause it caused, for the log and the counters.
struct throttle_event {
    std::string call;  ///< `POST /web/api/v2.1/threats/mitigate/kill` (no query)
    std::optional<std::chrono::milliseconds> retry_after;
    std::chrono::milliseconds pause{0};  ///< how long this class of calls now waits
    double rate_now = 0;                 ///< the lowered rate, requests per second
};

/// One attempt of a call, answered or not, for the metrics and the console's status.
struct attempt_event {
    bool write = false;     ///< a POST (the write limiter), else a GET
    std::string_view path;  ///< the target without its query
    int http_status = 0;    ///< 0: no answer (connection, TLS, timeout)
    std::chrono::nanoseconds duration{0};
    std::string_view error;  ///< why it failed, redacted; empty on success
};

/// Observers of a client's calls (each optional). They run on the client's thread.
struct call_observers {
    std::function<void(const throttle_event&)> throttled;  ///< every 429 (the engine logs and counts it)
    std::function<void(const attempt_event&)> attempted;   ///< every attempt sent
    /// Every wait for the rate limit: `write` says which limiter.
    std::function<void(bool write, std::chrono::nanoseconds waited)> rate_waited;
    std::function<void(bool write)> retried;  ///< an attempt is followed by another
};

struct client_settings {
    std::string token;  ///< the API token; only ever written into the Authorization header
    policy::retry_settings retry;
    std::chrono::milliseconds call_deadline{120'000};  ///< all attempts and waits of one call (timeouts.call)
    /// Asked after every wait (backoff, rate limit, Retry-After) and before every attempt, with
    /// whether the call is a write: true means nothing (more) may be sent (shutting down; for a
    /// write also a failed-closed engine), and the call ends failed with nothing (more) sent.
    std::function<bool(bool write)> interrupted;
    call_observers observe;
};

/// Sleeps for a duration (the real one uses a steady_timer; tests advance a manual clock).
using sleeper = std::function<boost::asio::awaitable<void>(std::chrono::nanoseconds)>;
/// Uniform in [0, 1), for backoff jitter.
using random_source = std::function<double()>;

class client {
public:
    /// `sleep` and `random` default to a steady_timer and a seeded Mersenne Twister.
    client(net::transport& transport, client_settings settings, console_limits limits, const core::clock& clock,
           sleeper sleep = {}, random_source random = {});

    /// One page of GET /threats. `f` must have no relative times (invalid_filter otherwise).
    boost::asio::awaitable<call_result<threat_page>> list_threats(const filter::threat_filter& f,
                                                                  const page_request& page = {});

    /// Every page in order, handing each to `on_page` (which returns false to stop early).
    /// Follows nextCursor until null; a cursor seen before is a bad_response error. The value
    /// is the number of threats handed over; on failure, the failed call's error and attempts.
    boost::asio::awaitable<call_result<std::size_t>> for_each_page(const filter::threat_filter& f,
                                                                   std::function<bool(threat_page&)> on_page,
                                                                   page_request first = {});

    /// `countOnly=true`: pagination.totalItems.
    boost::asio::awaitable<call_result<std::int64_t>> count_threats(const filter::threat_filter& f);

    /// The actions (reference §3). An empty filter is refused with core::errc::empty_filter
    /// before any I/O. A 2xx whose body is not understood is reconcile_needed.
    boost::asio::awaitable<call_result<action_response>> mitigate(mitigation_action action,
                                                                  const filter::threat_filter& f);
    boost::asio::awaitable<call_result<action_response>> set_incident(const filter::threat_filter& f,
                                                                      incident_status status,
                                                                      std::optional<analyst_verdict> verdict);
    boost::asio::awaitable<call_result<action_response>> set_verdict(const filter::threat_filter& f,
                                                                     analyst_verdict verdict);
    boost::asio::awaitable<call_result<action_response>> add_note(const filter::threat_filter& f, std::string text);
    boost::asio::awaitable<call_result<action_response>> set_external_ticket(const filter::threat_filter& f,
                                                                             std::string ticket_id);
    /// POST /agents/actions/disconnect (`disconnect`) or /connect; `agents` selects agents.
    boost::asio::awaitable<call_result<action_response>> set_agent_network(const filter::threat_filter& agents,
                                                                           bool disconnect);

    /// Sends a request built by requests.hpp (a dry run prints the same values).
    boost::asio::awaitable<call_result<action_response>> post_action(const action_result& built);

    /// The texts of every note of a threat (GET /threats/{id}/notes, all pages): reconciling
    /// a note means looking for its text.
    boost::asio::awaitable<call_result<std::vector<std::string>>> list_notes(object_id threat);

private:
    /// Sends with pacing and retries; success means a 2xx response.
    boost::asio::awaitable<call_result<net::response>> execute(net::request req);
    /// A 429: pauses the class of calls and tells the engine (a warning and a counter).
    void throttled(policy::rate_limiter& limiter, const net::request& req,
                   std::optional<std::chrono::milliseconds> retry_after, policy::steady_time now);

    net::transport& transport_;
    client_settings settings_;
    console_limits limits_;
    const core::clock& clock_;
    sleeper sleep_;
    random_source random_;
};

/// GET /threats page by page without holding more than one: `while (!pager.done())
/// { auto page = co_await pager.next(); ... }`.
class threat_pager {
public:
    threat_pager(client& c, filter::threat_filter f, page_request first = {});

    /// The next page. After a failure, or the page whose nextCursor is null, done() is true.
    boost::asio::awaitable<call_result<threat_page>> next();
    bool done() const noexcept { return done_; }

private:
    client& client_;
    filter::threat_filter filter_;
    page_request page_;
    std::unordered_set<std::string> seen_cursors_;
    bool done_ = false;
};

}  // namespace s1pilot::s1
