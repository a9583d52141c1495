// A loaded threat is served as it was loaded, with the effects of actions laid over it.
//
// The store models the fields that filters select on and actions change; a recorded production
// page carries many more (and the console adds fields over time). Rather than model them all,
// the simulator keeps each loaded threat's JSON and compares its own rendering of the threat now
// with its rendering at load time: whatever differs was done since (a mitigation entry, a status,
// an agent disconnected) and is laid over the original; everything else is the original's. Only
// loaded threats pay for this: generated ones are written straight from the store.

#include <boost/json.hpp>

#include "threat_json.hpp"

namespace s1sim {
namespace {

namespace json = boost::json;

json::object modelled(const threat_store& store, std::uint32_t index) {
    std::string text;
    json_writer w(text);
    write_modelled_threat(w, store, index);
    return json::parse(text).as_object();
}

json::value overlay_objects(const json::object& original, const json::object& baseline, const json::object& current) {
    json::object out = original;
    for (const auto& [key, now] : current) {
        const json::value* before = baseline.if_contains(key);
        if (before != nullptr && *before == now) continue;  // unchanged: the loaded JSON's, or its absence
        const json::value* given = original.if_contains(key);
        // A field the loaded JSON lacked appears once an action sets it (a first mitigation entry).
        out[key] = given != nullptr && before != nullptr ? overlay_changes(*given, *before, now) : now;
    }
    for (const auto& [key, value] : baseline)
        if (!current.contains(key)) out.erase(key);
    return out;
}

}  // namespace

json::value overlay_changes(const json::value& original, const json::value& baseline, const json::value& current) {
    if (baseline == current) return original;
    if (original.is_object() && baseline.is_object() && current.is_object())
        return overlay_objects(original.get_object(), baseline.get_object(), current.get_object());
    // mitigationStatus[] grows by one entry per mitigation; the recorded entries keep their
    // unmodelled fields (reports, counters) unless the entry itself changed.
    if (original.is_array() && baseline.is_array() && current.is_array()) {
        const auto& given = original.get_array();
        const auto& before = baseline.get_array();
        const auto& now = current.get_array();
        if (given.size() == before.size() && now.size() >= before.size()) {
            json::array out;
            out.reserve(now.size());
            for (std::size_t i = 0; i < now.size(); ++i)
                out.push_back(i < before.size() ? overlay_changes(given[i], before[i], now[i]) : now[i]);
            return out;
        }
    }
    return current;
}

void settle_loaded_threat(threat_store& store, std::uint32_t index) {
    if (store.loaded(index) != nullptr) store.set_loaded_baseline(index, modelled(store, index));
}

void write_threat(json_writer& out, const threat_store& store, std::uint32_t index) {
    const loaded_threat* loaded = store.loaded(index);
    if (loaded == nullptr || loaded->baseline.empty()) {
        write_modelled_threat(out, store, index);
        return;
    }
    out.raw(json::serialize(overlay_objects(loaded->original, loaded->baseline, modelled(store, index))));
}

}  // namespace s1sim
