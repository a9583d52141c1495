// `actions:` → typed actions, in order. Each list item is a mapping with exactly one key, the
// action's name; its value says how.
#include "playbook_parts.hpp"
#include "tables.hpp"

namespace s1pilot::config::detail {
namespace {

std::optional<action> parse_incident(reader& r, const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) {
        r.error(node, path + ": expected a mapping like {status: in_progress, verdict: true_positive}, not " +
                          describe(node));
        return std::nullopt;
    }
    const int errors_before = r.errors();
    mapping fields(r, node, path);
    fields.reject_unknown(r, incident_keys, path);
    incident_action result{};
    if (const entry* status = fields.find("status")) {
        if (auto s = read_choice(r, status->value, path + ".status", as_span(incident_statuses))) result.status = *s;
    } else {
        r.error(node, "missing required key \"status\" in " + path + " (one of unresolved, in_progress, resolved)");
    }
    if (const entry* verdict = fields.find("verdict")) {
        if (auto v = read_choice(r, verdict->value, path + ".verdict", as_span(analyst_verdicts))) result.verdict = *v;
    }
    if (r.errors() != errors_before) return std::nullopt;
    return action{result};
}

std::optional<action> parse_note(reader& r, const YAML::Node& node, const std::string& path, target_kind target) {
    if (!node.IsScalar() || node.Scalar().empty()) {
        r.error(node, path + ": expected the note's text, not " + describe(node));
        return std::nullopt;
    }
    std::string problem;
    auto text = note_template::parse(node.Scalar(), problem);
    if (!text) {
        r.error(node, path + ": " + problem);
        return std::nullopt;
    }
    if (text->per_threat() && target == target_kind::filter) {
        r.error(node, path +
                          ": a per-threat placeholder needs target: threats (with target: filter no threat is "
                          "listed)");
        return std::nullopt;
    }
    return action{note_action{std::move(*text)}};
}

std::optional<action> parse_one(reader& r, const entry& e, const std::string& path, target_kind target) {
    const std::string where = path + "." + e.key;
    if (e.key == "mitigate") {
        if (auto m = read_choice(r, e.value, where, as_span(mitigations))) return action{mitigate_action{*m}};
        return std::nullopt;
    }
    if (e.key == "incident") return parse_incident(r, e.value, where);
    if (e.key == "verdict") {
        if (auto v = read_choice(r, e.value, where, as_span(analyst_verdicts))) return action{verdict_action{*v}};
        return std::nullopt;
    }
    if (e.key == "note") return parse_note(r, e.value, where, target);
    if (e.key == "isolate") {
        if (!read_choice(r, e.value, where, as_span(isolate_targets))) return std::nullopt;
        if (target == target_kind::filter) {
            r.error(e.value, where + ": needs target: threats (the agents to isolate are those of the listed threats)");
            return std::nullopt;
        }
        return action{isolate_action{}};
    }
    r.error(e.key_node, unknown_message("action", e.key, action_keys, path));
    return std::nullopt;
}

}  // namespace

std::optional<std::vector<action>> parse_actions(reader& r, const entry& actions, target_kind target) {
    if (!actions.value.IsSequence()) {
        r.error(actions.value,
                "actions: expected a list of actions like \"- mitigate: kill\", not " + describe(actions.value));
        return std::nullopt;
    }
    if (actions.value.size() == 0) {
        r.error(actions.value, "actions: at least one action is required");
        return std::nullopt;
    }
    const int errors_before = r.errors();
    std::vector<action> result;
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < actions.value.size(); ++i) {
        const YAML::Node item = actions.value[i];
        const std::string path = "actions[" + std::to_string(i) + "]";
        if (!item.IsMap() || item.size() == 0) {
            r.error(item, path + ": expected an action like \"mitigate: kill\", not " + describe(item));
            continue;
        }
        mapping fields(r, item, path);
        if (fields.entries().size() > 1) {
            std::string names;
            for (const auto& e : fields.entries()) names += (names.empty() ? "" : ", ") + e.key;
            r.error(item, path + ": one action per list item, found " + names + ": start each with \"- \"");
            continue;
        }
        if (fields.entries().empty()) continue;
        auto parsed = parse_one(r, fields.entries().front(), path, target);
        if (!parsed) continue;
        for (std::size_t j = 0; j < result.size(); ++j) {
            if (result[j] == *parsed) {
                r.error(item, path + ": the same action as " + paths[j] + ": each action is done once per threat");
                parsed.reset();
                break;
            }
        }
        if (!parsed) continue;
        result.push_back(std::move(*parsed));
        paths.push_back(path);
    }
    if (r.errors() != errors_before) return std::nullopt;
    return result;
}

}  // namespace s1pilot::config::detail
