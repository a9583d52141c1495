#pragma once
// Parsing a GET /threats answer into a threat_page: a streaming JSON parse that keeps only the
// fields of threat_record, so a 1,000-threat page (~6 MB) costs no DOM (PERFORMANCE.md B7).
// Asio-free; fuzzed (RELIABILITY.md 18).

#include "s1pilot/s1/threat.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace s1pilot::s1 {

/// Why a body was not understood; the message names the JSON path (`data[3].id`).
struct parse_error {
    std::string message;
};

template <class T>
using parse_result = boost::system::result<T, parse_error>;

[[noreturn]] void throw_exception_from_error(const parse_error& e, const boost::source_location& location);

/// Deepest nesting accepted; deeper documents are refused, not recursed into.
inline constexpr std::size_t max_json_depth = 64;

/// Parses `{"data":[threat...],"pagination":{"nextCursor":...,"totalItems":...}}`. Missing
/// optional fields are left empty and unknown enum values become nullopt (the API grows), but
/// a missing `data` array (unless `require_data` is false, for countOnly), a threat without
/// an id, a wanted field of the wrong JSON type, a malformed id or time, and malformed or too
/// deeply nested JSON are errors.
parse_result<threat_page> parse_threat_page(std::string_view body, bool require_data = true);

}  // namespace s1pilot::s1
