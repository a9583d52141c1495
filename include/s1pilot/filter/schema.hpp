#pragma once
// JSON Schema (draft 2020-12) fragments and the Markdown reference (docs/filters.md), both
// generated from the key table, for `s1pilot schema` and the documentation.

#include <boost/json/fwd.hpp>

#include <string>

namespace s1pilot::filter {

/// The schema of a playbook's `match` object: one property per key, typed by value_type, with
/// `enum` for closed sets, examples for open sets, descriptions from the table, time keys
/// accepting an RFC 3339 time or a negative duration, and `additionalProperties: false`.
boost::json::object match_schema();

/// A Markdown table of every key: name, type, what it selects, allowed values, seeds and
/// description. docs/filters.md holds it verbatim (a unit test keeps the two equal).
std::string keys_markdown();

}  // namespace s1pilot::filter
