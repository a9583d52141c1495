#pragma once
// JSON Schema (draft 2020-12) fragments generated from the key table, for `s1pilot schema`.

#include <boost/json/fwd.hpp>

namespace s1pilot::filter {

/// The schema of a playbook's `match` object: one property per key, typed by value_type, with
/// `enum` for closed sets, examples for open sets, descriptions from the table, time keys
/// accepting an RFC 3339 time or a negative duration, and `additionalProperties: false`.
boost::json::object match_schema();

}  // namespace s1pilot::filter
