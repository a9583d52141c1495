#pragma once
// Reading an audit record's fields for the SIEM mappings, and the decisions both mappings share:
// what kind of event a record is and how serious it is. One place, so OCSF and ECS agree.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

namespace s1pilot::audit::detail {

/// The string field `key`, or nullopt when it is absent, not a string, or empty.
std::optional<std::string_view> text_of(const boost::json::object& record, std::string_view key);

/// The integer field `key` (signed or unsigned JSON integer), or nullopt.
std::optional<std::int64_t> integer_of(const boost::json::object& record, std::string_view key);

/// The array field `key`, or nullptr when it is absent or not an array.
const boost::json::array* array_of(const boost::json::object& record, std::string_view key);

/// The record without the fields named in `mapped`, in the record's order.
boost::json::object remaining_fields(const boost::json::object& record, std::initializer_list<std::string_view> mapped);

/// `2026-11-21T09:14:03.120394Z` as milliseconds since the epoch; nullopt when not a time.
std::optional<std::int64_t> epoch_milliseconds(std::string_view time);

/// The record's `outcome` as a SIEM reads it. Records without one (an intent, a start) have none:
/// nothing has happened yet that could succeed or fail.
enum class outcome_kind { none, success, failure, unknown, other };
outcome_kind outcome_of(const boost::json::object& record);

/// How much a record needs a person's attention, on OCSF's severity scale (also ECS's
/// event.severity): a failure, an unknown outcome or a held playbook is Medium (3), everything
/// else Informational (1).
int severity_of(const boost::json::object& record);

}  // namespace s1pilot::audit::detail
