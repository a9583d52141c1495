#pragma once
// Injected failures: what a flaky console, load balancer or network does to a client. Each
// request to the API draws once from a seeded RNG, so a test that sets a probability of 1.0 (or
// a fixed seed) sees the same faults every run. Admin routes (/_sim/...) are never faulted.

#include "s1pilot/core/time.hpp"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http_types.hpp"
#include "rng.hpp"

namespace s1sim {

/// Which requests the faults of a configuration concern.
enum class fault_target : std::uint8_t { all, reads, writes };

struct fault_config {
    double status500 = 0, status502 = 0, status503 = 0;  ///< answer that status instead (nothing applied)
    /// Answer 429 (nothing applied) with `retry_after` as its Retry-After header: the text as it
    /// is (`2`, `-5`, `soon`, an HTTP-date), `date+D` for an HTTP-date D after the answer (the
    /// answer is then held to the next whole second, so that the date is exact), empty for none.
    double status429 = 0;
    std::string retry_after;
    fault_target only = fault_target::all;  ///< reads: GET and HEAD; writes: every other method
    double reset = 0;                       ///< reset the connection without acting on the request
    double drop_after_apply = 0;            ///< act on the request, then drop the connection unanswered
    std::chrono::milliseconds latency{0};   ///< added before every answer, with probability latency_p
    double latency_p = 1;
    std::chrono::milliseconds slow_body{0};  ///< pause between body pieces, with probability slow_body_p
    double slow_body_p = 1;
    std::size_t slow_body_chunk = 1;  ///< bytes per piece
    /// Every answer's body padded with trailing spaces (JSON whitespace) to this many bytes and
    /// sent chunked, so that a client learns its size only by reading it. 0: off.
    std::size_t huge_body = 0;
    /// Every answer carries an `X-S1sim-Padding` header field of this many bytes. 0: off.
    std::size_t huge_header = 0;
    /// A mitigation entry ends `failed` instead of `success` (drawn when the console accepts the
    /// action). Not a fault of the request, so any() leaves it out: it draws nothing per request.
    double mitigation_failed = 0;
    std::uint64_t seed = 1;

    /// Some fault needs a draw per request (the sizes above are certain and draw nothing, so
    /// that setting them leaves a seed's sequence of faults as it was).
    bool any() const noexcept {
        return status500 > 0 || status502 > 0 || status503 > 0 || status429 > 0 || reset > 0 || drop_after_apply > 0 ||
               latency.count() > 0 || slow_body.count() > 0;
    }
    /// Whether a request of this class draws faults at all (`only`).
    bool concerns(bool write) const noexcept {
        return only == fault_target::all || (only == fault_target::writes) == write;
    }
};

/// Parses `status500=0.02,reset=0.01,latency=5ms,slow_body=10ms,slow_body_chunk=64,drop_after_apply=0.1,`
/// `status429=1,retry_after=2,only=writes,mitigation_failed=0.1,huge_body=100MiB,huge_header=16KiB,seed=7`.
/// Probabilities are in [0, 1]; durations and sizes need a unit. The error names the bad item.
std::optional<fault_config> parse_faults(std::string_view spec, std::string& error);
/// The same from a JSON object (PUT /_sim/faults): numbers for probabilities, strings or
/// numbers of milliseconds for durations, strings or numbers of bytes for sizes. Keys absent are 0 (no fault).
std::optional<fault_config> faults_from_json(const boost::json::object& o, std::string& error);
std::string faults_to_json(const fault_config& c);

/// The faults drawn for one request.
struct fault_plan {
    unsigned status = 0;  ///< 0, 500, 502, 503 or 429
    bool reset = false;
    bool drop_after_apply = false;
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds slow_body_pause{0};
    std::size_t slow_body_chunk = 1;
    std::size_t pad_body_to = 0;     ///< huge_body
    std::size_t header_padding = 0;  ///< huge_header
    /// The journal's name for the fault (`status503`, `status429`, `reset`, `drop_after_apply`), or empty.
    std::string_view name() const noexcept;
};

/// The Retry-After of an injected 429 answered at `now`: nullopt for none. For `date+D`, `hold`
/// is set to how long to hold the answer so that it leaves at (or within a millisecond before)
/// the next whole second, the instant the date counts from: an HTTP-date has whole seconds only.
std::optional<std::string> injected_retry_after(const fault_config& c, s1pilot::core::timestamp now,
                                                std::chrono::milliseconds& hold);

/// Whether the next mitigation entry is to end `failed`. Draws from `r` only when
/// mitigation_failed is set, so that the request faults' sequence is unchanged without it.
bool draw_mitigation_failed(const fault_config& c, rng& r);

/// Draws the faults of one request. At most one of reset, status and drop_after_apply is chosen
/// (in that order of precedence; 429 after the 5xx statuses); latency and slow body add to any
/// answer. status429 draws only when it is set, after the others, so that the sequence of the
/// other faults under a seed is what it was before it existed.
fault_plan draw_faults(const fault_config& c, rng& r);

}  // namespace s1sim
