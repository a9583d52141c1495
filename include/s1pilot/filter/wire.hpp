#pragma once
// A filter on the wire: the query string of GET /threats and the `filter` object of an action
// body, in both directions (s1pilot sends, s1sim reads).

#include "s1pilot/filter/filter.hpp"

#include <boost/json/fwd.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::filter {

/// Query parameters: `key=value` joined by `&`, lists comma-separated in one parameter, every
/// part percent-encoded (Boost.URL), booleans `true|false`, times `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
/// Terms appear in the filter's order. Preconditions: no relative times (call `resolved` first;
/// a relative time throws std::logic_error) and no list item holding a comma (the console splits
/// on it even when it is encoded as `%2C`, so the item cannot be sent as written; throws
/// std::invalid_argument: validation refuses such items, see comma_in_list_item).
std::string to_query(const threat_filter& f);

/// True when a list item of `f` holds a comma, which to_query refuses: lets a caller refuse
/// with a value instead of an exception.
bool has_list_item_with_comma(const threat_filter& f) noexcept;

/// The JSON `filter` object of an action body: lists as arrays, booleans as booleans, times as
/// strings, `limit` as a number. Same precondition as to_query.
boost::json::object to_json(const threat_filter& f);

/// Parameters of a GET /threats query that are not filter keys (pagination, sorting).
struct list_params {
    std::int64_t limit = 10;  ///< page size; 1..1000
    std::int64_t skip = 0;
    std::string cursor;  ///< empty: first page
    bool count_only = false;
    std::string sort_by;  ///< empty: the server's order
    bool sort_descending = false;
};

struct parsed_query {
    threat_filter filter;
    list_params params;
};

/// Parses a GET /threats query string (without `?`). Lists may be comma-separated or repeated
/// keys (merged); as on the console, a value is percent-decoded before it is split, so `%2C`
/// separates items exactly like `,`. `limit`, `skip`, `cursor`, `countOnly`, `sortBy`, `sortOrder` are list_params
/// (for GET, `limit` is the page size, not the filter key). An unknown key, a bad value or a
/// limit outside 1..1000 is an error whose message names the parameter; all problems are
/// appended to `problems` and the result holds errc::invalid_filter.
boost::system::result<parsed_query> parse_query(std::string_view query, std::vector<core::diagnostic>& problems);

/// Parses an action body's `filter` object, tolerating the known client variations: `ids` (and
/// the other lists) as a string (comma-separated) or an array, booleans as `"true"`/`"false"`,
/// numbers as strings. Unknown keys and bad values are errors, appended to `problems`.
boost::system::result<threat_filter> from_json(const boost::json::object& filter,
                                               std::vector<core::diagnostic>& problems);

}  // namespace s1pilot::filter
