// `match:` → filter::threat_filter, typed by the filter key table, then filter::validate, then
// the scope rule: a playbook that could select every threat in the console is rejected.
#include "s1pilot/core/time.hpp"
#include "s1pilot/filter/filter.hpp"
#include "s1pilot/filter/keys.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "playbook_parts.hpp"

namespace s1pilot::config::detail {
namespace {

constexpr std::string_view scope_keys = "ids, agentIds, accountIds, siteIds, groupIds";

std::optional<filter::string_list> read_string_list(reader& r, const YAML::Node& node, const std::string& path) {
    // A scalar where a list is wanted is a list of one: `siteIds: "123"` reads as `["123"]`.
    if (node.IsScalar()) return filter::string_list{node.Scalar()};
    if (!node.IsSequence()) {
        r.error(node, path + ": expected a list of strings, not " + describe(node));
        return std::nullopt;
    }
    filter::string_list list;
    bool ok = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
        if (!node[i].IsScalar()) {
            r.error(node[i], path + "[" + std::to_string(i) + "]: expected a string, not " + describe(node[i]));
            ok = false;
            continue;
        }
        list.push_back(node[i].Scalar());
    }
    if (!ok) return std::nullopt;
    return list;
}

// agentTagsData is JSON text on the wire; in YAML a mapping of tag key → values reads better.
std::optional<std::string> read_agent_tags(reader& r, const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) return node.Scalar();
    if (!node.IsMap()) {
        r.error(node, path + ": expected a mapping of tag key to a list of values, not " + describe(node));
        return std::nullopt;
    }
    boost::json::object tags;
    for (const auto& item : node) {
        if (!item.first.IsScalar()) {
            r.error(item.first, path + ": a tag key must be a string");
            return std::nullopt;
        }
        auto values = read_string_list(r, item.second, path + "." + item.first.Scalar());
        if (!values) return std::nullopt;
        boost::json::array array;
        for (auto& v : *values) array.emplace_back(v);
        tags[item.first.Scalar()] = std::move(array);
    }
    return boost::json::serialize(tags);
}

std::optional<filter::value> read_time(reader& r, const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
        const std::string& text = node.Scalar();
        if (auto t = core::parse_timestamp(text)) return filter::value{*t};
        if (auto d = core::parse_duration(text)) {
            if (d->count() <= 0)
                return filter::value{filter::relative_time{std::chrono::duration_cast<std::chrono::microseconds>(*d)}};
            r.error(node, path + ": a relative time counts back from now and must be negative: write \"-" + text +
                              "\" for " + text + " ago");
            return std::nullopt;
        }
    }
    r.error(node, path +
                      ": expected an RFC 3339 time like 2024-01-31T00:00:00Z or a negative duration like -24h, not " +
                      describe(node));
    return std::nullopt;
}

// A comma inside a list item would reach the console as a separator (DESIGN §4, "Query
// encoding"); each such item is reported where it is written, so that a long list points at it.
bool check_list_commas(reader& r, const filter::key_spec& key, const YAML::Node& node) {
    if (key.type != filter::value_type::string_list) return true;
    bool ok = true;
    auto check = [&](const YAML::Node& item) {
        if (!item.IsScalar()) return;
        if (std::string message = filter::comma_in_list_item(key, item.Scalar()); !message.empty()) {
            r.error(item, std::move(message));
            ok = false;
        }
    };
    if (node.IsSequence())
        for (std::size_t i = 0; i < node.size(); ++i) check(node[i]);
    else
        check(node);
    return ok;
}

std::optional<filter::value> read_value(reader& r, const filter::key_spec& key, const YAML::Node& node) {
    const std::string path = "match." + std::string(key.name);
    switch (key.type) {
        case filter::value_type::string_list:
            if (auto list = read_string_list(r, node, path)) return filter::value{std::move(*list)};
            return std::nullopt;
        case filter::value_type::string:
            if (key.kind == filter::match_kind::agent_tags) {
                if (auto tags = read_agent_tags(r, node, path)) return filter::value{std::move(*tags)};
                return std::nullopt;
            }
            if (auto s = read_string(r, node, path)) return filter::value{std::move(*s)};
            return std::nullopt;
        case filter::value_type::boolean:
            if (auto b = read_bool(r, node, path)) return filter::value{*b};
            return std::nullopt;
        case filter::value_type::number:
            if (auto n = read_integer(r, node, path, 1, 1000000)) return filter::value{*n};
            return std::nullopt;
        case filter::value_type::time: return read_time(r, node, path);
    }
    return std::nullopt;
}

}  // namespace

std::optional<filter::threat_filter> parse_match(reader& r, const entry& match, bool allow_tenant_wide) {
    if (!match.value.IsMap()) {
        r.error(match.value,
                "match: expected a mapping of SentinelOne threat filter keys, not " + describe(match.value));
        return std::nullopt;
    }
    const int errors_before = r.errors();
    mapping terms(r, match.value, "match");
    filter::threat_filter result;
    bool scope_key_written = false;  // even if invalid: then its own error says enough
    const entry* tenant_entry = nullptr;
    for (const entry& e : terms.entries()) {
        const filter::key_spec* key = filter::find_key(e.key);
        if (key == nullptr) {
            std::string message = "unknown key \"" + e.key + "\" in match";
            std::string_view suggestion = filter::nearest_key(e.key);
            if (!suggestion.empty())
                message += "; did you mean \"" + std::string(suggestion) + "\"?";
            else
                message += ": not a SentinelOne threat filter key (s1pilot schema lists them)";
            r.error(e.key_node, std::move(message));
            continue;
        }
        scope_key_written = scope_key_written || key->scope;
        if (key->kind == filter::match_kind::tenant) tenant_entry = &e;
        auto value = read_value(r, *key, e.value);
        if (!value) continue;
        std::vector<core::diagnostic> problems;
        const bool valid = filter::validate(*key, *value, problems);
        for (auto& p : problems) {
            // filter::validate's messages name the key; the location is ours to add.
            if (p.level == core::severity::warning)
                r.warning(e.value.Mark(), std::move(p.message));
            else
                r.error(e.value.Mark(), std::move(p.message));
        }
        const bool sendable = check_list_commas(r, *key, e.value);
        if (valid && sendable) result.set(*key, std::move(*value));
    }

    // The scope rule (DESIGN §3). A scope key that was written but invalid has its own error.
    if (!result.has_scope() && !scope_key_written) {
        const filter::term* tenant = result.find("tenant");
        const bool* tenant_value = tenant != nullptr ? std::get_if<bool>(&tenant->val) : nullptr;
        if (tenant_entry != nullptr && tenant == nullptr) {
            // tenant's value was invalid and reported
        } else if (tenant_value != nullptr && *tenant_value) {
            if (!allow_tenant_wide)
                r.error(tenant_entry->value,
                        "match.tenant: true selects every threat in the console: add \"allow_tenant_wide: true\" to "
                        "the playbook to confirm, or narrow the match with one of " +
                            std::string(scope_keys));
        } else {
            r.error(match.key_node, "match has no scope and could select every threat in the console: add one of " +
                                        std::string(scope_keys) + " (or tenant: true with allow_tenant_wide: true)");
        }
    }
    if (r.errors() != errors_before) return std::nullopt;
    return result;
}

}  // namespace s1pilot::config::detail
