#include "faults.hpp"

#include "s1pilot/core/time.hpp"

#include <boost/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "json_writer.hpp"
#include "rate_limit.hpp"

namespace s1sim {
namespace {

bool parse_probability(std::string_view text, double& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out >= 0 && out <= 1;
}

bool parse_millis(std::string_view text, std::chrono::milliseconds& out) {
    auto d = s1pilot::core::parse_duration(text);
    if (!d || d->count() < 0) return false;
    out = *d;
    return true;
}

// `retry_after=`: `date+D` (an HTTP-date D ahead) or a header value sent as it is.
bool set_retry_after(fault_config& c, std::string_view value, std::string& error) {
    if (value.starts_with("date+")) {
        std::chrono::milliseconds ahead{};
        if (parse_millis(value.substr(5), ahead)) {
            c.retry_after = value;
            return true;
        }
        error = fmt::format("faults: retry_after=date+D needs a duration such as date+2s (got '{}')", value);
        return false;
    }
    // Anything else is sent as it is, so it must be a header value: printable, one line.
    const bool printable = std::all_of(value.begin(), value.end(), [](char ch) { return ch >= 0x20 && ch < 0x7f; });
    if (printable && value.size() <= 200) {
        c.retry_after = value;
        return true;
    }
    error = "faults: retry_after must be printable ASCII of at most 200 characters, or date+D";
    return false;
}

// `only=reads|writes|all`: which requests draw faults.
bool set_only(fault_config& c, std::string_view value, std::string& error) {
    if (value == "all" || value == "reads" || value == "writes") {
        c.only = value == "reads" ? fault_target::reads : value == "writes" ? fault_target::writes : fault_target::all;
        return true;
    }
    error = fmt::format("faults: only must be reads, writes or all (got '{}')", value);
    return false;
}

// Sets one item; false when the key is unknown or the value does not parse.
bool set_item(fault_config& c, std::string_view key, std::string_view value, std::string& error) {
    double* probability = key == "status500"           ? &c.status500
                          : key == "status502"         ? &c.status502
                          : key == "status503"         ? &c.status503
                          : key == "status429"         ? &c.status429
                          : key == "reset"             ? &c.reset
                          : key == "drop_after_apply"  ? &c.drop_after_apply
                          : key == "latency_p"         ? &c.latency_p
                          : key == "slow_body_p"       ? &c.slow_body_p
                          : key == "mitigation_failed" ? &c.mitigation_failed
                                                       : nullptr;
    if (probability != nullptr) {
        if (parse_probability(value, *probability)) return true;
        error = fmt::format("faults: {} must be a probability between 0 and 1 (got '{}')", key, value);
        return false;
    }
    std::chrono::milliseconds* duration = key == "latency" ? &c.latency : key == "slow_body" ? &c.slow_body : nullptr;
    if (duration != nullptr) {
        if (parse_millis(value, *duration)) return true;
        error = fmt::format("faults: {} must be a duration such as 5ms or 2s (got '{}')", key, value);
        return false;
    }
    std::size_t* size = key == "huge_body" ? &c.huge_body : key == "huge_header" ? &c.huge_header : nullptr;
    if (size != nullptr) {
        // The body's padding is streamed; the header field is held in memory, hence its lower cap.
        const bool body = size == &c.huge_body;
        const std::uint64_t cap = body ? std::uint64_t{4} << 30 : std::uint64_t{16} << 20;
        auto parsed = s1pilot::core::parse_size(value);
        if (parsed && *parsed <= cap) {
            *size = static_cast<std::size_t>(*parsed);
            return true;
        }
        error = fmt::format("faults: {} must be a size such as 16KiB or 100MiB, at most {} (got '{}')", key,
                            body ? "4GiB" : "16MiB", value);
        return false;
    }
    if (key == "retry_after") return set_retry_after(c, value, error);
    if (key == "only") return set_only(c, value, error);
    if (key == "slow_body_chunk" || key == "seed") {
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec == std::errc{} && end == value.data() + value.size() && (key == "seed" || n > 0)) {
            if (key == "seed")
                c.seed = n;
            else
                c.slow_body_chunk = static_cast<std::size_t>(n);
            return true;
        }
        error = fmt::format("faults: {} must be a positive integer (got '{}')", key, value);
        return false;
    }
    error = fmt::format(
        "faults: unknown fault '{}' (known: status500, status502, status503, status429, retry_after, only, reset, "
        "drop_after_apply, latency, latency_p, slow_body, slow_body_p, slow_body_chunk, mitigation_failed, huge_body, "
        "huge_header, seed)",
        key);
    return false;
}

}  // namespace

std::optional<fault_config> parse_faults(std::string_view spec, std::string& error) {
    fault_config c;
    while (!spec.empty()) {
        auto comma = spec.find(',');
        auto item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            error = fmt::format("faults: '{}' is not name=value", item);
            return std::nullopt;
        }
        if (!set_item(c, item.substr(0, eq), item.substr(eq + 1), error)) return std::nullopt;
    }
    return c;
}

std::optional<fault_config> faults_from_json(const boost::json::object& o, std::string& error) {
    fault_config c;
    for (const auto& [key, value] : o) {
        std::string text;
        if (value.is_string()) {
            text = value.get_string();
        } else if (value.is_number()) {
            double n = value.to_number<double>();
            const bool is_duration = key == "latency" || key == "slow_body";
            const bool is_size = key == "huge_body" || key == "huge_header";
            text = is_duration ? fmt::format("{}ms", static_cast<long long>(n))
                   : is_size   ? fmt::format("{}B", static_cast<long long>(n))
                               : fmt::format("{}", n);
        } else {
            error = fmt::format("faults: {} must be a number or a string", std::string_view(key));
            return std::nullopt;
        }
        if (!set_item(c, key, text, error)) return std::nullopt;
    }
    return c;
}

std::string faults_to_json(const fault_config& c) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("status500").raw(fmt::format("{}", c.status500));
    w.key("status502").raw(fmt::format("{}", c.status502));
    w.key("status503").raw(fmt::format("{}", c.status503));
    w.key("status429").raw(fmt::format("{}", c.status429));
    w.member("retry_after", c.retry_after);
    w.member("only", c.only == fault_target::reads ? "reads" : c.only == fault_target::writes ? "writes" : "all");
    w.key("reset").raw(fmt::format("{}", c.reset));
    w.key("drop_after_apply").raw(fmt::format("{}", c.drop_after_apply));
    w.member("latency", s1pilot::core::format_duration(c.latency));
    w.key("latency_p").raw(fmt::format("{}", c.latency_p));
    w.member("slow_body", s1pilot::core::format_duration(c.slow_body));
    w.key("slow_body_p").raw(fmt::format("{}", c.slow_body_p));
    w.member_number("slow_body_chunk", static_cast<std::int64_t>(c.slow_body_chunk));
    w.key("mitigation_failed").raw(fmt::format("{}", c.mitigation_failed));
    w.member_number("huge_body", static_cast<std::int64_t>(c.huge_body));
    w.member_number("huge_header", static_cast<std::int64_t>(c.huge_header));
    w.member_number("seed", static_cast<std::int64_t>(c.seed));
    w.end_object();
    return out;
}

std::string_view fault_plan::name() const noexcept {
    if (reset) return "reset";
    if (drop_after_apply) return "drop_after_apply";
    switch (status) {
        case 500: return "status500";
        case 502: return "status502";
        case 503: return "status503";
        case 429: return "status429";
        default: return {};
    }
}

std::optional<std::string> injected_retry_after(const fault_config& c, s1pilot::core::timestamp now,
                                                std::chrono::milliseconds& hold) {
    using namespace std::chrono;
    hold = milliseconds{0};
    if (c.retry_after.empty()) return std::nullopt;
    if (!c.retry_after.starts_with("date+")) return c.retry_after;
    const auto ahead = s1pilot::core::parse_duration(std::string_view(c.retry_after).substr(5)).value_or(seconds{0});
    const auto whole = ceil<seconds>(now);
    // Rounded down: the hold ends at the whole second or less than a millisecond before it, so a
    // client that honours the date waits at least `ahead` after the end of the hold.
    hold = floor<milliseconds>(whole - now);
    return http_date(whole + ahead);
}

bool draw_mitigation_failed(const fault_config& c, rng& r) {
    return c.mitigation_failed > 0 && r.chance(c.mitigation_failed);
}

fault_plan draw_faults(const fault_config& c, rng& r) {
    fault_plan plan;
    plan.pad_body_to = c.huge_body;
    plan.header_padding = c.huge_header;
    if (!c.any()) return plan;
    // One draw per kind, always in the same order, so a seed names one sequence of faults.
    const double reset = r.unit(), s500 = r.unit(), s502 = r.unit(), s503 = r.unit(), drop = r.unit(),
                 latency = r.unit(), slow = r.unit();
    const double s429 = c.status429 > 0 ? r.unit() : 1.0;
    if (reset < c.reset)
        plan.reset = true;
    else if (s500 < c.status500)
        plan.status = 500;
    else if (s502 < c.status502)
        plan.status = 502;
    else if (s503 < c.status503)
        plan.status = 503;
    else if (s429 < c.status429)
        plan.status = 429;
    else if (drop < c.drop_after_apply)
        plan.drop_after_apply = true;
    if (c.latency.count() > 0 && latency < c.latency_p) plan.delay = c.latency;
    if (c.slow_body.count() > 0 && slow < c.slow_body_p) {
        plan.slow_body_pause = c.slow_body;
        plan.slow_body_chunk = c.slow_body_chunk;
    }
    return plan;
}

}  // namespace s1sim
