#pragma once
// Every request s1pilot sends, built as plain values: the exact target and body are unit
// tested, and a dry run records them without sending. Asio-free.

#include "s1pilot/filter/filter.hpp"
#include "s1pilot/net/http.hpp"
#include "s1pilot/s1/threat.hpp"
#include "s1pilot/s1/vocabulary.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace s1pilot::s1 {

/// The API's path prefix on the console.
inline constexpr std::string_view api_base = "/web/api/v2.1";

/// Pagination and order of GET /threats. The defaults are those of a run (DESIGN.md §4).
struct page_request {
    std::int64_t limit = 1000;  ///< page size, 1..1000
    std::string cursor;         ///< empty: the first page
    std::string sort_by = "createdAt";
    bool descending = false;
};

/// `/web/api/v2.1/threats?<filter>&sortBy=createdAt&sortOrder=asc&limit=1000[&cursor=...]`.
/// The filter's own `limit` term is left out (the caller applies it; `limit` is the page size).
/// Precondition: no relative times in `f` (resolve it first).
std::string list_threats_target(const filter::threat_filter& f, const page_request& page);

/// `/web/api/v2.1/threats?<filter>&countOnly=true&limit=1`, without the filter's `limit` term
/// (the caller takes min(count, limit)).
std::string count_threats_target(const filter::threat_filter& f);

/// `/web/api/v2.1/threats/<id>/notes?limit=1000[&cursor=...]`.
std::string notes_target(object_id threat, std::string_view cursor = {});

/// What an action sends: POST `target` with `body` (`{"filter":{...},"data":{...}}`).
struct action_request {
    std::string target;
    std::string body;
    bool operator==(const action_request&) const = default;
};

/// An action body's filter must select something: an empty filter selects every threat in
/// scope (reference §6.1). Refused with core::errc::empty_filter when `f` has no term, only
/// terms that select nothing (`limit`, `countsFor`), or an empty list. No I/O happens.
boost::system::error_code check_action_filter(const filter::threat_filter& f);

using action_result = boost::system::result<action_request>;

action_result mitigate_request(mitigation_action action, const filter::threat_filter& f);
/// POST /threats/incident with `incidentStatus` and, when given, `analystVerdict` (seed 002).
action_result incident_request(const filter::threat_filter& f, incident_status status,
                               std::optional<analyst_verdict> verdict = std::nullopt);
action_result verdict_request(const filter::threat_filter& f, analyst_verdict verdict);
action_result note_request(const filter::threat_filter& f, std::string_view text);
action_result external_ticket_request(const filter::threat_filter& f, std::string_view ticket_id);
/// POST /agents/actions/disconnect (isolate) or /connect; `agents` selects agents (`ids` are
/// agent ids).
action_result agent_network_request(const filter::threat_filter& agents, bool disconnect);

/// The net::request for an action: POST, target, body, no headers yet.
net::request to_post(action_request action);

}  // namespace s1pilot::s1
