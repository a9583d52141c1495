// A playbook file → config::playbook: the top-level keys, trigger and limits; match and actions
// have their own files. Every problem is reported; a playbook with any error is not returned.
#include "s1pilot/config/load.hpp"
#include "s1pilot/core/time.hpp"
#include "s1pilot/filter/keys.hpp"

#include <algorithm>

#include "playbook_parts.hpp"
#include "tables.hpp"

namespace s1pilot::config {
namespace detail {
namespace {

constexpr std::size_t max_name_length = 64;

bool valid_name(std::string_view name) {
    auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (name.empty() || name.size() > max_name_length || !allowed(name.front())) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) { return allowed(c) || c == '-'; });
}

void parse_trigger(reader& r, const entry& e, trigger_config& out) {
    if (!e.value.IsMap()) {
        r.error(e.value, "trigger: expected a mapping like {every: 60s, webhook: true}, not " + describe(e.value));
        return;
    }
    mapping fields(r, e.value, "trigger");
    fields.reject_unknown(r, trigger_keys, "trigger");
    if (const entry* every = fields.find("every")) {
        if (auto d = read_duration(r, every->value, "trigger.every")) {
            if (*d < defaults::min_every)
                r.error(every->value, "trigger.every: " + every->value.Scalar() +
                                          " is too often: the minimum is 5s (omit every to run on webhook or by "
                                          "hand only)");
            else
                out.every = *d;
        }
    }
    if (const entry* webhook = fields.find("webhook")) {
        if (auto b = read_bool(r, webhook->value, "trigger.webhook")) out.webhook = *b;
    }
}

void parse_limits(reader& r, const entry& e, limits_config& out) {
    if (!e.value.IsMap()) {
        r.error(e.value,
                "limits: expected a mapping like {max_threats: 25, on_exceed: hold}, not " + describe(e.value));
        return;
    }
    mapping fields(r, e.value, "limits");
    fields.reject_unknown(r, limits_keys, "limits");
    if (const entry* max = fields.find("max_threats")) {
        if (auto n = read_integer(r, max->value, "limits.max_threats", 1, 1000000))
            out.max_threats = static_cast<int>(*n);
    }
    if (const entry* on_exceed = fields.find("on_exceed")) {
        if (auto p = read_choice(r, on_exceed->value, "limits.on_exceed", as_span(exceed_policies))) out.on_exceed = *p;
    }
    if (const entry* cooldown = fields.find("cooldown")) {
        if (auto d = read_duration(r, cooldown->value, "limits.cooldown")) out.cooldown = *d;
    }
    if (const entry* confirm = fields.find("confirm_within")) {
        if (auto d = read_duration(r, confirm->value, "limits.confirm_within")) {
            if (*d < defaults::min_confirm_within || *d > defaults::max_confirm_within)
                r.error(confirm->value, "limits.confirm_within: expected between " +
                                            core::format_duration(defaults::min_confirm_within) + " and " +
                                            core::format_duration(defaults::max_confirm_within) + ", not " +
                                            core::format_duration(*d));
            else
                out.confirm_within = *d;
        }
    }
}

void report_unknown_top_level(reader& r, const mapping& fields) {
    for (const auto& e : fields.entries()) {
        if (std::find(playbook_keys.begin(), playbook_keys.end(), e.key) != playbook_keys.end()) continue;
        // A filter key at the top level is a forgotten indentation, not a misspelling.
        if (filter::find_key(e.key) != nullptr)
            r.error(e.key_node, "unknown key \"" + e.key + "\" in playbook; it is a filter key: indent it under match");
        else
            r.error(e.key_node, unknown_message("key", e.key, playbook_keys, "playbook"));
    }
}

}  // namespace

std::optional<playbook> parse_playbook_text(reader& r, std::string_view text, playbook_positions* positions) {
    const int errors_before = r.errors();
    auto document = parse_document(text, r, "empty playbook: expected a mapping with name, match and actions");
    if (!document) return std::nullopt;
    if (!document->IsMap()) {
        r.error(*document, "expected a mapping with name, match and actions, not " + describe(*document));
        return std::nullopt;
    }
    mapping fields(r, *document, "");
    report_unknown_top_level(r, fields);
    playbook result;
    if (positions != nullptr) {
        positions->top = fields.mark();
        if (const entry* e = fields.find("name")) positions->name = e->value.Mark();
        if (const entry* e = fields.find("console")) positions->console = e->value.Mark();
    }

    if (const entry* name = fields.find("name")) {
        if (auto s = read_string(r, name->value, "name")) {
            if (valid_name(*s))
                result.name = *s;
            else
                r.error(name->value, "name: " + describe(name->value) +
                                         " is not a valid name: use lowercase letters, digits and '-', starting with "
                                         "a letter or digit, at most 64 characters");
        }
    } else {
        r.error(fields.mark(), "missing required key \"name\" (a unique id like contain-ransomware)");
    }
    if (const entry* e = fields.find("description")) {
        if (auto s = read_string(r, e->value, "description")) result.description = *s;
    }
    if (const entry* e = fields.find("console")) {
        if (auto s = read_string(r, e->value, "console")) result.console = *s;
    }
    if (const entry* e = fields.find("mode")) {
        if (auto m = read_choice(r, e->value, "mode", as_span(run_modes))) result.mode = *m;
    }
    if (const entry* e = fields.find("trigger")) parse_trigger(r, *e, result.trigger);
    if (const entry* e = fields.find("allow_tenant_wide")) {
        if (auto b = read_bool(r, e->value, "allow_tenant_wide")) result.allow_tenant_wide = *b;
    }
    if (const entry* e = fields.find("target")) {
        if (auto t = read_choice(r, e->value, "target", as_span(target_kinds))) result.target = *t;
    }
    if (const entry* e = fields.find("limits")) {
        parse_limits(r, *e, result.limits);
        if (result.target == target_kind::filter && result.limits.on_exceed == exceed_policy::first)
            r.error(e->value,
                    "limits.on_exceed: first needs target: threats (an action on a filter cannot pick the "
                    "oldest threats); use hold");
    }
    if (const entry* e = fields.find("on_error")) {
        if (auto p = read_choice(r, e->value, "on_error", as_span(error_policies))) result.on_error = *p;
    }
    if (const entry* match = fields.find("match")) {
        if (auto f = parse_match(r, *match, result.allow_tenant_wide)) result.match = std::move(*f);
    } else {
        r.error(fields.mark(), "missing required key \"match\" (the threat filter that selects what to act on)");
    }
    if (const entry* actions = fields.find("actions")) {
        if (auto a = parse_actions(r, *actions, result.target)) result.actions = std::move(*a);
    } else {
        r.error(fields.mark(), "missing required key \"actions\" (what to do with the matched threats)");
    }
    if (r.errors() != errors_before) return std::nullopt;
    return result;
}

}  // namespace detail

std::string_view to_string(mitigation m) noexcept {
    return detail::name_of(detail::mitigations, m);
}
std::string_view to_string(incident_status s) noexcept {
    return detail::name_of(detail::incident_statuses, s);
}
std::string_view to_string(analyst_verdict v) noexcept {
    return detail::name_of(detail::analyst_verdicts, v);
}
std::string_view to_string(run_mode m) noexcept {
    return detail::name_of(detail::run_modes, m);
}

std::string action_name(const action& a) {
    struct visitor {
        std::string operator()(const mitigate_action& m) const { return "mitigate:" + std::string(to_string(m.kind)); }
        std::string operator()(const incident_action& i) const {
            std::string name = "incident:" + std::string(to_string(i.status));
            if (i.verdict) name += ":" + std::string(to_string(*i.verdict));
            return name;
        }
        std::string operator()(const verdict_action& v) const { return "verdict:" + std::string(to_string(v.verdict)); }
        std::string operator()(const note_action&) const { return "note"; }
        std::string operator()(const isolate_action&) const { return "isolate:agents"; }
    };
    return std::visit(visitor{}, a);
}

}  // namespace s1pilot::config
