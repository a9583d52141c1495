#include "s1pilot/config/note_template.hpp"

#include <algorithm>
#include <array>

#include "yaml_reader.hpp"

namespace s1pilot::config {
namespace {

constexpr std::array<placeholder_spec, 12> table{{
    {"playbook", placeholder::playbook, false, "the playbook's name"},
    {"run", placeholder::run, false, "the run's id, e.g. r-000123"},
    {"console", placeholder::console, false, "the console's name in the configuration"},
    {"mode", placeholder::mode, false, "enforce or dry-run"},
    {"time", placeholder::time, false, "the run's start time, RFC 3339 UTC"},
    {"matched", placeholder::matched, false, "how many threats the run acts on"},
    {"threat_id", placeholder::threat_id, true, "the threat's id"},
    {"threat_name", placeholder::threat_name, true, "threatInfo.threatName"},
    {"classification", placeholder::classification, true, "threatInfo.classification"},
    {"computer_name", placeholder::computer_name, true, "agentRealtimeInfo.agentComputerName"},
    {"agent_id", placeholder::agent_id, true, "agentRealtimeInfo.agentId"},
    {"site_id", placeholder::site_id, true, "agentRealtimeInfo.siteId"},
}};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::span<const placeholder_spec> placeholders() noexcept {
    return table;
}

std::optional<note_template> note_template::parse(std::string_view text, std::string& error) {
    note_template result;
    result.text_ = std::string(text);
    std::string literal;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            literal += text.substr(pos);
            break;
        }
        literal += text.substr(pos, open - pos);
        const std::size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            error = "\"{{\" without a closing \"}}\"";
            return std::nullopt;
        }
        const std::string_view name = trim(text.substr(open + 2, close - open - 2));
        auto spec = std::find_if(table.begin(), table.end(), [&](const placeholder_spec& p) { return p.name == name; });
        if (spec == table.end()) {
            std::vector<std::string_view> names;
            for (const auto& p : table) names.push_back(p.name);
            error = "unknown placeholder {{" + std::string(name) + "}}";
            std::string_view suggestion = detail::nearest(name, names);
            if (!suggestion.empty()) {
                error += "; did you mean {{" + std::string(suggestion) + "}}?";
            } else {
                error += "; known placeholders: ";
                for (std::size_t i = 0; i < names.size(); ++i)
                    error += (i ? ", {{" : "{{") + std::string(names[i]) + "}}";
            }
            return std::nullopt;
        }
        if (!literal.empty()) result.segments_.emplace_back(std::move(literal));
        literal.clear();
        result.segments_.emplace_back(spec->id);
        result.per_threat_ = result.per_threat_ || spec->per_threat;
        pos = close + 2;
    }
    if (!literal.empty()) result.segments_.emplace_back(std::move(literal));
    return result;
}

std::string note_template::render(const std::function<std::string(placeholder)>& value) const {
    std::string out;
    for (const auto& s : segments_) {
        if (auto* literal = std::get_if<std::string>(&s))
            out += *literal;
        else
            out += value(std::get<placeholder>(s));
    }
    return out;
}

}  // namespace s1pilot::config
