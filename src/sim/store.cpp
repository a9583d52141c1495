#include "store.hpp"

#include <algorithm>
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
             s.intern("success"),    s.intern("pending"),        s.intern("failed"),
             s.intern("partial"),    s.intern("connecting"),     s.intern("disconnecting")};
}

std::uint32_t threat_store::add(const threat_record& t) {
    by_created_at_.clear();
    by_id_order_.clear();
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

namespace {

template <typename Before>
const std::vector<std::uint32_t>& ordered(std::vector<std::uint32_t>& order, std::size_t size, Before before) {
    if (order.size() == size) return order;
    order.resize(size);
    for (std::uint32_t i = 0; i < size; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), before);  // generated threats come nearly in order: cheap
    return order;
}

}  // namespace

const std::vector<std::uint32_t>& threat_store::by_created_at() const {
    return ordered(by_created_at_, threats.size(), [this](std::uint32_t a, std::uint32_t b) {
        const threat_record &x = threats[a], &y = threats[b];
        return x.created_at != y.created_at ? x.created_at < y.created_at : x.id < y.id;
    });
}

const std::vector<std::uint32_t>& threat_store::by_id() const {
    return ordered(by_id_order_, threats.size(),
                   [this](std::uint32_t a, std::uint32_t b) { return threats[a].id < threats[b].id; });
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

std::uint32_t threat_store::append_mitigation(std::uint32_t threat, string_id action, string_id status, micros at,
                                              micros started_at) {
    auto index = static_cast<std::uint32_t>(mitigations.size());
    mitigations.push_back({at, started_at, action, status, 0});
    std::uint32_t* link = &threats[threat].first_mitigation;
    while (*link != 0) link = &mitigations[*link].next;
    *link = index;
    return index;
}

bool threat_store::has_mitigation(std::uint32_t threat, std::uint32_t entry) const {
    for (std::uint32_t i = threats[threat].first_mitigation; i != 0; i = mitigations[i].next)
        if (i == entry) return true;
    return false;
}

void threat_store::add_note(std::uint32_t threat, std::string text, micros at) {
    notes_[threat].push_back({next_object_id(), std::move(text), at});
    threats[threat].has_notes = true;
}

const std::vector<note_record>* threat_store::notes(std::uint32_t threat) const {
    auto it = notes_.find(threat);
    return it == notes_.end() ? nullptr : &it->second;
}

namespace {

// A boost::json tree takes a few times the bytes of its text; this only feeds the stats.
std::size_t rough_bytes(const boost::json::object& o) {
    std::size_t bytes = sizeof(boost::json::object) + o.size() * 64;
    for (const auto& member : o) {
        if (const auto* child = member.value().if_object()) bytes += rough_bytes(*child);
        if (const auto* s = member.value().if_string()) bytes += s->size();
        if (const auto* list = member.value().if_array()) bytes += list->size() * 96;
    }
    return bytes;
}

}  // namespace

void threat_store::keep_loaded(std::uint32_t threat, boost::json::object original) {
    auto& slot = loaded_[threat];
    loaded_bytes_ -= std::min(loaded_bytes_, rough_bytes(slot.original) + rough_bytes(slot.baseline));
    slot.original = std::move(original);
    slot.baseline = {};
    loaded_bytes_ += rough_bytes(slot.original);
}

void threat_store::set_loaded_baseline(std::uint32_t threat, boost::json::object baseline) {
    auto it = loaded_.find(threat);
    if (it == loaded_.end()) return;
    loaded_bytes_ -= std::min(loaded_bytes_, rough_bytes(it->second.baseline));
    it->second.baseline = std::move(baseline);
    loaded_bytes_ += rough_bytes(it->second.baseline);
}

const loaded_threat* threat_store::loaded(std::uint32_t threat) const {
    if (loaded_.empty()) return nullptr;  // a generated dataset: no lookup per written threat
    auto it = loaded_.find(threat);
    return it == loaded_.end() ? nullptr : &it->second;
}

std::size_t threat_store::memory_bytes() const {
    return loaded_bytes_ + strings.memory_bytes() + threats.capacity() * sizeof(threat_record) +
           agents.capacity() * sizeof(agent_record) + workloads.capacity() * sizeof(workload_record) +
           clouds.capacity() * sizeof(cloud_record) + mitigations.capacity() * sizeof(mitigation_record) +
           by_id_.size() * 32 + agent_by_id_.size() * 32 +
           (by_created_at_.capacity() + by_id_order_.capacity()) * sizeof(std::uint32_t);
}

micros_text format_micros(micros m) noexcept {
    // Days since the epoch to a civil date: H. Hinnant's days_from_civil, inverted.
    constexpr micros per_day = 86400LL * 1000000;
    micros days = m / per_day, rest = m % per_day;
    if (rest < 0) {
        rest += per_day;
        --days;
    }
    const micros z = days + 719468;
    const micros era = (z >= 0 ? z : z - 146096) / 146097;
    const micros doe = z - era * 146097;
    const micros yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const micros doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const micros mp = (5 * doy + 2) / 153;
    const micros day = doy - (153 * mp + 2) / 5 + 1;
    const micros month = mp < 10 ? mp + 3 : mp - 9;
    const micros year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    micros_text out{};
    char* p = out.data;
    auto digits = [&p](micros value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10) p[i] = static_cast<char>('0' + value % 10);
        p += width;
    };
    auto separator = [&p](char c) { *p++ = c; };
    if (year < 0 || year > 9999) {  // outside what the API writes: the general formatter's text
        auto text = s1pilot::core::format_timestamp(from_micros(m));
        out.size = std::min(text.size(), sizeof out.data);
        std::copy_n(text.data(), out.size, out.data);
        return out;
    }
    digits(year, 4), separator('-'), digits(month, 2), separator('-'), digits(day, 2), separator('T');
    digits(rest / 3600000000LL, 2), separator(':'), digits(rest / 60000000 % 60, 2), separator(':');
    digits(rest / 1000000 % 60, 2), separator('.'), digits(rest % 1000000, 6), separator('Z');
    out.size = static_cast<std::size_t>(p - out.data);
    return out;
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
