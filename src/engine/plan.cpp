// The pure steps of a run: keys, limits, what is left, batching, filters and requests.

#include "s1pilot/engine/plan.hpp"

#include "s1pilot/core/error.hpp"
#include "s1pilot/filter/keys.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <unordered_set>
#include <variant>

#include "convert.hpp"

namespace s1pilot::engine {
namespace {

using detail::to_s1;

std::string sha256_hex(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

const config::note_action* as_note(const config::action& a) {
    return std::get_if<config::note_action>(&a);
}

}  // namespace

bool threat_ref::operator==(const threat_ref& other) const {
    static const threat_texts none;
    return id == other.id && agent_id == other.agent_id && created_at == other.created_at &&
           (texts ? *texts : none) == (other.texts ? *other.texts : none);
}

threat_ref make_ref(const s1::threat_record& threat, bool with_details) {
    threat_ref ref{threat.id, threat.agent_id, threat.created_at.value_or(core::timestamp{}), {}};
    if (with_details && (threat.site_id != 0 || !threat.threat_name.empty() || !threat.classification.empty() ||
                         !threat.computer_name.empty()))
        ref.texts = std::make_shared<const threat_texts>(
            threat_texts{threat.site_id, threat.threat_name, threat.classification, threat.computer_name});
    return ref;
}

bool needs_threat_details(const config::playbook& p) {
    return std::any_of(p.actions.begin(), p.actions.end(), [](const config::action& a) {
        const auto* note = as_note(a);
        return note != nullptr && note->text.per_threat();
    });
}

std::string ledger_key(const config::action& a) {
    if (const auto* note = as_note(a)) return "note:" + sha256_hex(note->text.text()).substr(0, 16);
    return config::action_name(a);
}

std::string filter_run_key(std::string_view run_id) {
    return "run:" + std::string(run_id);
}

limit_decision apply_limits(std::size_t left, const config::limits_config& limits) {
    const auto max = static_cast<std::size_t>(std::max(limits.max_threats, 1));
    if (left <= max) return {false, left};
    if (limits.on_exceed == config::exceed_policy::hold) return {true, 0};
    return {false, max};
}

std::size_t match_limit(const filter::threat_filter& match, std::size_t n) {
    for (const auto& t : match.terms()) {
        if (t.key->kind != filter::match_kind::limit) continue;
        if (const auto* cap = std::get_if<std::int64_t>(&t.val); cap != nullptr && *cap >= 0)
            return std::min(n, static_cast<std::size_t>(*cap));
    }
    return n;
}

filter::threat_filter pin_upper_bound(filter::threat_filter match, core::timestamp run_start) {
    if (match.find("createdAt__lt") == nullptr && match.find("createdAt__lte") == nullptr)
        match.set(*filter::find_key("createdAt__lte"), run_start);
    return match;
}

std::optional<filter::threat_filter> restrict_match(const filter::threat_filter& match,
                                                    const std::vector<std::string>& ids) {
    std::vector<std::string> kept;
    std::unordered_set<std::string> seen;
    const auto* own = match.find("ids");
    const auto* own_ids = own ? std::get_if<filter::string_list>(&own->val) : nullptr;
    for (const auto& id : ids) {
        if (id.empty() || !seen.insert(id).second) continue;
        if (own_ids && std::find(own_ids->begin(), own_ids->end(), id) == own_ids->end()) continue;
        kept.push_back(id);
    }
    if (kept.empty()) return std::nullopt;
    filter::threat_filter out = match;
    out.set(*filter::find_key("ids"), std::move(kept));
    return out;
}

open_threats to_open_threats(const state::remaining_action& remaining) {
    open_threats out;
    auto convert = [](const std::vector<std::string>& from, std::vector<s1::object_id>& to) {
        to.reserve(from.size());
        for (const auto& text : from)
            if (const auto id = s1::parse_object_id(text)) to.push_back(*id);
    };
    convert(remaining.to_do, out.to_do);
    convert(remaining.pending, out.pending);
    return out;
}

namespace {

/// The ids sorted and without duplicates: a set in one allocation, searched by binary search.
std::vector<s1::object_id> sorted_set(std::vector<s1::object_id> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

bool contains(const std::vector<s1::object_id>& set, s1::object_id id) {
    return std::binary_search(set.begin(), set.end(), id);
}

}  // namespace

std::vector<s1::object_id> threats_left(const std::vector<s1::object_id>& ordered_ids,
                                        const std::vector<open_threats>& remaining) {
    std::size_t size = 0;
    for (const auto& r : remaining) size += r.to_do.size() + r.pending.size();
    std::vector<s1::object_id> all;
    all.reserve(size);
    for (const auto& r : remaining) {
        all.insert(all.end(), r.to_do.begin(), r.to_do.end());
        all.insert(all.end(), r.pending.begin(), r.pending.end());
    }
    const auto open = sorted_set(std::move(all));
    std::vector<bool> taken(open.size(), false);
    std::vector<s1::object_id> out;
    out.reserve(open.size());
    for (const auto id : ordered_ids) {
        const auto at = std::lower_bound(open.begin(), open.end(), id);
        if (at == open.end() || *at != id) continue;
        const auto i = static_cast<std::size_t>(at - open.begin());
        if (taken[i]) continue;
        taken[i] = true;
        out.push_back(id);
    }
    return out;
}

action_work work_for_action(const open_threats& remaining, const std::vector<s1::object_id>& selected,
                            const std::vector<s1::object_id>& failed_before, config::error_policy on_error) {
    // Sorted, as the caller promises, is searched in place; anything else is sorted first.
    std::vector<s1::object_id> sorted_copy;
    if (!std::is_sorted(selected.begin(), selected.end())) sorted_copy = sorted_set(selected);
    const auto& chosen = sorted_copy.empty() ? selected : sorted_copy;
    const auto failed =
        on_error == config::error_policy::stop ? sorted_set(failed_before) : std::vector<s1::object_id>{};
    action_work work;
    auto sort_into = [&](const std::vector<s1::object_id>& from, std::vector<s1::object_id>& to) {
        for (const auto id : from) {
            if (!contains(chosen, id)) continue;
            if (contains(failed, id))
                work.skipped.push_back(id);
            else
                to.push_back(id);
        }
    };
    sort_into(remaining.to_do, work.to_do);
    sort_into(remaining.pending, work.pending);
    return work;
}

std::vector<std::size_t> batch_sizes(std::size_t count, std::size_t batch_size) {
    batch_size = std::max<std::size_t>(batch_size, 1);
    std::vector<std::size_t> out;
    for (std::size_t done = 0; done < count; done += batch_size) out.push_back(std::min(batch_size, count - done));
    return out;
}

filter::threat_filter batch_filter(const filter::threat_filter& match, const std::vector<std::string>& ids) {
    filter::threat_filter out;
    out.set(*filter::find_key("ids"), ids);
    const filter::threat_filter scope = match.carried_scope();
    for (const auto& t : scope.terms()) out.set(*t.key, t.val);
    return out;
}

filter::threat_filter agent_filter(const filter::threat_filter& match, const std::vector<std::string>& agent_ids) {
    filter::threat_filter out;
    out.set(*filter::find_key("ids"), agent_ids);
    const filter::threat_filter scope = match.carried_scope();
    for (const auto& t : scope.terms()) {
        if (t.key->name != "agentIds") out.set(*t.key, t.val);
    }
    return out;
}

s1::action_result build_request(const config::action& a, const filter::threat_filter& f, std::string_view note_text) {
    struct visitor {
        const filter::threat_filter& f;
        std::string_view text;
        s1::action_result operator()(const config::mitigate_action& m) const {
            return s1::mitigate_request(to_s1(m.kind), f);
        }
        s1::action_result operator()(const config::incident_action& i) const {
            std::optional<s1::analyst_verdict> verdict;
            if (i.verdict) verdict = to_s1(*i.verdict);
            return s1::incident_request(f, to_s1(i.status), verdict);
        }
        s1::action_result operator()(const config::verdict_action& v) const {
            return s1::verdict_request(f, to_s1(v.verdict));
        }
        s1::action_result operator()(const config::note_action&) const { return s1::note_request(f, text); }
        s1::action_result operator()(const config::isolate_action&) const { return s1::agent_network_request(f, true); }
    };
    return std::visit(visitor{f, note_text}, a);
}

std::string render_note(const config::note_template& text, const note_values& values, const threat_ref* threat) {
    using config::placeholder;
    return text.render([&](placeholder p) -> std::string {
        switch (p) {
            case placeholder::playbook: return values.playbook;
            case placeholder::run: return values.run;
            case placeholder::console: return values.console;
            case placeholder::mode: return values.mode;
            case placeholder::time: return values.time;
            case placeholder::matched: return std::to_string(values.matched);
            case placeholder::threat_id: return threat ? s1::to_string_id(threat->id) : std::string();
            case placeholder::threat_name: return threat ? std::string(threat->threat_name()) : std::string();
            case placeholder::classification: return threat ? std::string(threat->classification()) : std::string();
            case placeholder::computer_name: return threat ? std::string(threat->computer_name()) : std::string();
            case placeholder::agent_id:
                return threat && threat->agent_id ? s1::to_string_id(threat->agent_id) : std::string();
            case placeholder::site_id:
                return threat && threat->site_id() ? s1::to_string_id(threat->site_id()) : std::string();
        }
        return {};
    });
}

boost::system::result<planned_call> make_call(const config::action& a, const filter::threat_filter& match,
                                              const std::vector<call_target>& targets, std::string note_text,
                                              std::vector<std::string>& no_agent) {
    const bool isolate = std::holds_alternative<config::isolate_action>(a);
    planned_call call;
    call.note_text = std::move(note_text);
    std::unordered_set<s1::object_id> agents;
    for (const auto& t : targets) {
        if (isolate && t.agent == 0) {
            no_agent.push_back(s1::to_string_id(t.threat));
            continue;
        }
        call.threat_ids.push_back(s1::to_string_id(t.threat));
        if (isolate && agents.insert(t.agent).second) call.agent_ids.push_back(s1::to_string_id(t.agent));
    }
    if (call.threat_ids.empty()) return core::make_error_code(core::errc::empty_filter);
    const auto f = isolate ? agent_filter(match, call.agent_ids) : batch_filter(match, call.threat_ids);
    auto built = build_request(a, f, call.note_text);
    if (!built) return built.error();
    call.request = std::move(*built);
    return call;
}

boost::system::result<call_plan> plan_calls(const config::action& a, const filter::threat_filter& match,
                                            const std::vector<const threat_ref*>& threats, std::size_t batch_size,
                                            const note_values& values) {
    const auto* note = as_note(a);
    if (note && note->text.per_threat()) batch_size = 1;
    call_plan plan;
    std::size_t start = 0;
    for (const std::size_t size : batch_sizes(threats.size(), batch_size)) {
        std::vector<call_target> targets;
        for (std::size_t i = start; i < start + size; ++i) targets.push_back({threats[i]->id, threats[i]->agent_id});
        std::string text;
        if (note) text = render_note(note->text, values, note->text.per_threat() ? threats[start] : nullptr);
        start += size;
        auto call = make_call(a, match, targets, std::move(text), plan.no_agent);
        if (!call && call.error() == core::make_error_code(core::errc::empty_filter)) continue;
        if (!call) return call.error();
        plan.calls.push_back(std::move(*call));
    }
    return plan;
}

boost::system::result<planned_call> plan_filter_call(const config::action& a, const filter::threat_filter& match,
                                                     const note_values& values) {
    planned_call call;
    if (const auto* note = as_note(a)) call.note_text = render_note(note->text, values, nullptr);
    auto built = build_request(a, match, call.note_text);
    if (!built) return built.error();
    call.request = std::move(*built);
    return call;
}

}  // namespace s1pilot::engine
