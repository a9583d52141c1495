#include "actions.hpp"

#include "s1pilot/filter/vocabulary.hpp"

#include <boost/json.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "json_writer.hpp"
#include "store_filter.hpp"

namespace s1sim {
namespace {

namespace json = boost::json;

constexpr auto mitigation_actions = s1pilot::filter::vocabulary::mitigation_endpoints;
constexpr auto incident_statuses = s1pilot::filter::vocabulary::incident_statuses;
constexpr auto verdicts = s1pilot::filter::vocabulary::analyst_verdicts;

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view v) {
    return std::find(set.begin(), set.end(), v) != set.end();
}

template <std::size_t N>
std::string list_of(const std::array<std::string_view, N>& set) {
    return fmt::format("{}", fmt::join(set, ", "));
}

// The threats a filter selects, in store order, at most `limit` of them.
std::vector<std::uint32_t> select(const threat_store& store, const s1pilot::filter::threat_filter& f) {
    store_filter filter(store, f);
    std::vector<std::uint32_t> out;
    const auto cap = filter.limit().value_or(INT64_MAX);
    auto visit = [&](std::uint32_t i) {
        if (static_cast<std::int64_t>(out.size()) < cap && filter.matches(i)) out.push_back(i);
    };
    if (auto candidates = filter.candidates()) {
        for (std::uint32_t i : *candidates) visit(i);
    } else {
        for (std::uint32_t i = 0; i < store.threats.size(); ++i) visit(i);
    }
    return out;
}

// A string member of `data`: nullptr when absent or not a string.
const json::string* data_string(const json::object& data, std::string_view key) {
    auto* v = data.if_contains(key);
    return v != nullptr && v->is_string() ? &v->get_string() : nullptr;
}

bool is_windows(const threat_store& store, const agent_record& a) {
    return a.os_type == store.known.windows || a.os_type == store.known.windows_legacy;
}

std::string affected_body(std::int64_t affected) {
    return fmt::format(R"({{"data":{{"affected":{}}}}})", affected);
}

// The answer of an action that reports per threat, `{"data":{"details":[...],"affected":N}}`.
// `apply(index, w)` acts on one selected threat, writes its details object, and says whether the
// threat changed (what `affected` counts).
template <class Apply>
action_result details_answer(const std::vector<std::uint32_t>& selected, Apply apply) {
    action_result result;
    json_writer w(result.body);
    std::int64_t affected = 0;
    w.begin_object().key("data").begin_object().key("details").begin_array();
    for (std::uint32_t index : selected)
        if (apply(index, w)) ++affected;
    w.end_array().member_number("affected", affected).end_object().end_object();
    return result;
}

// The answer of a mitigation: details_answer's, or `affected` alone in the minimal style (the
// threats are changed the same way; only what the answer says differs).
template <class Apply>
action_result mitigation_answer(answer_style answers, const std::vector<std::uint32_t>& selected, Apply apply) {
    if (answers == answer_style::detailed) return details_answer(selected, apply);
    action_result result;
    std::string unused;
    std::int64_t affected = 0;
    for (std::uint32_t index : selected) {
        // `apply` acts and writes its details object as in the detailed style; minimal drops it.
        unused.clear();
        json_writer discarded(unused);
        discarded.begin_array();
        if (apply(index, discarded)) ++affected;
    }
    result.body = affected_body(affected);
    return result;
}

action_result mitigate(threat_store& store, std::string_view action, const std::vector<std::uint32_t>& selected,
                       action_context& context) {
    // The mitigationStatus[] entries use underscore names without the dash.
    std::string entry_name = action == "rollback-remediation" ? "rollback"
                             : action == "un-quarantine"      ? "unquarantine"
                                                              : std::string(action);
    std::replace(entry_name.begin(), entry_name.end(), '-', '_');
    const string_id entry_action = store.strings.intern(entry_name);
    const mitigation_effect effect = action == "kill" || action == "quarantine" || action == "remediate"
                                         ? mitigation_effect::mitigates
                                     : action == "network-quarantine" ? mitigation_effect::isolates
                                                                      : mitigation_effect::none;
    return mitigation_answer(context.answers, selected, [&](std::uint32_t index, json_writer& w) {
        const threat_record& t = store.threats[index];
        const agent_record& agent = store.agents[t.agent];
        const bool supported = action == "rollback-remediation" ? is_windows(store, agent)
                               : action == "remediate" ? is_windows(store, agent) || agent.os_type == store.known.macos
                                                       : true;
        w.begin_object().member("threatId", id_text(t.id));
        w.key("reports").begin_array();
        if (supported) w.begin_object().member("action", entry_name).member("status", "sent").end_object();
        w.end_array().key("skipped").begin_array();
        if (!supported) w.begin_object().member("action", entry_name).member("reason", "not_supported").end_object();
        w.end_array().end_object();
        if (!supported) return false;
        // The outcome is drawn when the console accepts the action, so a fault seed names the
        // same failures however late the entries are read.
        const bool ends_failed = draw_mitigation_failed(context.faults, context.fault_rng);
        context.agents.issue_mitigation(store, index, entry_action, effect, ends_failed, context.now);
        return true;
    });
}

action_result set_incident(threat_store& store, const json::object& data, const std::vector<std::uint32_t>& selected,
                           micros now) {
    auto* status = data_string(data, "incidentStatus");
    if (status == nullptr || !one_of(incident_statuses, *status))
        return {400, {}, "data.incidentStatus is required and must be one of " + list_of(incident_statuses)};
    auto* verdict = data_string(data, "analystVerdict");
    if (data.contains("analystVerdict") && (verdict == nullptr || !one_of(verdicts, *verdict)))
        return {400, {}, "data.analystVerdict must be one of " + list_of(verdicts)};
    const string_id status_id = store.strings.intern(*status);
    const string_id verdict_id = verdict != nullptr ? store.strings.intern(*verdict) : null_string;
    return details_answer(selected, [&](std::uint32_t index, json_writer& w) {
        threat_record& t = store.threats[index];
        const bool changed =
            t.incident_status != status_id || (verdict_id != null_string && t.analyst_verdict != verdict_id);
        if (changed) {
            t.incident_status = status_id;
            if (verdict_id != null_string) t.analyst_verdict = verdict_id;
            t.updated_at = now;
        }
        w.begin_object().member("threatId", id_text(t.id)).member("result", changed ? "updated" : "already_set");
        w.member("analystVerdict", store.strings.get(t.analyst_verdict)).end_object();
        return changed;
    });
}

action_result set_verdict(threat_store& store, const json::object& data, const std::vector<std::uint32_t>& selected,
                          micros now) {
    auto* verdict = data_string(data, "analystVerdict");
    if (verdict == nullptr || !one_of(verdicts, *verdict))
        return {400, {}, "data.analystVerdict is required and must be one of " + list_of(verdicts)};
    const string_id verdict_id = store.strings.intern(*verdict);
    return details_answer(selected, [&](std::uint32_t index, json_writer& w) {
        threat_record& t = store.threats[index];
        const bool changed = t.analyst_verdict != verdict_id;
        if (changed) {
            t.analyst_verdict = verdict_id;
            t.updated_at = now;
        }
        w.begin_object().member("threatId", id_text(t.id)).member("result", changed ? "updated" : "not_changed");
        w.end_object();
        return changed;
    });
}

}  // namespace

std::string_view to_string(answer_style style) noexcept {
    return style == answer_style::minimal ? "minimal" : "detailed";
}

std::optional<answer_style> parse_answer_style(std::string_view text) noexcept {
    if (text == "detailed") return answer_style::detailed;
    if (text == "minimal") return answer_style::minimal;
    return std::nullopt;
}

bool is_threat_action(std::string_view endpoint) noexcept {
    return endpoint.starts_with("mitigate/") || endpoint == "incident" || endpoint == "analyst-verdict" ||
           endpoint == "notes" || endpoint == "external-ticket-id";
}

action_result run_threat_action(threat_store& store, std::string_view endpoint,
                                const s1pilot::filter::threat_filter& filter, const json::object& data,
                                action_context& context) {
    const micros now = context.now;
    if (endpoint.starts_with("mitigate/")) {
        auto action = endpoint.substr(9);
        if (!one_of(mitigation_actions, action))
            return {400, {}, fmt::format("action '{}' is not one of {}", action, list_of(mitigation_actions))};
        return mitigate(store, action, select(store, filter), context);
    }
    if (endpoint == "incident") return set_incident(store, data, select(store, filter), now);
    if (endpoint == "analyst-verdict") return set_verdict(store, data, select(store, filter), now);
    if (endpoint == "notes") {
        auto* text = data_string(data, "text");
        if (text == nullptr || text->empty()) return {400, {}, "data.text is required (the note's text)"};
        auto selected = select(store, filter);
        for (std::uint32_t index : selected) store.add_note(index, std::string(*text), now);
        return {200, affected_body(static_cast<std::int64_t>(selected.size())), {}};
    }
    if (endpoint == "external-ticket-id") {
        auto* v = data.if_contains("externalTicketId");
        if (v == nullptr || !(v->is_string() || v->is_null()))
            return {400, {}, "data.externalTicketId is required (a string, or null to clear it)"};
        const string_id ticket = v->is_string() ? store.strings.intern(v->get_string()) : null_string;
        std::int64_t affected = 0;
        for (std::uint32_t index : select(store, filter)) {
            threat_record& t = store.threats[index];
            if (t.external_ticket_id == ticket) continue;
            t.external_ticket_id = ticket;
            t.updated_at = now;
            ++affected;
        }
        return {200, affected_body(affected), {}};
    }
    return {404, {}, fmt::format("no action endpoint /threats/{}", endpoint)};
}

action_result run_agent_action(threat_store& store, bool connect, const s1pilot::filter::threat_filter& f,
                               action_context& context) {
    agent_view view(store);
    auto limit = f.find("limit");
    std::int64_t cap = INT64_MAX;
    if (limit != nullptr)
        if (auto* n = std::get_if<std::int64_t>(&limit->val)) cap = *n;
    s1pilot::filter::threat_filter selecting = f;
    for (auto name : {"limit", "countsFor", "tenant"}) selecting.erase(name);
    const s1pilot::filter::compiled_filter compiled(selecting);
    std::int64_t affected = 0;
    for (std::uint32_t i = 1; i < store.agents.size() && affected < cap; ++i) {
        if (!compiled.matches(view.at(i))) continue;
        context.agents.issue_network(store, i, connect, context.now);
        ++affected;
    }
    return {200, affected_body(affected), {}};
}

}  // namespace s1sim
