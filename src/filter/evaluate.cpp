#include "s1pilot/filter/evaluate.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "detail.hpp"

namespace s1pilot::filter {
namespace {

// attribute_path() compiled into steps once, so that a lookup per threat is a few hash-table
// finds and no string parsing.
struct step {
    enum kind_type : std::uint8_t { member, each_element, each_value, each_key } kind;
    std::string_view name;  // for `member`
};

using compiled_path = std::vector<step>;

compiled_path compile_path(std::string_view path) {
    compiled_path steps;
    while (!path.empty()) {
        auto dot = path.find('.');
        std::string_view segment = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (segment == "*") {
            steps.push_back({step::each_value, {}});
        } else if (segment == "*~") {
            steps.push_back({step::each_key, {}});
        } else if (segment.ends_with("[]")) {
            steps.push_back({step::member, segment.substr(0, segment.size() - 2)});
            steps.push_back({step::each_element, {}});
        } else {
            steps.push_back({step::member, segment});
        }
    }
    return steps;
}

const compiled_path& path_of(attribute a) {
    static const auto paths = [] {
        std::array<compiled_path, static_cast<std::size_t>(attribute::count_)> all;
        for (std::size_t i = 0; i < all.size(); ++i) all[i] = compile_path(attribute_path(static_cast<attribute>(i)));
        return all;
    }();
    return paths[static_cast<std::size_t>(a)];
}

bool contains_ignoring_case(std::string_view haystack, std::string_view lower_needle) noexcept {
    if (lower_needle.size() > haystack.size()) return false;
    if (lower_needle.empty()) return true;
    std::size_t last = haystack.size() - lower_needle.size();
    for (std::size_t i = 0; i <= last; ++i) {
        if (detail::ascii_lower(haystack[i]) != lower_needle[0]) continue;
        std::size_t j = 1;
        while (j < lower_needle.size() && detail::ascii_lower(haystack[i + j]) == lower_needle[j]) ++j;
        if (j == lower_needle.size()) return true;
    }
    return false;
}

bool equal_ignoring_case(std::string_view value, std::string_view lower_expected) noexcept {
    return value.size() == lower_expected.size() &&
           std::equal(value.begin(), value.end(), lower_expected.begin(),
                      [](char a, char b) { return detail::ascii_lower(a) == b; });
}

std::string lowered(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = detail::ascii_lower(c);
    return out;
}

// Cheap checks first: a threat usually fails on a scope or status term before any substring
// search runs.
int cost(match_kind kind) noexcept {
    switch (kind) {
        case match_kind::contains:
        case match_kind::agent_tags: return 1;
        case match_kind::full_text: return 2;
        default: return 0;
    }
}

}  // namespace

// ---- json_threat_view ----------------------------------------------------------------------

namespace {

struct walker {
    std::vector<std::string_view>& out;
    std::forward_list<std::string>& number_text;

    void emit(const boost::json::value& v) {
        switch (v.kind()) {
            case boost::json::kind::string: out.push_back(v.get_string()); break;
            case boost::json::kind::bool_: out.push_back(v.get_bool() ? "true" : "false"); break;
            case boost::json::kind::int64:
                out.push_back(number_text.emplace_front(std::to_string(v.get_int64())));
                break;
            case boost::json::kind::uint64:
                out.push_back(number_text.emplace_front(std::to_string(v.get_uint64())));
                break;
            case boost::json::kind::double_: {
                std::array<char, 32> buffer{};
                auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v.get_double()).ptr;
                out.push_back(number_text.emplace_front(buffer.data(), end));
                break;
            }
            case boost::json::kind::array:
                // A list where one value was expected (labels may be either): its scalar items.
                for (const auto& element : v.get_array())
                    if (!element.is_array() && !element.is_object()) emit(element);
                break;
            case boost::json::kind::null:
            case boost::json::kind::object: break;
        }
    }

    void walk(const boost::json::value& v, const compiled_path& path, std::size_t i) {
        if (i == path.size()) return emit(v);
        const step& s = path[i];
        switch (s.kind) {
            case step::member:
                if (const auto* object = v.if_object()) walk(*object, path, i);
                break;
            case step::each_element:
                if (const auto* array = v.if_array()) {
                    for (const auto& element : *array) walk(element, path, i + 1);
                } else {
                    walk(v, path, i + 1);  // tolerate one value where a list was expected
                }
                break;
            case step::each_value:
                if (const auto* object = v.if_object())
                    for (const auto& member : *object) walk(member.value(), path, i + 1);
                break;
            case step::each_key:
                if (const auto* object = v.if_object())
                    for (const auto& member : *object) out.push_back(member.key());
                break;
        }
    }

    void walk(const boost::json::object& object, const compiled_path& path, std::size_t i) {
        // Precondition: path[i] is a member step.
        if (const auto* child = object.if_contains(path[i].name)) walk(*child, path, i + 1);
    }
};

}  // namespace

json_threat_view::json_threat_view(const boost::json::object& threat, const std::vector<std::string>* notes,
                                   const std::vector<std::string>* agent_tags)
    : threat_(threat), notes_(notes), agent_tags_(agent_tags) {}

void json_threat_view::values(attribute a, std::vector<std::string_view>& out) const {
    if (a == attribute::notes || a == attribute::agent_tags) {
        const auto* list = a == attribute::notes ? notes_ : agent_tags_;
        if (list) out.insert(out.end(), list->begin(), list->end());
        return;
    }
    if (a == attribute::none || a >= attribute::count_) return;
    const compiled_path& path = path_of(a);
    if (path.empty()) return;
    walker{out, number_text_}.walk(threat_, path, 0);
}

// ---- compiled_filter -----------------------------------------------------------------------

struct compiled_filter::compiled_term {
    match_kind kind{};
    attribute attr{};
    std::vector<std::string> strings;  // in/not_in: sorted; contains, full_text, equals: lower case
    bool flag = false;
    std::int64_t micros = 0;
    bool unusable = false;  // a value of the wrong type, or agentTagsData that does not parse: selects nothing
    std::vector<detail::tag_condition> tags;
};

compiled_filter::compiled_filter(const threat_filter& f) {
    for (const auto& t : f.terms()) {
        compiled_term c;
        c.kind = t.key->kind;
        c.attr = t.key->attr;
        if (c.kind == match_kind::limit || c.kind == match_kind::no_effect || c.kind == match_kind::tenant) continue;
        if (std::holds_alternative<relative_time>(t.val))
            throw std::logic_error(
                fmt::format("filter key {} holds a relative time: resolve the filter first", t.key->name));
        if (const auto* list = std::get_if<string_list>(&t.val)) c.strings = *list;
        if (const auto* text = std::get_if<std::string>(&t.val)) c.strings = {*text};
        if (const auto* b = std::get_if<bool>(&t.val)) c.flag = *b;
        if (const auto* time = std::get_if<core::timestamp>(&t.val)) c.micros = time->time_since_epoch().count();
        switch (c.kind) {
            case match_kind::in_list:
            case match_kind::not_in_list: std::sort(c.strings.begin(), c.strings.end()); break;
            case match_kind::contains:
            case match_kind::full_text:
            case match_kind::equals:
                for (auto& s : c.strings) s = lowered(s);
                break;
            case match_kind::agent_tags: {
                std::string error;
                c.unusable = c.strings.empty() || !detail::parse_agent_tags(c.strings.front(), c.tags, error);
                break;
            }
            default: break;
        }
        // Only a filter that skipped validate() gets here with a mismatched value.
        bool needs_text = c.kind == match_kind::full_text || c.kind == match_kind::equals;
        if (needs_text && c.strings.empty()) c.unusable = true;
        terms_.push_back(std::move(c));
    }
    std::stable_sort(terms_.begin(), terms_.end(),
                     [](const compiled_term& a, const compiled_term& b) { return cost(a.kind) < cost(b.kind); });
}

compiled_filter::compiled_filter(const compiled_filter&) = default;
compiled_filter::compiled_filter(compiled_filter&&) noexcept = default;
compiled_filter& compiled_filter::operator=(const compiled_filter&) = default;
compiled_filter& compiled_filter::operator=(compiled_filter&&) noexcept = default;
compiled_filter::~compiled_filter() = default;

namespace {

bool in_sorted(const std::vector<std::string>& sorted, std::string_view v) {
    // Scope lists are usually a few ids: a scan (comparing sizes first) beats a binary search.
    if (sorted.size() <= 8)
        return std::any_of(sorted.begin(), sorted.end(), [&](const std::string& s) { return s == v; });
    auto it = std::lower_bound(sorted.begin(), sorted.end(), v);
    return it != sorted.end() && *it == v;
}

bool time_holds(match_kind kind, std::int64_t threat, std::int64_t bound) noexcept {
    switch (kind) {
        case match_kind::time_gt: return threat > bound;
        case match_kind::time_gte: return threat >= bound;
        case match_kind::time_lt: return threat < bound;
        case match_kind::time_lte: return threat <= bound;
        default: return false;
    }
}

// Agent tags arrive as `key=value`; a tag key holds no `=`, so the first one splits.
bool tags_hold(const std::vector<detail::tag_condition>& conditions, const std::vector<std::string_view>& tags) {
    for (const auto& condition : conditions) {
        bool found = std::any_of(tags.begin(), tags.end(), [&](std::string_view tag) {
            auto eq = tag.find('=');
            if (eq == std::string_view::npos || tag.substr(0, eq) != condition.key) return false;
            auto value = tag.substr(eq + 1);
            return std::find(condition.values.begin(), condition.values.end(), value) != condition.values.end();
        });
        if (found == condition.exclude) return false;
    }
    return true;
}

}  // namespace

bool compiled_filter::matches(const threat_view& threat) const {
    thread_local std::vector<std::string_view> values;  // reused: no allocation per threat
    for (const auto& c : terms_) {
        if (c.unusable) return false;
        values.clear();
        if (c.kind == match_kind::full_text) {
            bool found = false;
            for (attribute a : full_text_attributes()) {
                values.clear();
                threat.values(a, values);
                found = std::any_of(values.begin(), values.end(),
                                    [&](std::string_view v) { return contains_ignoring_case(v, c.strings.front()); });
                if (found) break;
            }
            if (!found) return false;
            continue;
        }
        threat.values(c.attr, values);
        bool ok = false;
        switch (c.kind) {
            case match_kind::in_list:
                ok = std::any_of(values.begin(), values.end(),
                                 [&](std::string_view v) { return in_sorted(c.strings, v); });
                break;
            case match_kind::not_in_list:
                ok = std::none_of(values.begin(), values.end(),
                                  [&](std::string_view v) { return in_sorted(c.strings, v); });
                break;
            case match_kind::contains:
                ok = std::any_of(values.begin(), values.end(), [&](std::string_view v) {
                    return std::any_of(c.strings.begin(), c.strings.end(),
                                       [&](const std::string& needle) { return contains_ignoring_case(v, needle); });
                });
                break;
            case match_kind::time_gt:
            case match_kind::time_gte:
            case match_kind::time_lt:
            case match_kind::time_lte:
                ok = std::any_of(values.begin(), values.end(), [&](std::string_view v) {
                    auto t = core::parse_timestamp(v);
                    return t && time_holds(c.kind, t->time_since_epoch().count(), c.micros);
                });
                break;
            case match_kind::flag:
                ok = !values.empty() && (values.front() == "true") == c.flag &&
                     (values.front() == "true" || values.front() == "false");
                break;
            case match_kind::resolved:
                ok = (std::find(values.begin(), values.end(), "resolved") != values.end()) == c.flag;
                break;
            case match_kind::has_any: ok = !values.empty() == c.flag; break;
            case match_kind::agent_tags: ok = tags_hold(c.tags, values); break;
            case match_kind::equals:
                ok = std::any_of(values.begin(), values.end(),
                                 [&](std::string_view v) { return equal_ignoring_case(v, c.strings.front()); });
                break;
            default: ok = true; break;
        }
        if (!ok) return false;
    }
    return true;
}

bool matches(const threat_filter& f, const threat_view& threat) {
    return compiled_filter(f).matches(threat);
}

}  // namespace s1pilot::filter
