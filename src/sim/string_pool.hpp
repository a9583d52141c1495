#pragma once
// Strings of the threat store, kept once in a flat arena and named by a 32-bit id.
//
// Low-cardinality values (classifications, OS names, site names, engine keys...) are interned, so
// equal strings share one id and a filter term can be resolved to ids once per request instead of
// comparing text for every threat. High-cardinality values (hashes, file paths, command lines) are
// appended without the dedup map, which would cost more than the strings themselves.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace s1sim {

/// A string id. 0 is reserved for "absent" (JSON null), so a default-constructed record holds
/// no value rather than an empty string.
using string_id = std::uint32_t;
inline constexpr string_id null_string = 0;

class string_pool {
public:
    string_pool();

    /// The id of `s`, shared with every equal string interned before.
    string_id intern(std::string_view s);
    /// A fresh id for `s` (no dedup): for values that are nearly always unique.
    string_id add(std::string_view s);
    /// The id of `s` if it was interned, else null_string (the value occurs nowhere).
    string_id find(std::string_view s) const;

    std::string_view get(string_id id) const noexcept {
        return {arena_.data() + starts_[id], starts_[id + 1] - starts_[id]};
    }
    std::size_t size() const noexcept { return starts_.size() - 1; }
    std::size_t memory_bytes() const noexcept;

private:
    struct view_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::string arena_;
    std::vector<std::uint32_t> starts_;  // string i is arena_[starts_[i], starts_[i+1])
    std::unordered_map<std::string, string_id, view_hash, std::equal_to<>> interned_;
};

/// Interned lists of string ids (engine keys, tags, labels): a threat stores one list id.
class list_pool {
public:
    list_pool();
    /// The id of the list; equal lists share one id. The empty list is id 0.
    std::uint32_t intern(const std::vector<string_id>& items);
    const std::vector<string_id>& get(std::uint32_t id) const noexcept { return lists_[id]; }
    std::size_t size() const noexcept { return lists_.size(); }

private:
    std::vector<std::vector<string_id>> lists_;
    std::unordered_map<std::string, std::uint32_t> index_;  // key: the ids' bytes
};

}  // namespace s1sim
