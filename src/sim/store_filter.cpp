#include "store_filter.hpp"

#include <algorithm>
#include <variant>

namespace s1sim {

using s1pilot::filter::attribute;
using s1pilot::filter::match_kind;

namespace {

bool is_id_attribute(attribute a) {
    return a == attribute::id || a == attribute::agent_id || a == attribute::account_id || a == attribute::site_id ||
           a == attribute::group_id || a == attribute::collection_id;
}

// Attributes held as one string field of the threat, its agent or its workload (string_field).
bool is_single_string(attribute a) {
    switch (a) {
        case attribute::storyline:
        case attribute::sha1:
        case attribute::external_ticket_id:
        case attribute::threat_name:
        case attribute::file_path:
        case attribute::publisher_name:
        case attribute::command_line:
        case attribute::originator_process:
        case attribute::initiating_username:
        case attribute::detection_agent_version:
        case attribute::detection_agent_domain:
        case attribute::computer_name:
        case attribute::agent_uuid:
        case attribute::container_name:
        case attribute::container_image:
        case attribute::k8s_cluster:
        case attribute::k8s_node:
        case attribute::k8s_namespace:
        case attribute::k8s_controller:
        case attribute::k8s_pod: return true;
        default: return is_interned(a);
    }
}

bool flag_of(const threat_store& store, const threat_record& t, attribute a) {
    switch (a) {
        case attribute::mitigated_preemptively: return t.flags & flag_mitigated_preemptively;
        case attribute::pending_actions: return t.flags & flag_pending_actions;
        case attribute::failed_actions: return t.flags & flag_failed_actions;
        case attribute::reboot_required: return t.flags & flag_reboot_required;
        case attribute::external_ticket_exists: return !store.strings.get(t.external_ticket_id).empty();
        default: return store.agents[t.agent].is_active;
    }
}

bool is_flag(attribute a) {
    return a == attribute::mitigated_preemptively || a == attribute::pending_actions ||
           a == attribute::failed_actions || a == attribute::reboot_required ||
           a == attribute::external_ticket_exists || a == attribute::agent_is_active;
}

std::uint64_t threat_record::*threat_id_member(attribute a) {
    return a == attribute::id              ? &threat_record::id
           : a == attribute::collection_id ? &threat_record::collection_id
                                           : nullptr;
}

std::uint64_t agent_record::*agent_id_member(attribute a) {
    switch (a) {
        case attribute::agent_id: return &agent_record::agent_id;
        case attribute::account_id: return &agent_record::account_id;
        case attribute::site_id: return &agent_record::site_id;
        case attribute::group_id: return &agent_record::group_id;
        default: return nullptr;
    }
}

string_id threat_record::*threat_string_member(attribute a) {
    switch (a) {
        case attribute::classification: return &threat_record::classification;
        case attribute::classification_source: return &threat_record::classification_source;
        case attribute::confidence_level: return &threat_record::confidence_level;
        case attribute::mitigation_status: return &threat_record::mitigation_status;
        case attribute::incident_status: return &threat_record::incident_status;
        case attribute::analyst_verdict: return &threat_record::analyst_verdict;
        case attribute::initiated_by: return &threat_record::initiated_by;
        default: return nullptr;
    }
}

string_id agent_record::*agent_string_member(attribute a) {
    switch (a) {
        case attribute::os_type: return &agent_record::os_type;
        case attribute::os_name: return &agent_record::os_name;
        case attribute::os_arch: return &agent_record::os_arch;
        case attribute::machine_type: return &agent_record::machine_type;
        case attribute::agent_version: return &agent_record::version;
        default: return nullptr;
    }
}

template <typename T>
bool small_set_contains(const std::vector<T>& sorted, T v) {
    if (sorted.size() <= 8) return std::find(sorted.begin(), sorted.end(), v) != sorted.end();
    return std::binary_search(sorted.begin(), sorted.end(), v);
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool contains_ascii_nocase(std::string_view haystack, std::string_view lower_needle) noexcept {
    if (lower_needle.empty()) return true;
    if (haystack.size() < lower_needle.size()) return false;
    const char first = lower_needle[0];
    for (std::size_t i = 0; i + lower_needle.size() <= haystack.size(); ++i) {
        if (lower(haystack[i]) != first) continue;
        std::size_t j = 1;
        while (j < lower_needle.size() && lower(haystack[i + j]) == lower_needle[j]) ++j;
        if (j == lower_needle.size()) return true;
    }
    return false;
}

store_filter::store_filter(const threat_store& store, const s1pilot::filter::threat_filter& f, bool fast_path)
    : store_(store), view_(store) {
    for (const auto& term : f.terms()) {
        if (term.key->kind == match_kind::limit) {
            if (auto* n = std::get_if<std::int64_t>(&term.val)) limit_ = *n;
            continue;
        }
        if (term.key->kind == match_kind::no_effect || term.key->kind == match_kind::tenant) continue;
        std::optional<fast_term> fast;
        if (fast_path) fast = compile(term);
        if (fast)
            fast_.push_back(std::move(*fast));
        else
            residual_.set(*term.key, term.val);
    }
    // A term on the agent is answered once per agent, not once per threat: the scan then reads a
    // small mask (an agent index per threat) instead of chasing each threat's agent record.
    for (auto& term : fast_)
        if (term.cost == 1 && term.kind != op::list_in && term.kind != op::list_not_in) to_agent_mask(term);
    std::stable_sort(fast_.begin(), fast_.end(),
                     [](const fast_term& a, const fast_term& b) { return a.cost < b.cost; });
    if (!residual_.empty()) residual_compiled_.emplace(residual_);
}

std::optional<store_filter::fast_term> store_filter::compile(const s1pilot::filter::term& term) const {
    const auto& key = *term.key;
    fast_term out;
    out.kind = op::flag;
    out.attr = key.attr;
    out.match = key.kind;
    const auto* list = std::get_if<s1pilot::filter::string_list>(&term.val);
    const bool in = key.kind == match_kind::in_list, not_in = key.kind == match_kind::not_in_list;
    if (list != nullptr && (in || not_in) && is_id_attribute(key.attr)) {
        out.kind = in ? op::id_in : op::id_not_in;
        out.threat_id = threat_id_member(key.attr);
        out.agent_id = agent_id_member(key.attr);
        out.cost = out.threat_id != nullptr ? 0 : 1;
        for (const auto& v : *list)
            if (std::uint64_t id = 0; parse_id(v, id) && id != 0) out.ids.push_back(id);
        std::sort(out.ids.begin(), out.ids.end());
        return out;
    }
    if (list != nullptr && (in || not_in) && (is_interned(key.attr) || key.attr == attribute::detection_engine_keys)) {
        if (key.attr == attribute::detection_engine_keys) {
            out.kind = in ? op::list_in : op::list_not_in;
            out.cost = 1;
        } else {
            out.kind = in ? op::str_in : op::str_not_in;
            out.threat_string = threat_string_member(key.attr);
            out.agent_string = agent_string_member(key.attr);
            out.cost = out.threat_string != nullptr ? 0 : 1;
        }
        for (const auto& v : *list)
            if (string_id id = store_.strings.find(v); id != null_string) out.string_ids.push_back(id);
        std::sort(out.string_ids.begin(), out.string_ids.end());
        return out;
    }
    if (list != nullptr && (in || not_in) && is_single_string(key.attr)) {
        out.kind = in ? op::text_in : op::text_not_in;
        out.cost = 2;
        out.texts = *list;
        return out;
    }
    if (list != nullptr && key.kind == match_kind::contains && is_single_string(key.attr)) {
        out.kind = op::text_contains;
        out.cost = 3;
        for (auto v : *list) {
            std::transform(v.begin(), v.end(), v.begin(), lower);
            out.texts.push_back(std::move(v));
        }
        return out;
    }
    const auto* time = std::get_if<s1pilot::core::timestamp>(&term.val);
    if (time != nullptr && (key.attr == attribute::created_at || key.attr == attribute::updated_at)) {
        out.kind = op::time_cmp;
        out.time = to_micros(*time);
        return out;
    }
    const auto* flag = std::get_if<bool>(&term.val);
    if (flag == nullptr) return std::nullopt;
    out.flag_value = *flag;
    if (key.kind == match_kind::flag && is_flag(key.attr)) {
        out.cost = key.attr == attribute::agent_is_active ? 1 : 0;
        return out;
    }
    if (key.kind == match_kind::resolved) {
        out.kind = op::resolved;
        return out;
    }
    if (key.kind == match_kind::has_any && key.attr == attribute::notes) {
        out.kind = op::notes;
        return out;
    }
    return std::nullopt;
}

void store_filter::to_agent_mask(fast_term& term) const {
    threat_record probe{};
    term.agents.resize(store_.agents.size());
    for (std::uint32_t a = 0; a < store_.agents.size(); ++a) {
        probe.agent = a;
        term.agents[a] = test(term, probe) ? 1 : 0;
    }
    term.kind = op::agent_mask;
}

bool store_filter::test(const fast_term& term, const threat_record& t) const {
    switch (term.kind) {
        case op::agent_mask: return term.agents[t.agent] != 0;
        case op::id_in:
        case op::id_not_in: {
            std::uint64_t id = term.threat_id != nullptr ? t.*term.threat_id : store_.agents[t.agent].*term.agent_id;
            bool found = id != 0 && small_set_contains(term.ids, id);
            return found == (term.kind == op::id_in);
        }
        case op::str_in:
        case op::str_not_in: {
            string_id id =
                term.threat_string != nullptr ? t.*term.threat_string : store_.agents[t.agent].*term.agent_string;
            bool found = id != null_string && small_set_contains(term.string_ids, id);
            return found == (term.kind == op::str_in);
        }
        case op::list_in:
        case op::list_not_in: {
            bool found = false;
            for (string_id id : store_.lists.get(t.engines))
                if (std::binary_search(term.string_ids.begin(), term.string_ids.end(), id)) found = true;
            return found == (term.kind == op::list_in);
        }
        case op::text_in:
        case op::text_not_in: {
            const string_id* field = string_field(store_, t, term.attr);
            bool found = false;
            if (field != nullptr && *field != null_string) {
                auto text = store_.strings.get(*field);
                found = std::find(term.texts.begin(), term.texts.end(), text) != term.texts.end();
            }
            return found == (term.kind == op::text_in);
        }
        case op::text_contains: {
            const string_id* field = string_field(store_, t, term.attr);
            if (field == nullptr || *field == null_string) return false;
            auto text = store_.strings.get(*field);
            for (const auto& needle : term.texts)
                if (contains_ascii_nocase(text, needle)) return true;
            return false;
        }
        case op::time_cmp: {
            micros v = term.attr == attribute::created_at ? t.created_at : t.updated_at;
            switch (term.match) {
                case match_kind::time_gt: return v > term.time;
                case match_kind::time_gte: return v >= term.time;
                case match_kind::time_lt: return v < term.time;
                default: return v <= term.time;
            }
        }
        case op::flag: return flag_of(store_, t, term.attr) == term.flag_value;
        case op::resolved: return (t.incident_status == store_.known.resolved) == term.flag_value;
        case op::notes: return t.has_notes == term.flag_value;
    }
    return false;
}

std::optional<std::vector<std::uint32_t>> store_filter::candidates() const {
    for (const auto& term : fast_) {
        if (term.kind != op::id_in || term.attr != attribute::id) continue;
        std::vector<std::uint32_t> out;
        for (std::uint64_t id : term.ids)
            if (const std::uint32_t* index = store_.find(id)) out.push_back(*index);
        std::sort(out.begin(), out.end());
        return out;
    }
    return std::nullopt;
}

bool store_filter::matches(std::uint32_t threat_index) const {
    const threat_record& t = store_.threats[threat_index];
    for (const auto& term : fast_)
        if (!test(term, t)) return false;
    if (!residual_compiled_) return true;
    return residual_compiled_->matches(view_.at(threat_index));
}

}  // namespace s1sim
