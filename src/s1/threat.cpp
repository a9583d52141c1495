// Object ids and the small queries on a threat_record that reconciliation asks.

#include "s1pilot/s1/threat.hpp"

#include <algorithm>
#include <charconv>

namespace s1pilot::s1 {

std::optional<object_id> parse_object_id(std::string_view text) noexcept {
    if (text.empty() || text.size() > 20) return std::nullopt;
    if (text.size() > 1 && text.front() == '0') return std::nullopt;  // would not survive a round trip
    object_id value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0) return std::nullopt;
    return value;
}

std::string to_string_id(object_id id) {
    return std::to_string(id);
}

bool threat_record::has_mitigation(mitigation_action action) const noexcept {
    return std::any_of(mitigations.begin(), mitigations.end(), [action](const mitigation_entry& e) {
        return e.action == action && e.status == mitigation_result::success;
    });
}

}  // namespace s1pilot::s1
