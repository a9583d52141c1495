#pragma once
// Every request the simulator received, in order: kept in memory for GET /_sim/requests and
// appended as JSON lines to --journal. Tests of s1pilot assert the exact POSTs it sent from here,
// so an entry is recorded for every request, faulted or not, including ones answered 401 or 429.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "store.hpp"

namespace s1sim {

struct journal_entry {
    std::uint64_t seq = 0;  ///< 1, 2, 3... in arrival order
    micros time = 0;
    std::string rqid, method, path, query, body;
    unsigned status = 0;           ///< what was (or would have been) answered; 0 for a reset
    std::string fault;             ///< empty, or the fault injected (`reset`, `status503`, `drop_after_apply`...)
    std::int64_t received_ns = 0;  ///< http_request::received_ns; written as null when 0
    std::string tls{};             ///< http_request::tls_version; written as null when empty
    /// How long the answer was held after the request was handled (the latency fault, the hold of
    /// a `retry_after=date+D` 429): received_ns + delay is when the answer was due to leave.
    std::chrono::milliseconds delay{0};
};

class journal {
public:
    /// `file` empty: memory only. Throws std::runtime_error when the file cannot be opened.
    explicit journal(const std::string& file = {});

    void record(journal_entry entry);
    /// `{"requests":[…],"next":<seq to pass as since next time>}` of the entries with seq >= since.
    std::string to_json(std::uint64_t since) const;
    void clear();
    std::size_t size() const noexcept { return entries_.size(); }
    const std::vector<journal_entry>& entries() const noexcept { return entries_; }

private:
    std::vector<journal_entry> entries_;
    std::uint64_t next_seq_ = 1;
    std::ofstream file_;
};

}  // namespace s1sim
