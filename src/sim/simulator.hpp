#pragma once
// The console simulator without its network: takes a request, returns a response (and what
// the server should do with the connection). Authentication, routing, rate limits, faults, the
// journal and the admin routes live here; the Beast server only moves bytes.

#include "s1pilot/core/clock.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "actions.hpp"
#include "agent_tasks.hpp"
#include "faults.hpp"
#include "http_types.hpp"
#include "journal.hpp"
#include "listing.hpp"
#include "rate_limit.hpp"
#include "rng.hpp"
#include "store.hpp"

namespace s1sim {

struct simulator_options {
    std::string token = "s1sim-token";  ///< Authorization: ApiToken <token>
    std::string read_only_token;        ///< optional: may read, gets 403 on actions
    std::uint64_t threats = 1000;       ///< generated when no dataset file is given
    std::uint64_t seed = 1;
    std::optional<s1pilot::core::timestamp> now;    ///< generated threats are dated before this
    std::string dataset_file;                       ///< a GET /threats-shaped JSON file instead of generating
    bool strict_filters = false;                    ///< answer 400 to an action with an empty filter
    answer_style answers = answer_style::detailed;  ///< what a mitigation's answer says (actions.hpp)
    /// How long an agent takes to carry out a mitigation or an isolation (agent_tasks.hpp); 0: at once.
    std::chrono::milliseconds agent_delay{0};
    double agents_offline = 0;  ///< the fraction of agents held offline (0..1), drawn from `seed`
    rate_limit_config rate_limits;
    fault_config faults;
    std::string journal_file;
    std::size_t max_body = 16 << 20;                    ///< larger request bodies get 413
    std::shared_ptr<const s1pilot::core::clock> clock;  ///< default: the system clock
};

inline constexpr std::string_view api_prefix = "/web/api/v2.1";

class simulator {
public:
    /// Builds the dataset. Throws std::runtime_error when the dataset file or journal cannot be
    /// read or opened, with a message that names the file.
    explicit simulator(simulator_options options);

    /// Serialised: one request at a time sees the store.
    http_response handle(const http_request& request);
    /// A request the server refused before it was complete (413 too large, 400 malformed):
    /// journaled like any other.
    http_response reject(const http_request& request, unsigned status, std::string_view detail);

    /// A client's TLS handshake failed (it refused the certificate or the version): no request
    /// came, so the journal shows nothing; `GET /_sim/stats` counts these as tlsHandshakesFailed.
    void handshake_failed();

    const simulator_options& options() const noexcept { return options_; }
    std::size_t threat_count() const;
    std::size_t memory_bytes() const;

private:
    http_response api(const http_request& request, std::string& fault_name);
    http_response admin(const http_request& request);
    http_response list(const http_request& request);
    http_response notes(std::string_view threat_id);
    http_response action(const http_request& request, std::string_view rest);
    http_response dump(const http_request& request);
    http_response add_threats(const http_request& request);
    http_response agent_route(const http_request& request);
    void build_store();
    bool authorised(const http_request& request, bool& read_only) const;
    std::string next_rqid();
    micros now() const;

    simulator_options options_;
    std::unique_ptr<threat_store> store_;
    journal journal_;
    rate_limiter limiter_;
    fault_config faults_;
    answer_style answers_;  // options_.answers until PUT /_sim/answers; reset restores it
    agent_tasks agents_;    // what agents have yet to carry out; reset forgets it
    rng fault_rng_;
    rng id_rng_;
    // Counts the requests that may have changed the store (anything but a GET, and agents
    // finishing tasks): GET /threats reuses a page walk's total only within one generation.
    std::uint64_t store_generation_ = 0;
    match_count_memo match_count_;
    std::uint64_t handshakes_failed_ = 0;  // since start or the last reset
    mutable std::mutex mutex_;
};

}  // namespace s1sim
