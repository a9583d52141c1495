// What an action leaves on a threat, and whether a fresh read shows it.

#include "s1pilot/engine/effects.hpp"

#include "s1pilot/filter/wire.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <unordered_map>
#include <variant>

#include "convert.hpp"

namespace s1pilot::engine {
namespace {

namespace json = boost::json;
using detail::to_s1;

/// `a:b:c` → {"a","b","c"}.
std::vector<std::string_view> split_key(std::string_view key) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto colon = key.find(':');
        parts.push_back(key.substr(0, colon));
        if (colon == std::string_view::npos) break;
        key.remove_prefix(colon + 1);
    }
    return parts;
}

}  // namespace

effect effect_of(const config::action& a, std::string note_text) {
    struct visitor {
        std::string& text;
        effect operator()(const config::mitigate_action& m) const {
            effect e;
            e.what = effect::kind::mitigation;
            e.mitigation = to_s1(m.kind);
            return e;
        }
        effect operator()(const config::incident_action& i) const {
            effect e;
            e.what = effect::kind::incident;
            e.incident = to_s1(i.status);
            if (i.verdict) e.verdict = to_s1(*i.verdict);
            return e;
        }
        effect operator()(const config::verdict_action& v) const {
            effect e;
            e.what = effect::kind::verdict;
            e.verdict = to_s1(v.verdict);
            return e;
        }
        effect operator()(const config::note_action&) const {
            effect e;
            e.what = effect::kind::note;
            e.note_text = std::move(text);
            return e;
        }
        effect operator()(const config::isolate_action&) const {
            effect e;
            e.what = effect::kind::isolate;
            return e;
        }
    };
    return std::visit(visitor{note_text}, a);
}

std::optional<effect> parse_effect(std::string_view ledger_key, std::string_view note_text) {
    const auto parts = split_key(ledger_key);
    effect e;
    if (parts[0] == "mitigate" && parts.size() == 2) {
        // Ledger keys use the playbook's names (`rollback-remediation`); both forms parse.
        const auto action = s1::parse_mitigation_action(parts[1]);
        if (!action) return std::nullopt;
        e.what = effect::kind::mitigation;
        e.mitigation = *action;
        return e;
    }
    if (parts[0] == "incident" && (parts.size() == 2 || parts.size() == 3)) {
        const auto status = s1::parse_incident_status(parts[1]);
        if (!status) return std::nullopt;
        e.what = effect::kind::incident;
        e.incident = *status;
        if (parts.size() == 3) {
            e.verdict = s1::parse_analyst_verdict(parts[2]);
            if (!e.verdict) return std::nullopt;
        }
        return e;
    }
    if (parts[0] == "verdict" && parts.size() == 2) {
        e.what = effect::kind::verdict;
        e.verdict = s1::parse_analyst_verdict(parts[1]);
        if (!e.verdict) return std::nullopt;
        return e;
    }
    if (parts[0] == "note" && !note_text.empty()) {
        e.what = effect::kind::note;
        e.note_text = std::string(note_text);
        return e;
    }
    if (ledger_key == "isolate:agents") {
        e.what = effect::kind::isolate;
        return e;
    }
    return std::nullopt;
}

mitigation_baseline baseline_of(s1::mitigation_action action, const std::vector<s1::mitigation_entry>& entries) {
    mitigation_baseline b;
    for (const auto& m : entries) {
        if (m.action != action) continue;
        ++b.entries;
        if (m.last_update && (!b.latest || *m.last_update > *b.latest)) b.latest = m.last_update;
    }
    return b;
}

std::vector<const s1::mitigation_entry*> entries_since(s1::mitigation_action action, const s1::threat_record& threat,
                                                       const mitigation_baseline* baseline) {
    std::vector<const s1::mitigation_entry*> out;
    std::size_t position = 0;
    for (const auto& m : threat.mitigations) {
        if (m.action != action) continue;
        const bool newer = baseline == nullptr || position >= baseline->entries ||
                           (m.last_update && baseline->latest && *m.last_update > *baseline->latest);
        ++position;
        if (newer) out.push_back(&m);
    }
    return out;
}

bool effect_present(const effect& e, const s1::threat_record& threat, const std::vector<std::string>* notes,
                    const mitigation_baseline* baseline) {
    switch (e.what) {
        case effect::kind::mitigation: {
            // An entry the console made for this mitigation after the baseline (done, sent,
            // pending) means the request arrived; only a failed one says it did not take.
            const auto entries = entries_since(e.mitigation, threat, baseline);
            return std::any_of(entries.begin(), entries.end(),
                               [](const auto* m) { return m->status != s1::mitigation_result::failed; });
        }
        case effect::kind::incident:
            return threat.incident == e.incident && (!e.verdict || threat.verdict == e.verdict);
        case effect::kind::verdict: return threat.verdict == e.verdict;
        case effect::kind::note:
            return notes != nullptr && std::find(notes->begin(), notes->end(), e.note_text) != notes->end();
        case effect::kind::isolate:
            return threat.network == s1::network_status::disconnected ||
                   threat.network == s1::network_status::disconnecting;
    }
    return false;
}

std::string encode_detail(const row_detail& d) {
    json::object o;
    o["console"] = d.console;
    o["scope"] = filter::to_json(d.scope);
    if (!d.note_text.empty()) o["text"] = d.note_text;
    auto out = json::serialize(o);
    return d.baseline ? with_baseline(out, *d.baseline) : out;
}

std::string with_baseline(std::string_view encoded, const mitigation_baseline& baseline) {
    json::object b;
    b["entries"] = baseline.entries;
    if (baseline.latest) b["latest"] = core::format_timestamp(*baseline.latest);
    std::string out(encoded.substr(0, encoded.size() - 1));  // the object, still open
    out += R"(,"baseline":)";
    out += json::serialize(b);
    out += '}';
    return out;
}

std::optional<row_detail> decode_detail(std::string_view text) {
    boost::system::error_code ec;
    const json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    row_detail d;
    if (const auto* console = o.if_contains("console"); console && console->is_string())
        d.console = std::string(console->get_string());
    else
        return std::nullopt;
    if (const auto* scope = o.if_contains("scope"); scope && scope->is_object()) {
        std::vector<core::diagnostic> problems;
        auto parsed = filter::from_json(scope->get_object(), problems);
        if (!parsed) return std::nullopt;
        d.scope = std::move(*parsed);
    }
    if (const auto* note = o.if_contains("text"); note && note->is_string())
        d.note_text = std::string(note->get_string());
    if (const auto* b = o.if_contains("baseline"); b && b->is_object()) {
        const auto* entries = b->get_object().if_contains("entries");
        if (entries == nullptr || !entries->is_number()) return std::nullopt;
        boost::system::error_code number_ec;
        const auto count = entries->to_number<std::size_t>(number_ec);
        if (number_ec) return std::nullopt;
        mitigation_baseline baseline{count, std::nullopt};
        if (const auto* latest = b->get_object().if_contains("latest"); latest && latest->is_string()) {
            baseline.latest = core::parse_timestamp(latest->get_string());
            if (!baseline.latest) return std::nullopt;
        }
        d.baseline = baseline;
    }
    return d;
}

reconcile_split split_by_effect(const effect& e, const std::vector<std::string>& threat_ids,
                                const std::vector<s1::threat_record>& threats,
                                const std::function<const std::vector<std::string>*(const std::string&)>& notes_of,
                                const baseline_map* baselines) {
    std::unordered_map<s1::object_id, const s1::threat_record*> by_id;
    for (const auto& t : threats) by_id.emplace(t.id, &t);
    reconcile_split out;
    for (const auto& id : threat_ids) {
        const auto parsed = s1::parse_object_id(id);
        const auto found = parsed ? by_id.find(*parsed) : by_id.end();
        if (found == by_id.end()) {
            out.unknown.push_back(id);
            continue;
        }
        const std::vector<std::string>* notes = nullptr;
        if (e.what == effect::kind::note) {
            notes = notes_of(id);
            if (notes == nullptr) {
                out.unknown.push_back(id);
                continue;
            }
        }
        const mitigation_baseline* baseline = nullptr;
        if (baselines != nullptr) {
            const auto b = baselines->find(id);
            if (b != baselines->end()) baseline = &b->second;
        }
        (effect_present(e, *found->second, notes, baseline) ? out.done : out.resend).push_back(id);
    }
    return out;
}

}  // namespace s1pilot::engine
