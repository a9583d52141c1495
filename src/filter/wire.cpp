#include "s1pilot/filter/wire.hpp"

#include "s1pilot/core/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <stdexcept>

#include "detail.hpp"

// Parse messages, like validate()'s (filter.cpp), are part of the interface:
//
//   the query string is not valid: it holds a character that must be percent-encoded, or a "%"
//     not followed by two hex digits
//   unknown query parameter "<p>" (did you mean "<q>"?)      the suggestion only when one is close
//   unknown filter key "<k>" (did you mean "<q>"?)           in a JSON filter
//   parameter "<p>" is given more than once                  a non-list parameter repeated
//   invalid value "<v>" for <p>: expected <what>             <what>: "true or false", "a whole
//                                                            number", "a UTC time such as ...",
//                                                            "a whole number from 1 to 1000",
//                                                            "asc or desc"
//   <key> must be <expected>                                 a JSON value of the wrong type
// followed by whatever validate() says about the value.
//
// to_query refuses (std::invalid_argument) what it cannot encode faithfully:
//   filter key <k> holds the list item "<v>" with a comma, which the console would split into
//     separate terms: refused (validation should have caught it)

namespace s1pilot::filter {
namespace {

namespace urls = boost::urls;

// Everything but the unreserved characters is percent-encoded, and so are `,` (it separates
// list items), `&`, `=`, `+` (read as a space by form decoders) and `/`. `:` and `@` may stay
// literal in a query (RFC 3986 pchar), which keeps times readable: createdAt__gte=2024-…T10:00:00Z.
constexpr urls::grammar::lut_chars value_chars = urls::unreserved_chars + urls::grammar::lut_chars(":@");

constexpr std::string_view wire_time_phrase = "a UTC time such as 2018-02-27T04:49:26.257525Z";

std::string encode(std::string_view text) {
    return urls::encode(text, value_chars);
}

[[noreturn]] void throw_relative(const term& t) {
    throw std::logic_error(fmt::format("filter key {} holds a relative time: resolve the filter first", t.key->name));
}

void diagnose(std::vector<core::diagnostic>& problems, std::string message) {
    problems.push_back(core::diagnostic{
        .level = core::severity::error, .file = {}, .line = 0, .column = 0, .message = std::move(message)});
}

bool errors_since(const std::vector<core::diagnostic>& problems, std::size_t first) {
    return std::any_of(problems.begin() + static_cast<std::ptrdiff_t>(first), problems.end(),
                       [](const core::diagnostic& d) { return d.level == core::severity::error; });
}

std::string invalid(std::string_view text, std::string_view name, std::string_view expected) {
    return fmt::format(R"(invalid value "{}" for {}: expected {})", text, name, expected);
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return n;
}

std::optional<bool> parse_bool(std::string_view text) {
    if (text == "true") return true;
    if (text == "false") return false;
    return std::nullopt;
}

// A scalar key's value from its text form (query parameter, or a JSON string standing for a
// boolean, number or time). Lists are handled by the callers, which split them differently.
std::optional<value> scalar_from_text(const key_spec& key, std::string_view text,
                                      std::vector<core::diagnostic>& problems) {
    switch (key.type) {
        case value_type::string: return value{std::string(text)};
        case value_type::boolean:
            if (auto b = parse_bool(text)) return value{*b};
            diagnose(problems, invalid(text, key.name, detail::expected_phrase(key.type)));
            return std::nullopt;
        case value_type::number:
            if (auto n = parse_integer(text)) return value{*n};
            diagnose(problems, invalid(text, key.name, detail::expected_phrase(key.type)));
            return std::nullopt;
        case value_type::time:
            // Relative times belong to playbooks and are resolved before anything is sent.
            if (auto t = core::parse_timestamp(text)) return value{*t};
            diagnose(problems, invalid(text, key.name, wire_time_phrase));
            return std::nullopt;
        case value_type::string_list: return value{string_list{std::string(text)}};
    }
    return std::nullopt;
}

// Pagination and sorting parameters of GET /threats; they are not filter keys.
constexpr std::array<std::string_view, 6> list_param_names{"limit",     "skip",   "cursor",
                                                           "countOnly", "sortBy", "sortOrder"};

bool apply_list_param(std::string_view name, std::string_view text, list_params& params,
                      std::vector<core::diagnostic>& problems) {
    if (name == "limit" || name == "skip") {
        std::int64_t low = name == "limit" ? 1 : 0;
        auto n = parse_integer(text);
        if (!n || *n < low || *n > 1000) {
            diagnose(problems, invalid(text, name, fmt::format("a whole number from {} to 1000", low)));
            return false;
        }
        (name == "limit" ? params.limit : params.skip) = *n;
    } else if (name == "cursor") {
        params.cursor = text;
    } else if (name == "countOnly") {
        auto b = parse_bool(text);
        if (!b) {
            diagnose(problems, invalid(text, name, "true or false"));
            return false;
        }
        params.count_only = *b;
    } else if (name == "sortBy") {
        params.sort_by = text;
    } else if (name == "sortOrder") {
        if (text != "asc" && text != "desc") {
            diagnose(problems, invalid(text, name, "asc or desc"));
            return false;
        }
        params.sort_descending = text == "desc";
    }
    return true;
}

std::string unknown_message(std::string_view what, std::string_view name) {
    std::string_view suggestion = nearest_key(name);
    for (auto p : list_param_names) {
        if (what != "query parameter" || p.size() != name.size()) continue;
        if (std::equal(p.begin(), p.end(), name.begin(),
                       [](char a, char b) { return detail::ascii_lower(a) == detail::ascii_lower(b); }))
            suggestion = p;
    }
    if (suggestion.empty()) return fmt::format(R"(unknown {} "{}")", what, name);
    return fmt::format(R"(unknown {} "{}" (did you mean "{}"?))", what, name, suggestion);
}

void append_query_value(std::string& out, const term& t) {
    std::visit(
        [&](const auto& v) {
            using type = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<type, string_list>) {
                for (std::size_t i = 0; i < v.size(); ++i) {
                    // The console decodes before it splits: an encoded comma would separate too,
                    // so an item holding one would be sent as broader terms than were written.
                    if (v[i].find(',') != std::string::npos)
                        throw std::invalid_argument(fmt::format(
                            R"(filter key {} holds the list item "{}" with a comma, which the console would split )"
                            R"(into separate terms: refused (validation should have caught it))",
                            t.key->name, v[i]));
                    if (i > 0) out += ',';
                    out += encode(v[i]);
                }
            } else if constexpr (std::is_same_v<type, std::string>) {
                out += encode(v);
            } else if constexpr (std::is_same_v<type, bool>) {
                out += v ? "true" : "false";
            } else if constexpr (std::is_same_v<type, std::int64_t>) {
                out += std::to_string(v);
            } else if constexpr (std::is_same_v<type, core::timestamp>) {
                out += encode(core::format_timestamp(v));
            } else {
                throw_relative(t);
            }
        },
        t.val);
}

}  // namespace

bool has_list_item_with_comma(const threat_filter& f) noexcept {
    return std::any_of(f.terms().begin(), f.terms().end(), [](const term& t) {
        const auto* list = std::get_if<string_list>(&t.val);
        return list != nullptr && std::any_of(list->begin(), list->end(), [](const std::string& item) {
                   return item.find(',') != std::string::npos;
               });
    });
}

std::string to_query(const threat_filter& f) {
    std::string out;
    for (const auto& t : f.terms()) {
        if (!out.empty()) out += '&';
        out += encode(t.key->name);
        out += '=';
        append_query_value(out, t);
    }
    return out;
}

boost::json::object to_json(const threat_filter& f) {
    boost::json::object out;
    for (const auto& t : f.terms()) {
        auto& slot = out[t.key->name];
        std::visit(
            [&](const auto& v) {
                using type = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<type, string_list>) {
                    auto& array = slot.emplace_array();
                    for (const auto& s : v) array.emplace_back(s);
                } else if constexpr (std::is_same_v<type, std::string>) {
                    slot = v;
                } else if constexpr (std::is_same_v<type, bool> || std::is_same_v<type, std::int64_t>) {
                    slot = v;
                } else if constexpr (std::is_same_v<type, core::timestamp>) {
                    slot = core::format_timestamp(v);
                } else {
                    throw_relative(t);
                }
            },
            t.val);
    }
    return out;
}

boost::system::result<parsed_query> parse_query(std::string_view query, std::vector<core::diagnostic>& problems) {
    std::size_t problems_before = problems.size();
    // Boost.URL 1.81's parse_query measures the query a second time with strlen(data()) (found by
    // fuzzing, tests/fuzz/sim_query_fuzz.cpp): on a view that is not NUL-terminated it reads past
    // the end and takes the bytes that follow into the last parameter. A copy ends where the
    // query ends; params views it, so it lives as long.
    const std::string terminated(query);
    auto params = urls::parse_query(terminated);
    if (!params) {
        diagnose(problems, R"(the query string is not valid: it holds a character that must be percent-encoded, )"
                           R"(or a "%" not followed by two hex digits)");
        return core::make_error_code(core::errc::invalid_filter);
    }
    urls::encoding_opts decoding;
    decoding.space_as_plus = true;  // form encoding, as HTTP clients send it

    parsed_query result;
    std::vector<std::string> seen_scalars;  // to refuse a repeated non-list parameter
    // Terms in order of first appearance; a repeated list key appends to its list.
    std::vector<std::pair<const key_spec*, value>> terms;
    for (auto param : *params) {
        std::string name = param.key.decode(decoding);
        if (name.empty() && !param.has_value) continue;  // `a=1&&b=2`, or an empty query
        // `limit` in a GET query is the page size (list_params), not the action filter key.
        bool pagination = std::find(list_param_names.begin(), list_param_names.end(), name) != list_param_names.end();
        const key_spec* key = pagination ? nullptr : find_key(name);
        if (!pagination && !key) {
            diagnose(problems, unknown_message("query parameter", name));
            continue;
        }
        bool list_key = key && key->type == value_type::string_list;
        if (!list_key) {
            if (std::find(seen_scalars.begin(), seen_scalars.end(), name) != seen_scalars.end()) {
                diagnose(problems, fmt::format(R"(parameter "{}" is given more than once)", name));
                continue;
            }
            seen_scalars.push_back(name);
        }
        if (pagination) {
            // A cursor is base64 and never holds a space: a raw `+` in it is data.
            apply_list_param(name, param.value.decode(name == "cursor" ? urls::encoding_opts{} : decoding),
                             result.params, problems);
            continue;
        }
        if (!list_key) {
            std::string text = param.value.decode(decoding);
            if (auto v = scalar_from_text(*key, text, problems)) terms.emplace_back(key, std::move(*v));
            continue;
        }
        auto slot = std::find_if(terms.begin(), terms.end(), [&](const auto& p) { return p.first == key; });
        if (slot == terms.end()) slot = terms.insert(terms.end(), {key, string_list{}});
        auto& items = std::get<string_list>(slot->second);
        // Decode first, split second, as the console does (reference §2): `%2C` separates items
        // exactly like `,`, which is what generated API clients send.
        // An empty parameter (`siteIds=`) is an empty list, which validation refuses.
        const std::string decoded = param.value.decode(decoding);
        std::string_view rest = decoded;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            items.emplace_back(rest.substr(0, comma));
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
            if (rest.empty()) items.emplace_back();  // a trailing comma: an empty item
        }
    }
    for (auto& [key, v] : terms) result.filter.set(*key, std::move(v));
    for (const auto& t : result.filter.terms()) validate(*t.key, t.val, problems);

    if (errors_since(problems, problems_before)) return core::make_error_code(core::errc::invalid_filter);
    return result;
}

boost::system::result<threat_filter> from_json(const boost::json::object& filter,
                                               std::vector<core::diagnostic>& problems) {
    std::size_t problems_before = problems.size();
    threat_filter result;
    for (const auto& member : filter) {
        const key_spec* key = find_key(member.key());
        if (!key) {
            diagnose(problems, unknown_message("filter key", member.key()));
            continue;
        }
        const boost::json::value& v = member.value();
        std::optional<value> parsed;
        if (key->type == value_type::string_list) {
            if (const auto* array = v.if_array()) {
                string_list list;
                bool ok = true;
                for (const auto& element : *array) {
                    // Ids sent as JSON numbers are read as their decimal text.
                    if (const auto* s = element.if_string())
                        list.emplace_back(*s);
                    else if (const auto* i = element.if_int64())
                        list.push_back(std::to_string(*i));
                    else if (const auto* u = element.if_uint64())
                        list.push_back(std::to_string(*u));
                    else
                        ok = false;
                }
                if (ok) parsed = value{std::move(list)};
            } else if (const auto* s = v.if_string()) {
                // "1,2, 3": some clients send a comma-separated string; items are trimmed.
                string_list list;
                std::string_view rest = *s;
                while (!rest.empty()) {
                    auto comma = rest.find(',');
                    auto item = rest.substr(0, comma);
                    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
                    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
                    list.emplace_back(item);
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
                parsed = value{std::move(list)};
            }
            if (!parsed)
                diagnose(problems, fmt::format("{} must be {}", key->name, detail::expected_phrase(key->type)));
        } else if (const auto* s = v.if_string()) {
            parsed = scalar_from_text(*key, *s, problems);
        } else if (key->type == value_type::boolean && v.is_bool()) {
            parsed = value{v.get_bool()};
        } else if (key->type == value_type::number && v.is_int64()) {
            parsed = value{v.get_int64()};
        } else if (key->type == value_type::number && v.is_uint64() &&
                   v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            parsed = value{static_cast<std::int64_t>(v.get_uint64())};
        } else if (key->kind == match_kind::agent_tags && v.is_object()) {
            parsed = value{boost::json::serialize(v)};  // the object itself rather than its JSON text
        } else {
            diagnose(problems, fmt::format("{} must be {}", key->name,
                                           key->type == value_type::time ? wire_time_phrase
                                                                         : detail::expected_phrase(key->type)));
        }
        if (!parsed) continue;
        if (validate(*key, *parsed, problems)) result.set(*key, std::move(*parsed));
    }
    if (errors_since(problems, problems_before)) return core::make_error_code(core::errc::invalid_filter);
    return result;
}

}  // namespace s1pilot::filter
