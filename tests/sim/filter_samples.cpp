#include "filter_samples.hpp"

#include "s1pilot/core/time.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "rng.hpp"

namespace s1sim::test {

namespace json = boost::json;
using namespace s1pilot::filter;

dataset::dataset(const std::string& dump_json) {
    auto doc = json::parse(dump_json).as_object();
    for (const auto& t : doc.at("data").as_array()) threats.push_back(t.as_object());
    for (const auto& [id, list] : doc.at("notes").as_object())
        for (const auto& n : list.as_array()) notes[std::string(id)].emplace_back(n.as_string());
    for (const auto& [id, list] : doc.at("agentTags").as_object())
        for (const auto& n : list.as_array()) agent_tags[std::string(id)].emplace_back(n.as_string());
}

json_threat_view dataset::view(std::size_t i) const {
    const auto& t = threats[i];
    static const std::vector<std::string> none;
    auto n = notes.find(std::string(t.at("id").as_string()));
    auto agent = t.at("agentRealtimeInfo").as_object().at("agentId").as_string();
    auto g = agent_tags.find(std::string(agent));
    return json_threat_view(t, n == notes.end() ? &none : &n->second, g == agent_tags.end() ? &none : &g->second);
}

std::vector<std::string> dataset::expected(const threat_filter& f) const {
    compiled_filter compiled(f);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < threats.size(); ++i)
        if (compiled.matches(view(i))) ids.emplace_back(threats[i].at("id").as_string());
    return ids;
}

namespace {

// Some value of attribute `a` in a threat picked by `r` (tries several threats).
std::string some_value(const dataset& d, attribute a, rng& r) {
    std::vector<std::string_view> values;
    for (int attempt = 0; attempt < 400; ++attempt) {
        values.clear();
        d.view(r.below(d.threats.size())).values(a, values);
        values.erase(std::remove(values.begin(), values.end(), std::string_view{}), values.end());
        if (!values.empty()) return std::string(values[r.below(values.size())]);
    }
    return "absent-value";
}

std::string mixed_case_piece(const std::string& v, rng& r) {
    if (v.size() <= 4) return v;
    std::size_t length = 3 + r.below(3), start = r.below(v.size() - length + 1);
    std::string piece = v.substr(start, length);
    for (auto& c : piece)
        if (r.chance(0.5)) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return piece;
}

}  // namespace

value sample_value(const key_spec& key, const dataset& d, std::uint64_t seed) {
    rng r(seed * 7919 + key.name.size());
    switch (key.kind) {
        case match_kind::in_list:
        case match_kind::not_in_list: {
            string_list list{some_value(d, key.attr, r)};
            if (r.chance(0.5)) list.push_back(some_value(d, key.attr, r));
            std::sort(list.begin(), list.end());
            list.erase(std::unique(list.begin(), list.end()), list.end());
            return list;
        }
        case match_kind::contains: return string_list{mixed_case_piece(some_value(d, key.attr, r), r)};
        case match_kind::time_gt:
        case match_kind::time_gte:
        case match_kind::time_lt:
        case match_kind::time_lte: return *s1pilot::core::parse_timestamp(some_value(d, key.attr, r));
        case match_kind::flag:
        case match_kind::resolved:
        case match_kind::has_any: return r.chance(0.5);
        case match_kind::tenant: return true;
        case match_kind::full_text: {
            const attribute picks[] = {attribute::threat_name, attribute::file_path, attribute::computer_name};
            return mixed_case_piece(some_value(d, picks[r.below(3)], r), r);
        }
        case match_kind::equals: {
            auto name = some_value(d, key.attr, r);
            for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return name;
        }
        case match_kind::agent_tags:
            return std::string(r.chance(0.5) ? R"({"env":["prod"]})" : R"({"envNin":["dev"],"owner":["soc","it"]})");
        case match_kind::no_effect: return std::string("osTypes");
        case match_kind::limit: return std::int64_t{5};
    }
    return true;
}

std::vector<const key_spec*> seed_keys() {
    std::vector<const key_spec*> out;
    for (const auto& k : keys())
        if (k.seeds != 0) out.push_back(&k);
    return out;
}

}  // namespace s1sim::test
