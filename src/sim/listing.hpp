#pragma once
// GET /threats: select with a filter, sort, page with an opaque cursor, serialise the page.

#include "s1pilot/filter/wire.hpp"

#include <optional>
#include <string>

#include "store.hpp"

namespace s1sim {

/// The position after the last threat of a page: sort field, direction, that threat's sort key
/// and id. Encoded as base64 text, so clients must treat it as opaque (and URL-encode its `=`).
struct cursor {
    std::string sort_by;  ///< id | createdAt | updatedAt
    bool descending = false;
    std::int64_t key = 0;
    std::uint64_t id = 0;
};

std::string encode_cursor(const cursor& c);
std::optional<cursor> decode_cursor(std::string_view text);

/// The number of threats a filter matches, kept from one GET /threats to the next: the pages of
/// one walk share their filter, and counting (pagination.totalItems) would otherwise read every
/// threat for every page. Valid while the store is unchanged: `generation` is the caller's
/// count of changes to the store, and a memo of another generation or filter is not used.
struct match_count_memo {
    s1pilot::filter::threat_filter filter;
    std::uint64_t generation = 0;
    std::int64_t total = -1;  ///< -1: nothing remembered
};

struct listing_result {
    bool ok = true;
    std::string error_parameter;  ///< when !ok: the parameter at fault (`sortBy`, `cursor`)
    std::string error_detail;
    std::string body;  ///< when ok: the JSON response body
};

/// Answers a parsed GET /threats query. The page is ordered by (sort key, id) so that a cursor
/// names one position even when threats share a time, and inserts never shift later pages.
/// `pagination.totalItems` is the number of matching threats (on every page); `nextCursor` is
/// null exactly when no matching threat follows the page. With a memo, the total of an earlier
/// request of the same filter and store generation is reused, and the memo keeps this one's.
listing_result list_threats(const threat_store& store, const s1pilot::filter::parsed_query& query,
                            match_count_memo* memo = nullptr, std::uint64_t generation = 0);

/// Base64 (RFC 4648, with padding), for cursors.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace s1sim
