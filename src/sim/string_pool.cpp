#include "string_pool.hpp"

#include <stdexcept>

namespace s1sim {

string_pool::string_pool() {
    // id 0 is the null string: an empty range that intern() never hands out.
    starts_.push_back(0);
    starts_.push_back(0);
}

string_id string_pool::add(std::string_view s) {
    if (arena_.size() + s.size() > UINT32_MAX) throw std::length_error("s1sim: string arena is full (4 GiB)");
    arena_.append(s);
    starts_.push_back(static_cast<std::uint32_t>(arena_.size()));
    return static_cast<string_id>(starts_.size() - 2);
}

string_id string_pool::intern(std::string_view s) {
    if (auto it = interned_.find(s); it != interned_.end()) return it->second;
    string_id id = add(s);
    interned_.emplace(std::string(s), id);
    return id;
}

string_id string_pool::find(std::string_view s) const {
    auto it = interned_.find(s);
    return it == interned_.end() ? null_string : it->second;
}

std::size_t string_pool::memory_bytes() const noexcept {
    return arena_.capacity() + starts_.capacity() * sizeof(std::uint32_t) + interned_.size() * 64;
}

list_pool::list_pool() {
    lists_.emplace_back();
}

std::uint32_t list_pool::intern(const std::vector<string_id>& items) {
    if (items.empty()) return 0;
    std::string key(reinterpret_cast<const char*>(items.data()), items.size() * sizeof(string_id));
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    auto id = static_cast<std::uint32_t>(lists_.size());
    lists_.push_back(items);
    index_.emplace(std::move(key), id);
    return id;
}

}  // namespace s1sim
