#pragma once
// The real s1sim binary for one test: started on 127.0.0.1 port 0, its port read from the line it
// prints, its admin routes (dataset dump, request journal, faults, rate limits) at hand, and
// stopped when the test ends.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin_client.hpp"
#include "process.hpp"

namespace s1pilot::integration {

/// The instant the pinned datasets are generated before (s1sim --now).
inline constexpr const char* pinned_now = "2026-11-21T00:00:00Z";

struct sim_options {
    std::uint64_t threats = 2000;
    std::uint64_t seed = 7;
    std::string now = pinned_now;  ///< empty: s1sim's default (its clock)
    /// A certificate and key of the test's own (PEM files); empty: s1sim generates one and
    /// writes its CA to `ca.pem` in the directory.
    fs::path cert_file{}, key_file{}, ca_file{};
    std::string host_name = "127.0.0.1";  ///< the name the admin client expects in the certificate
    /// The harness's admin client accepts an expired certificate and TLS 1.1 (admin_client).
    bool admin_accepts_outdated = false;
    std::uint16_t port = 0;  ///< 0: a free port s1sim picks
    std::vector<std::string> extra_args{};
};

/// One request as s1sim journaled it.
struct journal_entry {
    std::uint64_t seq = 0;
    std::string method, path, query, body;
    int status = 0;
    std::string fault;  ///< empty when none was injected
    std::string tls;    ///< the TLS version the request came over (`TLSv1.3`)
    /// CLOCK_MONOTONIC (std::chrono::steady_clock) nanoseconds when s1sim had read the headers.
    std::int64_t received_ns = 0;
    /// How long s1sim held the answer after handling the request (latency fault, a 429's hold).
    std::int64_t delay_ms = 0;
};

/// Now on the clock of journal_entry::received_ns, in nanoseconds.
std::int64_t monotonic_ns();
/// Nanoseconds as seconds, for figures.
inline double seconds(std::int64_t ns) {
    return static_cast<double>(ns) / 1e9;
}
/// When s1sim's answer to a request was due to leave: its headers read, plus the hold.
inline std::int64_t answered_ns(const journal_entry& e) {
    return e.received_ns + e.delay_ms * 1'000'000;
}

class sim_process {
public:
    /// Starts s1sim with files in `dir` (named `s1sim-<n>.*` so several can share a directory)
    /// and waits (bounded) for its port. A failure to start is a fatal test failure (check
    /// `started()`).
    sim_process(const fs::path& dir, std::string token, sim_options options = {});
    ~sim_process();

    bool started() const noexcept { return port_ != 0; }
    std::uint16_t port() const noexcept { return port_; }
    const fs::path& ca_file() const noexcept { return ca_file_; }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
    const admin_client& admin() const { return *admin_; }
    std::string stderr_text() const { return child_->stderr_text(); }

    /// GET /_sim/threats: `{"data":[threats],"notes":{id:[text]},"agentTags":{…},"total":N}`.
    boost::json::object dump() const;
    /// GET /_sim/requests: every API request so far, in arrival order.
    std::vector<journal_entry> requests() const;
    /// The POSTs among them.
    std::vector<journal_entry> posts() const;
    /// GET /_sim/stats' tlsHandshakesFailed: handshakes a client gave up on (it refused the
    /// certificate or the version); -1 when the stats could not be read.
    std::int64_t handshakes_failed() const;
    /// PUT /_sim/faults with a spec such as `latency=5s` (empty: no faults).
    void set_faults(const std::string& spec) const;
    /// PUT /_sim/rate-limits with a spec such as `write=0.001/s:burst=0`.
    void set_rate_limits(const std::string& spec) const;
    /// POST /_sim/threats; returns the ids s1sim gave them.
    std::vector<std::string> add_threats(const boost::json::array& threats) const;

private:
    std::unique_ptr<child_process> child_;
    std::unique_ptr<admin_client> admin_;
    std::uint16_t port_ = 0;
    fs::path ca_file_;
};

}  // namespace s1pilot::integration
