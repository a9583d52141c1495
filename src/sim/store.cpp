#include "store.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace s1sim {

std::string_view engine_title(std::string_view key) noexcept {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 18> titles{{
        {"reputation", "Reputation"},
        {"sentinelone_cloud", "SentinelOne Cloud"},
        {"cloud_detection", "Cloud Detection"},
        {"user_blacklist", "User Blacklist"},
        {"pre_execution", "On-Write Static AI"},
        {"pre_execution_suspicious", "On-Write Static AI - Suspicious"},
        {"executables", "Behavioral AI"},
        {"data_files", "Documents, Scripts"},
        {"exploits", "Anti Exploitation / Fileless"},
        {"penetration", "Penetration"},
        {"pup", "Potentially Unwanted Applications"},
        {"lateral_movement", "Lateral Movement"},
        {"remote_shell", "Remote Shell"},
        {"manual", "Manual"},
        {"application_control", "Application Control"},
        {"threat_intelligence", "Threat Intelligence"},
        {"watchtower_cloud_detection", "WatchTower Cloud Detection"},
        {"driver_blocking", "Driver Blocking"},
    }};
    for (auto& [k, title] : titles)
        if (k == key) return title;
    return key;
}

threat_store::threat_store() {
    auto& s = strings;
    known = {s.intern("mitigated"),  s.intern("not_mitigated"),  s.intern("marked_as_benign"),
             s.intern("unresolved"), s.intern("in_progress"),    s.intern("resolved"),
             s.intern("windows"),    s.intern("windows_legacy"), s.intern("macos"),
             s.intern("linux"),      s.intern("connected"),      s.intern("disconnected"),
             s.intern("success")};
}

std::uint32_t threat_store::add(const threat_record& t) {
    if (auto it = by_id_.find(t.id); it != by_id_.end()) {
        threats[it->second] = t;
        return it->second;
    }
    auto index = static_cast<std::uint32_t>(threats.size());
    threats.push_back(t);
    by_id_.emplace(t.id, index);
    return index;
}

const std::uint32_t* threat_store::find(std::uint64_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &it->second;
}

std::uint32_t threat_store::agent_index(std::uint64_t agent_id) {
    if (auto it = agent_by_id_.find(agent_id); it != agent_by_id_.end()) return it->second;
    auto index = static_cast<std::uint32_t>(agents.size());
    agents.emplace_back().agent_id = agent_id;
    agent_by_id_.emplace(agent_id, index);
    return index;
}

const std::uint32_t* threat_store::find_agent(std::uint64_t agent_id) const {
    auto it = agent_by_id_.find(agent_id);
    return it == agent_by_id_.end() ? nullptr : &it->second;
}

void threat_store::append_mitigation(std::uint32_t threat, string_id action, string_id status, micros at) {
    auto index = static_cast<std::uint32_t>(mitigations.size());
    mitigations.push_back({at, action, status, 0});
    std::uint32_t* link = &threats[threat].first_mitigation;
    while (*link != 0) link = &mitigations[*link].next;
    *link = index;
}

void threat_store::add_note(std::uint32_t threat, std::string text, micros at) {
    notes_[threat].push_back({next_object_id(), std::move(text), at});
    threats[threat].has_notes = true;
}

const std::vector<note_record>* threat_store::notes(std::uint32_t threat) const {
    auto it = notes_.find(threat);
    return it == notes_.end() ? nullptr : &it->second;
}

std::size_t threat_store::memory_bytes() const {
    return strings.memory_bytes() + threats.capacity() * sizeof(threat_record) +
           agents.capacity() * sizeof(agent_record) + workloads.capacity() * sizeof(workload_record) +
           clouds.capacity() * sizeof(cloud_record) + mitigations.capacity() * sizeof(mitigation_record) +
           by_id_.size() * 32 + agent_by_id_.size() * 32;
}

std::string id_text(std::uint64_t id) {
    std::array<char, 24> buffer{};
    auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), id);
    return std::string(buffer.data(), end);
}

bool parse_id(std::string_view text, std::uint64_t& out) noexcept {
    if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace s1sim
