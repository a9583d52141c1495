#include "rate_limit.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace s1sim {

std::optional<std::chrono::microseconds> token_bucket::take(time_point now) {
    if (unlimited()) return std::nullopt;
    if (last_) {
        double elapsed = std::chrono::duration<double>(now - *last_).count();
        tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * rate_);
    }
    last_ = now;
    if (tokens_ >= 1) {
        tokens_ -= 1;
        return std::nullopt;
    }
    auto wait = std::chrono::duration<double>((1 - tokens_) / rate_);
    return std::chrono::ceil<std::chrono::microseconds>(wait);
}

namespace {

bool parse_number(std::string_view text, double& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out > 0;
}

}  // namespace

std::optional<rate_limit_config> parse_rate_limits(std::string_view spec, std::string& error) {
    rate_limit_config c;
    while (!spec.empty()) {
        auto comma = spec.find(',');
        auto item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        auto name = item.substr(0, eq);
        auto value = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
        if (name == "retry_after") {
            if (value != "date" && value != "seconds") {
                error = fmt::format("rate-limit: retry_after must be 'seconds' or 'date' (got '{}')", value);
                return std::nullopt;
            }
            c.retry_after_http_date = value == "date";
            continue;
        }
        if (name != "read" && name != "write") {
            error = fmt::format("rate-limit: unknown class '{}' (use read=R/s, write=W/s)", name);
            return std::nullopt;
        }
        auto colon = value.find(':');
        auto rate_text = value.substr(0, colon);
        if (rate_text.ends_with("/s")) rate_text.remove_suffix(2);
        double rate = 0, burst = 0;
        if (!parse_number(rate_text, rate)) {
            error = fmt::format("rate-limit: {} needs a positive rate such as 10/s (got '{}')", name, value);
            return std::nullopt;
        }
        burst = std::max(1.0, std::floor(rate));
        if (colon != std::string_view::npos) {
            auto option = value.substr(colon + 1);
            if (!option.starts_with("burst=") || !parse_number(option.substr(6), burst)) {
                error = fmt::format("rate-limit: {}: expected ':burst=N' (got '{}')", name, option);
                return std::nullopt;
            }
        }
        (name == "read" ? c.read_rate : c.write_rate) = rate;
        (name == "read" ? c.read_burst : c.write_burst) = burst;
    }
    return c;
}

rate_limiter::rate_limiter(const rate_limit_config& c)
    : config_(c), read_(c.read_rate, c.read_burst), write_(c.write_rate, c.write_burst) {}

std::optional<std::chrono::microseconds> rate_limiter::admit(bool write, token_bucket::time_point now) {
    return (write ? write_ : read_).take(now);
}

std::string retry_after_seconds(std::chrono::microseconds wait) {
    auto seconds = std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
    return std::to_string(seconds);
}

std::string http_date(s1pilot::core::timestamp t) {
    return fmt::format("{:%a, %d %b %Y %H:%M:%S} GMT", std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace s1sim
