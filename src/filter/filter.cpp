#include "s1pilot/filter/filter.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "detail.hpp"

// Validation messages. They are shown to SOC engineers (prefixed with file:line:col by the
// caller) and asserted verbatim by tests, so treat them as part of the interface:
//
//   <key> must be <expected>                      the value has the wrong type; <expected> is
//                                                 expected_phrase(key.type)
//   <key> must not be an empty list
//   <key> must not contain an empty string
//   <key> must not be empty                       an empty string for a string key
//   invalid value "<v>" for <key>: expected one of <a>, <b>, <c>
//   warning: unknown classification "<v>" (known: <a>, <b>, ...); it is sent as written
//                                                 open sets; "<key> value" for an open set other
//                                                 than classifications
//   agentTagsData must be a JSON object whose values are lists of strings, e.g. {"env":["prod"]}
//   agentTagsData must name at least one tag key
//   agentTagsData: the list for tag key "<k>" must not be empty
//   limit must be at least 1
//   <key> must be a negative duration (now minus), e.g. -24h: "<d>" is in the future
//   <key>: the value is not valid UTF-8            any string or list item; nothing else is said
//                                                 about that value (it would print broken bytes)
//   <key>: "<v>" is not an id (ids are decimal numbers)
//                                                 scope keys (ids, agentIds, accountIds, siteIds,
//                                                 groupIds); one per offending item
//   <key>: "<v>" is not an id (ids are decimal numbers); to give several, write a YAML list: [<a>, <b>]
//                                                 when <v> is ids separated by commas or spaces
//   <key>: "<v>" contains a comma, which the console reads as a list separator (it would match "<a>" or
//     "<b>" on their own); write separate list items ["<a>", "<b>"] if either alone should match[, or
//     search for the whole text with the string filter query: "<v>"]
//                                                 comma_in_list_item(); the query suggestion only for
//                                                 __contains keys whose attribute query searches;
//                                                 "any" for "either" when there are more than two parts
//   <key>: "<v>" contains a comma, which the console reads as a list separator; write the value without it
//                                                 when fewer than two non-empty parts remain

namespace s1pilot::filter {
namespace detail {

std::string_view expected_phrase(value_type t) noexcept {
    switch (t) {
        case value_type::string_list: return "a list of strings";
        case value_type::string: return "a string";
        case value_type::boolean: return "true or false";
        case value_type::time:
            return "a UTC time (e.g. 2018-02-27T04:49:26.257525Z) or a negative duration (e.g. -24h)";
        case value_type::number: return "a whole number";
    }
    return "a value";
}

bool parse_agent_tags(std::string_view json_text, std::vector<tag_condition>& out, std::string& error) {
    static constexpr std::string_view shape =
        R"(agentTagsData must be a JSON object whose values are lists of strings, e.g. {"env":["prod"]})";
    out.clear();
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(json_text, ec);
    if (ec || !parsed.is_object()) {
        error = shape;
        return false;
    }
    const auto& object = parsed.get_object();
    if (object.empty()) {
        error = "agentTagsData must name at least one tag key";
        return false;
    }
    for (const auto& member : object) {
        const auto* list = member.value().if_array();
        if (!list) {
            error = shape;
            return false;
        }
        tag_condition condition;
        std::string_view key = member.key();
        // A tag key that is just "Nin" is a tag named Nin, not an exclusion of the empty key.
        if (key.size() > 3 && key.ends_with("Nin")) {
            condition.exclude = true;
            key.remove_suffix(3);
        }
        condition.key = key;
        if (list->empty()) {
            error = fmt::format(R"(agentTagsData: the list for tag key "{}" must not be empty)", member.key());
            return false;
        }
        for (const auto& element : *list) {
            const auto* text = element.if_string();
            if (!text) {
                error = shape;
                return false;
            }
            condition.values.emplace_back(*text);
        }
        out.push_back(std::move(condition));
    }
    return true;
}

}  // namespace detail

namespace {

std::string join(std::span<const std::string_view> values) {
    std::string out;
    for (auto v : values) {
        if (!out.empty()) out += ", ";
        out += v;
    }
    return out;
}

void add(std::vector<core::diagnostic>& out, core::severity level, std::string message) {
    out.push_back(core::diagnostic{.level = level, .file = {}, .line = 0, .column = 0, .message = std::move(message)});
}

// Checks list values against the key's allowed set; one diagnostic per offending value so that
// each can be fixed from its own message.
bool check_allowed(const key_spec& key, const string_list& values, std::vector<core::diagnostic>& out) {
    if (key.allowed.empty()) return true;
    bool ok = true;
    for (const auto& v : values) {
        if (v.empty() || std::find(key.allowed.begin(), key.allowed.end(), v) != key.allowed.end()) continue;
        if (key.open_set) {
            std::string noun =
                key.attr == attribute::classification ? "classification" : fmt::format("{} value", key.name);
            add(out, core::severity::warning,
                fmt::format(R"(unknown {} "{}" (known: {}); it is sent as written)", noun, v, join(key.allowed)));
        } else {
            add(out, core::severity::error,
                fmt::format(R"(invalid value "{}" for {}: expected one of {})", v, key.name, join(key.allowed)));
            ok = false;
        }
    }
    return ok;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xBF;
        if (lead < 0x80) {
            ++i;
            continue;
        }
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) low = 0xA0;   // overlong
            if (lead == 0xED) high = 0x9F;  // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) low = 0x90;   // overlong
            if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
        } else {
            return false;
        }
        if (text.size() - i < length) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return false;
        }
        i += length;
    }
    return true;
}

bool is_id(std::string_view text) noexcept {
    return !text.empty() && text.size() <= 20 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A value echoed in a message: shortened, with control characters escaped so that the message
// stays on one line.
std::string quoted(std::string_view text) {
    std::size_t shown = std::min<std::size_t>(text.size(), 64);
    while (shown < text.size() && (static_cast<unsigned char>(text[shown]) & 0xC0) == 0x80)
        --shown;  // whole characters
    std::string out = "\"";
    for (char c : text.substr(0, shown)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F)
            out += fmt::format("\\x{:02x}", byte);
        else if (c == '"' || c == '\\')
            out += {'\\', c};
        else
            out += c;
    }
    if (text.size() > shown) out += "...";
    return out + "\"";
}

// "1,2" or "1 2": several ids written as one string, the natural mistake for a YAML list.
std::vector<std::string_view> several_ids(std::string_view text) {
    std::vector<std::string_view> ids;
    constexpr std::string_view separators = ", \t";
    std::size_t start = text.find_first_not_of(separators);
    while (start != std::string_view::npos) {
        const std::size_t end = std::min(text.find_first_of(separators, start), text.size());
        ids.push_back(text.substr(start, end - start));
        if (!is_id(ids.back())) return {};
        start = text.find_first_not_of(separators, end);
    }
    if (ids.size() < 2) return {};
    return ids;
}

// Scope keys select by id; anything else matches nothing (and a string with commas is sent as
// one value with an encoded comma).
bool check_ids(const key_spec& key, const string_list& values, std::vector<core::diagnostic>& out) {
    bool ok = true;
    for (const auto& v : values) {
        if (v.empty() || is_id(v)) continue;  // an empty item has its own message
        std::string message = fmt::format("{}: {} is not an id (ids are decimal numbers)", key.name, quoted(v));
        if (auto ids = several_ids(v); !ids.empty())
            message += fmt::format("; to give several, write a YAML list: [{}]", join(ids));
        add(out, core::severity::error, std::move(message));
        ok = false;
    }
    return ok;
}

// The pieces the console would search for instead of `item`: split on commas, empty ones left out.
std::vector<std::string_view> comma_parts(std::string_view item) {
    std::vector<std::string_view> parts;
    for (;;) {
        const std::size_t comma = item.find(',');
        if (comma != 0 && !item.empty()) parts.push_back(item.substr(0, comma));
        if (comma == std::string_view::npos) break;
        item.remove_prefix(comma + 1);
    }
    return parts;
}

bool searched_by_query(attribute a) noexcept {
    auto searched = full_text_attributes();
    return std::find(searched.begin(), searched.end(), a) != searched.end();
}

bool type_fits(value_type type, const value& val) noexcept {
    switch (type) {
        case value_type::string_list: return std::holds_alternative<string_list>(val);
        case value_type::string: return std::holds_alternative<std::string>(val);
        case value_type::boolean: return std::holds_alternative<bool>(val);
        case value_type::time:
            return std::holds_alternative<core::timestamp>(val) || std::holds_alternative<relative_time>(val);
        case value_type::number: return std::holds_alternative<std::int64_t>(val);
    }
    return false;
}

}  // namespace

bool validate(const key_spec& key, const value& val, std::vector<core::diagnostic>& out) {
    if (!type_fits(key.type, val)) {
        add(out, core::severity::error, fmt::format("{} must be {}", key.name, detail::expected_phrase(key.type)));
        return false;
    }
    if (const auto* list = std::get_if<string_list>(&val)) {
        if (list->empty()) {
            add(out, core::severity::error, fmt::format("{} must not be an empty list", key.name));
            return false;
        }
        if (!std::all_of(list->begin(), list->end(), [](const std::string& s) { return valid_utf8(s); })) {
            add(out, core::severity::error, fmt::format("{}: the value is not valid UTF-8", key.name));
            return false;
        }
        bool ok = true;
        if (std::any_of(list->begin(), list->end(), [](const std::string& s) { return s.empty(); })) {
            add(out, core::severity::error, fmt::format("{} must not contain an empty string", key.name));
            ok = false;
        }
        if (key.scope && !check_ids(key, *list, out)) ok = false;
        return check_allowed(key, *list, out) && ok;
    }
    if (const auto* text = std::get_if<std::string>(&val)) {
        if (text->empty()) {
            add(out, core::severity::error, fmt::format("{} must not be empty", key.name));
            return false;
        }
        if (!valid_utf8(*text)) {
            add(out, core::severity::error, fmt::format("{}: the value is not valid UTF-8", key.name));
            return false;
        }
        if (key.kind == match_kind::agent_tags) {
            std::vector<detail::tag_condition> conditions;
            std::string error;
            if (!detail::parse_agent_tags(*text, conditions, error)) {
                add(out, core::severity::error, std::move(error));
                return false;
            }
        }
        return true;
    }
    if (const auto* number = std::get_if<std::int64_t>(&val)) {
        if (key.kind == match_kind::limit && *number < 1) {
            add(out, core::severity::error, fmt::format("{} must be at least 1", key.name));
            return false;
        }
        return true;
    }
    if (const auto* relative = std::get_if<relative_time>(&val)) {
        if (relative->offset.count() > 0) {
            add(out, core::severity::error,
                fmt::format(
                    R"({} must be a negative duration (now minus), e.g. -24h: "{}" is in the future)", key.name,
                    core::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(relative->offset))));
            return false;
        }
    }
    return true;
}

std::string comma_in_list_item(const key_spec& key, std::string_view item) {
    if (key.type != value_type::string_list || item.find(',') == std::string_view::npos) return {};
    if (key.scope || (!key.allowed.empty() && !key.open_set)) return {};  // validate() refuses it already
    std::string message =
        fmt::format("{}: {} contains a comma, which the console reads as a list separator", key.name, quoted(item));
    const auto parts = comma_parts(item);
    if (parts.size() < 2) return message + "; write the value without it";
    std::string alone, items;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        alone += i == 0 ? "" : i + 1 == parts.size() ? " or " : ", ";
        alone += quoted(parts[i]);
        items += (i == 0 ? "" : ", ") + quoted(parts[i]);
    }
    message += fmt::format(" (it would match {} on their own); write separate list items [{}] if {} alone should match",
                           alone, items, parts.size() == 2 ? "either" : "any");
    if (key.kind == match_kind::contains && searched_by_query(key.attr))
        message += fmt::format(", or search for the whole text with the string filter query: {}", quoted(item));
    return message;
}

void threat_filter::set(const key_spec& key, value val) {
    auto it = std::find_if(terms_.begin(), terms_.end(), [&](const term& t) { return t.key->name == key.name; });
    if (it != terms_.end()) {
        it->key = &key;
        it->val = std::move(val);
    } else {
        terms_.push_back(term{&key, std::move(val)});
    }
}

void threat_filter::erase(std::string_view name) {
    std::erase_if(terms_, [&](const term& t) { return t.key->name == name; });
}

const term* threat_filter::find(std::string_view name) const noexcept {
    auto it = std::find_if(terms_.begin(), terms_.end(), [&](const term& t) { return t.key->name == name; });
    return it != terms_.end() ? &*it : nullptr;
}

bool threat_filter::has_scope() const noexcept {
    return std::any_of(terms_.begin(), terms_.end(), [](const term& t) {
        const auto* list = std::get_if<string_list>(&t.val);
        return t.key->scope && list && !list->empty();
    });
}

threat_filter threat_filter::resolved(core::timestamp now) const {
    threat_filter copy = *this;
    for (auto& t : copy.terms_)
        if (const auto* relative = std::get_if<relative_time>(&t.val)) t.val = now + relative->offset;
    return copy;
}

bool threat_filter::has_relative_times() const noexcept {
    return std::any_of(terms_.begin(), terms_.end(),
                       [](const term& t) { return std::holds_alternative<relative_time>(t.val); });
}

threat_filter threat_filter::carried_scope() const {
    threat_filter copy;
    auto carried = carried_scope_keys();
    for (const auto& t : terms_)
        if (std::find(carried.begin(), carried.end(), t.key->name) != carried.end()) copy.terms_.push_back(t);
    return copy;
}

}  // namespace s1pilot::filter
