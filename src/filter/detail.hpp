#pragma once
// Internals shared by the filter module's source files; not part of the public interface.

#include "s1pilot/filter/keys.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::filter::detail {

/// One entry of an `agentTagsData` object: `"env": ["prod"]` requires a tag env=prod;
/// `"envNin": ["dev"]` (exclude) forbids env=dev.
struct tag_condition {
    std::string key;  ///< without the `Nin` suffix
    std::vector<std::string> values;
    bool exclude = false;
};

/// Parses `agentTagsData` JSON text. On failure returns false and sets `error` to the
/// diagnostic message (see filter.cpp for the wording).
bool parse_agent_tags(std::string_view json_text, std::vector<tag_condition>& out, std::string& error);

/// How a value of that type is described in messages: "a list of strings", "true or false"...
std::string_view expected_phrase(value_type t) noexcept;

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace s1pilot::filter::detail
