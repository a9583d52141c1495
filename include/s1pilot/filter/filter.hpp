#pragma once
// A threat filter: a set of (key, value) terms, validated against the key table.

#include "s1pilot/core/diagnostic.hpp"
#include "s1pilot/core/time.hpp"
#include "s1pilot/filter/keys.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace s1pilot::filter {

/// "Now minus": a negative offset from the time a run starts, resolved once per run.
struct relative_time {
    std::chrono::microseconds offset;  ///< negative or zero
    bool operator==(const relative_time&) const = default;
};

using string_list = std::vector<std::string>;

/// A term's value. Which alternative is valid follows the key's `value_type`:
/// string_list, std::string (string; also agentTagsData's JSON text), bool, std::int64_t
/// (number), core::timestamp or relative_time (time).
using value = std::variant<string_list, std::string, bool, std::int64_t, core::timestamp, relative_time>;

struct term {
    const key_spec* key;  ///< never null; points into the key table
    value val;
    bool operator==(const term&) const = default;  ///< same key (table entry) and same value
};

class threat_filter {
public:
    /// Adds or replaces the term for `key`.
    void set(const key_spec& key, value val);
    /// Removes the term for the key of that name, if any.
    void erase(std::string_view name);
    const term* find(std::string_view name) const noexcept;
    const std::vector<term>& terms() const noexcept { return terms_; }
    bool empty() const noexcept { return terms_.empty(); }

    /// True when a term narrows the selection to part of the console: a non-empty scope key
    /// (ids, agentIds, accountIds, siteIds, groupIds).
    bool has_scope() const noexcept;

    /// A copy with every relative time replaced by `now + offset`.
    threat_filter resolved(core::timestamp now) const;
    bool has_relative_times() const noexcept;

    /// A copy holding only the carried scope keys (carried_scope_keys()) present here.
    threat_filter carried_scope() const;

    bool operator==(const threat_filter&) const = default;

private:
    std::vector<term> terms_;  // in insertion order; one per key
};

/// Checks that `val` suits `key`: the alternative matches the value type; enum values are among
/// the allowed ones (errors name them all); open-set keys only warn on unseen values; lists are
/// non-empty and hold no empty strings; `agentTagsData` is a JSON object of string lists;
/// `limit` is positive. Appends diagnostics with no location (the caller adds file:line:col)
/// and returns true when no error was added.
bool validate(const key_spec& key, const value& val, std::vector<core::diagnostic>& out);

/// One item of a list value checked for what a query string cannot carry (DESIGN §4, "Query
/// encoding"): the console percent-decodes the query string before it splits a list on commas,
/// so a comma inside an item always separates and `"-enc,JAB"` would silently select on `-enc`
/// or `JAB` alone. Returns the error message (naming the key and the item, and what to write
/// instead; no location: the caller adds file:line:col), or an empty string when the item can
/// be sent. Scope keys and closed enum sets say nothing here: validate() already refuses such
/// an item with its own message. validate() does not call this (JSON bodies carry commas).
std::string comma_in_list_item(const key_spec& key, std::string_view item);

}  // namespace s1pilot::filter
