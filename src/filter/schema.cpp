#include "s1pilot/filter/schema.hpp"

#include "s1pilot/filter/keys.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

#include <string_view>

namespace s1pilot::filter {
namespace {

// What core::parse_timestamp accepts: RFC 3339 in UTC (`Z` or `+00:00`), or a date alone.
constexpr std::string_view absolute_time_pattern =
    R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|\+00:00))?$)";
// A negative duration: "now minus", resolved at each run (core::parse_duration's units).
constexpr std::string_view relative_time_pattern = "^-[0-9]+(ms|s|m|h|d)$";

boost::json::array string_array(std::span<const std::string_view> values) {
    boost::json::array out;
    for (auto v : values) out.emplace_back(v);
    return out;
}

boost::json::object property_schema(const key_spec& k) {
    boost::json::object p;
    p["description"] = k.description;
    switch (k.type) {
        case value_type::string_list: {
            // No comma in an item: the console would split it, even sent as %2C (comma_in_list_item).
            boost::json::object items{{"type", "string"}, {"minLength", 1}, {"pattern", "^[^,]*$"}};
            if (!k.allowed.empty()) items[k.open_set ? "examples" : "enum"] = string_array(k.allowed);
            p["type"] = "array";
            p["items"] = std::move(items);
            p["minItems"] = 1;
            break;
        }
        case value_type::string:
            if (k.kind == match_kind::agent_tags) {
                // The API takes JSON text; a playbook may also write the mapping itself.
                p["anyOf"] = boost::json::array{
                    boost::json::object{{"type", "string"}, {"minLength", 2}},
                    boost::json::object{
                        {"type", "object"},
                        {"minProperties", 1},
                        {"additionalProperties",
                         boost::json::object{
                             {"type", "array"}, {"minItems", 1}, {"items", boost::json::object{{"type", "string"}}}}}}};
            } else {
                p["type"] = "string";
                p["minLength"] = 1;
            }
            break;
        case value_type::boolean: p["type"] = "boolean"; break;
        case value_type::number:
            p["type"] = "integer";
            p["minimum"] = 1;
            break;
        case value_type::time:
            p["anyOf"] =
                boost::json::array{boost::json::object{{"type", "string"}, {"pattern", absolute_time_pattern}},
                                   boost::json::object{{"type", "string"}, {"pattern", relative_time_pattern}}};
            p["examples"] = boost::json::array{"-24h", "2024-01-31T00:00:00Z"};
            break;
    }
    return p;
}

std::string_view type_name(const key_spec& k) {
    switch (k.type) {
        case value_type::string_list: return "list of strings";
        case value_type::string: return k.kind == match_kind::agent_tags ? "string (JSON)" : "string";
        case value_type::boolean: return "boolean";
        case value_type::time: return "time";
        case value_type::number: return "number";
    }
    return "";
}

std::string selects(const key_spec& k) {
    std::string path = fmt::format("`{}`", attribute_path(k.attr));
    switch (k.kind) {
        case match_kind::in_list: return path + " is one of the values";
        case match_kind::not_in_list: return path + " is none of the values (no value also passes)";
        case match_kind::contains: return path + " contains one of the values, ignoring case";
        case match_kind::time_gt: return path + " is after the time";
        case match_kind::time_gte: return path + " is at or after the time";
        case match_kind::time_lt: return path + " is before the time";
        case match_kind::time_lte: return path + " is at or before the time";
        case match_kind::flag: return path + " equals the boolean";
        case match_kind::resolved: return "(" + path + " is `resolved`) equals the boolean";
        case match_kind::has_any:
            return k.attr == attribute::notes ? "(the threat has a note) equals the boolean"
                                              : "(the agent has a tag) equals the boolean";
        case match_kind::agent_tags:
            return "the agent's tags (`key=value`): each key has one of its values; a `<key>Nin` key, none of them";
        case match_kind::full_text: return "any of the full-text attributes contains the text, ignoring case";
        case match_kind::equals: return path + " equals the text, ignoring case";
        case match_kind::limit: return "no selection: at most this many threats are affected";
        case match_kind::no_effect: return "no selection (reporting only)";
        case match_kind::tenant: return "no selection: asks for tenant-wide scope";
    }
    return "";
}

std::string allowed_values(const key_spec& k) {
    if (k.allowed.empty()) return "any";
    std::string out = k.open_set ? "open set; known: " : "";
    for (std::size_t i = 0; i < k.allowed.size(); ++i) out += fmt::format("{}`{}`", i ? ", " : "", k.allowed[i]);
    return out;
}

std::string_view seeds(const key_spec& k) {
    switch (k.seeds) {
        case seed_both: return "000, 002";
        case seed_mitigate: return "000";
        case seed_incident: return "002";
    }
    return "";
}

// Table cells must not contain a bare `|`.
std::string cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

boost::json::object match_schema() {
    boost::json::object properties;
    for (const auto& k : keys()) properties[k.name] = property_schema(k);
    return boost::json::object{
        {"$schema", "https://json-schema.org/draft/2020-12/schema"},
        {"title", "SentinelOne threat filter (playbook match)"},
        {"description",
         "Keys of the Mitigate Threats and Update Threat Incident filters. Include a scope key "
         "(ids, agentIds, accountIds, siteIds, groupIds) or tenant: true with allow_tenant_wide."},
        {"type", "object"},
        {"properties", std::move(properties)},
        {"additionalProperties", false},
    };
}

std::string keys_markdown() {
    std::string out =
        "| Key | Type | Selects | Allowed values | Seeds | Description |\n"
        "| --- | --- | --- | --- | --- | --- |\n";
    for (const auto& k : keys()) {
        out += fmt::format("| `{}`{} | {} | {} | {} | {} | {} |\n", k.name, k.scope ? " (scope)" : "", type_name(k),
                           cell(selects(k)), cell(allowed_values(k)), seeds(k), cell(k.description));
    }
    out += "\nFull-text attributes searched by `query`: ";
    bool first = true;
    for (attribute a : full_text_attributes()) {
        out += fmt::format("{}`{}`", first ? "" : ", ", attribute_path(a));
        first = false;
    }
    out += ".\n";
    return out;
}

}  // namespace s1pilot::filter
