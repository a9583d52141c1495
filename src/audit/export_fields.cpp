#include "export_fields.hpp"

#include "s1pilot/audit/export.hpp"
#include "s1pilot/core/time.hpp"

#include <algorithm>
#include <limits>

namespace s1pilot::audit {
namespace detail {

std::optional<std::string_view> text_of(const boost::json::object& record, std::string_view key) {
    const auto* value = record.if_contains(key);
    if (value == nullptr || !value->is_string() || value->as_string().empty()) return std::nullopt;
    return std::string_view(value->as_string());
}

std::optional<std::int64_t> integer_of(const boost::json::object& record, std::string_view key) {
    const auto* value = record.if_contains(key);
    if (value == nullptr) return std::nullopt;
    if (value->is_int64()) return value->as_int64();
    // A uint64 above INT64_MAX cannot come from the engine; it is left to `unmapped` alone.
    if (value->is_uint64() &&
        value->as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(value->as_uint64());
    return std::nullopt;
}

const boost::json::array* array_of(const boost::json::object& record, std::string_view key) {
    const auto* value = record.if_contains(key);
    return value != nullptr && value->is_array() ? &value->as_array() : nullptr;
}

boost::json::object remaining_fields(const boost::json::object& record,
                                     std::initializer_list<std::string_view> mapped) {
    boost::json::object rest;
    for (const auto& field : record)
        if (std::find(mapped.begin(), mapped.end(), field.key()) == mapped.end()) rest[field.key()] = field.value();
    return rest;
}

std::optional<std::int64_t> epoch_milliseconds(std::string_view time) {
    auto parsed = core::parse_timestamp(time);
    if (!parsed) return std::nullopt;
    return std::chrono::floor<std::chrono::milliseconds>(*parsed).time_since_epoch().count();
}

outcome_kind outcome_of(const boost::json::object& record) {
    auto outcome = text_of(record, "outcome");
    if (!outcome) return outcome_kind::none;
    if (*outcome == "success") return outcome_kind::success;
    if (*outcome == "failure") return outcome_kind::failure;
    if (*outcome == "unknown") return outcome_kind::unknown;
    return outcome_kind::other;  // skipped, dry_run: nothing was sent, so neither success nor failure
}

int severity_of(const boost::json::object& record) {
    const auto outcome = outcome_of(record);
    // A held playbook acted on nothing and waits for a person to raise max_threats or act.
    if (outcome == outcome_kind::failure || outcome == outcome_kind::unknown || text_of(record, "event") == "run.held")
        return 3;
    return 1;
}

}  // namespace detail

std::optional<export_format> parse_export_format(std::string_view name) noexcept {
    if (name == "ocsf") return export_format::ocsf;
    if (name == "ecs") return export_format::ecs;
    return std::nullopt;
}

boost::json::object to_format(export_format format, const boost::json::object& record, const export_context& context) {
    return format == export_format::ocsf ? to_ocsf(record, context) : to_ecs(record, context);
}

}  // namespace s1pilot::audit
