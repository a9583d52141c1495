#pragma once
// Helpers shared by the filter tests: keys by name, values by key family, the example threat.

#include "s1pilot/core/time.hpp"
#include "s1pilot/filter/filter.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace s1pilot::filter {

/// Readable failure output for filters (gtest finds it by argument-dependent lookup).
inline void PrintTo(const threat_filter& f, std::ostream* os) {
    *os << "{";
    for (const auto& t : f.terms()) {
        *os << " " << t.key->name << "=";
        std::visit(
            [&](const auto& v) {
                using type = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<type, string_list>) {
                    for (const auto& s : v) *os << "[" << s << "]";
                } else if constexpr (std::is_same_v<type, core::timestamp>) {
                    *os << core::format_timestamp(v);
                } else if constexpr (std::is_same_v<type, relative_time>) {
                    *os << v.offset.count() << "us";
                } else {
                    *os << v;
                }
            },
            t.val);
    }
    *os << " }";
}

}  // namespace s1pilot::filter

namespace s1pilot::filter::test {

inline const key_spec& key(std::string_view name) {
    const key_spec* k = find_key(name);
    if (!k) throw std::invalid_argument("no key " + std::string(name));
    return *k;
}

inline core::timestamp at(std::string_view text) {
    auto t = core::parse_timestamp(text);
    if (!t) throw std::invalid_argument("bad time " + std::string(text));
    return *t;
}

/// A valid value for any key, chosen to be awkward on the wire (reserved characters inside a list
/// item; not a comma, which no list item can carry: comma_in_list_item).
inline value sample_value(const key_spec& k) {
    switch (k.type) {
        case value_type::string_list:
            if (!k.allowed.empty()) return string_list{std::string(k.allowed.front()), std::string(k.allowed.back())};
            if (k.scope) return string_list{"1364475734565842019", "1364475734565842020"};  // ids only
            return string_list{"a;b c", "x&y=z+1"};
        case value_type::string:
            if (k.kind == match_kind::agent_tags) return std::string(R"({"env":["prod"],"ownerNin":["bob"]})");
            return std::string("some text, & more");
        case value_type::boolean: return true;
        case value_type::time: return at("2024-01-31T10:00:00.123456Z");
        case value_type::number: return std::int64_t{25};
    }
    return std::string{};
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

/// The first threat of tests/data/threat-page.json (a copy of the reference example).
inline boost::json::object example_threat() {
    auto page = boost::json::parse(read_text(std::string(S1PILOT_TEST_DATA "/threat-page.json")));
    return page.at("data").at(0).as_object();
}

}  // namespace s1pilot::filter::test
