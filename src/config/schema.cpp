// The playbook format as JSON Schema draft 2020-12. The vocabularies come from tables.hpp and
// the match from the filter key table, so the schema cannot drift from what validate accepts.
#include "s1pilot/config/schema.hpp"

#include "s1pilot/filter/schema.hpp"

#include <boost/json/array.hpp>

#include "tables.hpp"

namespace s1pilot::config {
namespace {

namespace json = boost::json;

// A positive duration: what core::parse_duration accepts, without the sign.
constexpr std::string_view duration_pattern = "^[0-9]+(ms|s|m|h|d)$";

template <typename E, std::size_t N>
json::object enum_of(const detail::choices<E, N>& table, std::string_view description) {
    json::array values;
    for (const auto& [name, value] : table) values.emplace_back(name);
    return {{"type", "string"}, {"enum", std::move(values)}, {"description", description}};
}

json::object duration(std::string_view description) {
    return {{"type", "string"}, {"pattern", duration_pattern}, {"description", description}};
}

// An action item: an object with exactly that one property.
json::object action_item(std::string_view name, json::value schema) {
    return {{"type", "object"},
            {"properties", json::object{{name, std::move(schema)}}},
            {"required", json::array{name}},
            {"additionalProperties", false}};
}

json::object actions_schema() {
    json::object incident{
        {"type", "object"},
        {"properties", json::object{{"status", enum_of(detail::incident_statuses, "incidentStatus to set")},
                                    {"verdict", enum_of(detail::analyst_verdicts, "analystVerdict to set as well")}}},
        {"required", json::array{"status"}},
        {"additionalProperties", false},
        {"description", "POST /threats/incident"}};
    std::string placeholders = "POST /threats/notes. Placeholders:";
    for (const auto& p : config::placeholders()) placeholders += " {{" + std::string(p.name) + "}}";
    json::array one_of{
        action_item("mitigate", enum_of(detail::mitigations, "POST /threats/mitigate/{action}")),
        action_item("incident", std::move(incident)),
        action_item("verdict", enum_of(detail::analyst_verdicts, "POST /threats/analyst-verdict")),
        action_item("note", json::object{{"type", "string"}, {"minLength", 1}, {"description", placeholders}}),
        action_item("isolate",
                    json::object{{"const", "agents"},
                                 {"description", "POST /agents/actions/disconnect for the threats' agents"}}),
    };
    return {{"type", "array"},
            {"minItems", 1},
            {"items", json::object{{"oneOf", std::move(one_of)}}},
            {"description", "What to do with the matched threats, in order"}};
}

}  // namespace

json::object playbook_schema() {
    json::object trigger{
        {"type", "object"},
        {"properties",
         json::object{
             {"every", duration("Poll interval, at least 5s; omit to run on webhook or by hand only")},
             {"webhook", json::object{{"type", "boolean"},
                                      {"description", "Runnable from POST /v1/events and /v1/playbooks/<name>/run"}}}}},
        {"additionalProperties", false}};
    json::object limits{
        {"type", "object"},
        {"properties",
         json::object{
             {"max_threats", json::object{{"type", "integer"},
                                          {"minimum", 1},
                                          {"maximum", 1000000},
                                          {"default", defaults::max_threats},
                                          {"description", "Blast-radius cap per run"}}},
             {"on_exceed", enum_of(detail::exceed_policies, "hold: act on none; first: the oldest max_threats")},
             {"cooldown", duration("A done (playbook, action, threat) is not redone before this; default never")},
             {"confirm_within", duration("How long a mitigation or isolation the console accepted is followed until "
                                         "the agent carries it out; default 15m")}}},
        {"additionalProperties", false}};
    json::object properties{
        {"name", json::object{{"type", "string"},
                              {"pattern", "^[a-z0-9][a-z0-9-]*$"},
                              {"maxLength", 64},
                              {"description", "Unique id of the playbook"}}},
        {"description", json::object{{"type", "string"}}},
        {"console", json::object{{"type", "string"}, {"description", "Console name; default: the only console"}}},
        {"mode", enum_of(detail::run_modes, "enforce acts; dry-run records the calls it would make")},
        {"trigger", std::move(trigger)},
        {"match", filter::match_schema()},
        {"allow_tenant_wide",
         json::object{{"type", "boolean"}, {"description", "Required with match.tenant: true and no scope key"}}},
        {"target", enum_of(detail::target_kinds, "threats: act on listed threat ids; filter: send the match")},
        {"limits", std::move(limits)},
        {"actions", actions_schema()},
        {"on_error", enum_of(detail::error_policies, "stop: a failed action stops later ones for those threats")},
    };
    return {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
            {"title", "s1pilot playbook"},
            {"description",
             "One playbook per file. s1pilot validate also checks what a schema cannot: the scope rule, "
             "trigger.every >= 5s, unique names and consoles."},
            {"type", "object"},
            {"properties", std::move(properties)},
            {"required", json::array{"name", "match", "actions"}},
            {"additionalProperties", false}};
}

}  // namespace s1pilot::config
