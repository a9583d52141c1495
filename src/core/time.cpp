#include "s1pilot/core/time.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace s1pilot::core {
namespace {

// Reads exactly `width` digits at `pos`; advances pos.
std::optional<int> read_digits(std::string_view text, std::size_t& pos, std::size_t width) {
    if (pos + width > text.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        char c = text[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    pos += width;
    return v;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos < text.size() && text[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

}  // namespace

std::string format_timestamp(timestamp t) {
    using namespace std::chrono;
    auto day = floor<days>(t);
    year_month_day ymd{day};
    auto since_midnight = t - day;
    auto h = duration_cast<hours>(since_midnight);
    auto m = duration_cast<minutes>(since_midnight - h);
    auto s = duration_cast<seconds>(since_midnight - h - m);
    auto us = (since_midnight - h - m - s).count();
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), h.count(), m.count(),
                       s.count(), us);
}

std::optional<timestamp> parse_timestamp(std::string_view text) {
    using namespace std::chrono;
    std::size_t pos = 0;
    auto y = read_digits(text, pos, 4);
    if (!y || !expect(text, pos, '-')) return std::nullopt;
    auto mo = read_digits(text, pos, 2);
    if (!mo || !expect(text, pos, '-')) return std::nullopt;
    auto d = read_digits(text, pos, 2);
    if (!d) return std::nullopt;
    year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    timestamp result = time_point_cast<microseconds>(sys_days{ymd});
    if (pos == text.size()) return result;
    if (!expect(text, pos, 'T') && !expect(text, pos, 't')) return std::nullopt;
    auto h = read_digits(text, pos, 2);
    if (!h || *h > 23 || !expect(text, pos, ':')) return std::nullopt;
    auto mi = read_digits(text, pos, 2);
    if (!mi || *mi > 59 || !expect(text, pos, ':')) return std::nullopt;
    auto s = read_digits(text, pos, 2);
    if (!s || *s > 60) return std::nullopt;  // a leap second reads as the next one
    result += hours{*h} + minutes{*mi} + seconds{*s};
    if (expect(text, pos, '.')) {
        std::int64_t micros = 0;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) micros = micros * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0 || digits > 9) return std::nullopt;
        for (std::size_t i = digits; i < 6; ++i) micros *= 10;
        result += microseconds{micros};
    }
    if (expect(text, pos, 'Z') || expect(text, pos, 'z'))
        return pos == text.size() ? std::optional{result} : std::nullopt;
    if (text.substr(pos) == "+00:00") return result;
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    bool negative = false;
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        negative = text.front() == '-';
        text.remove_prefix(1);
    }
    std::int64_t count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc{} || end == text.data() || count < 0) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> units{
        {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
    for (auto [name, factor] : units) {
        if (unit != name) continue;
        if (count > std::numeric_limits<std::int64_t>::max() / factor / 1000) return std::nullopt;
        auto ms = std::chrono::milliseconds{count * factor};
        return negative ? -ms : ms;
    }
    return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    std::string_view sign = ms < 0 ? "-" : "";
    auto magnitude = ms < 0 ? -ms : ms;
    static constexpr std::array<std::pair<std::string_view, std::int64_t>, 4> units{
        {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}}};
    for (auto [name, factor] : units)
        if (magnitude != 0 && magnitude % factor == 0) return fmt::format("{}{}{}", sign, magnitude / factor, name);
    return fmt::format("{}{}ms", sign, magnitude);
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    std::uint64_t count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> units{{{"B", 1},
                                                                                      {"KiB", 1ull << 10},
                                                                                      {"MiB", 1ull << 20},
                                                                                      {"GiB", 1ull << 30},
                                                                                      {"KB", 1000},
                                                                                      {"MB", 1000'000},
                                                                                      {"GB", 1000'000'000},
                                                                                      {"TiB", 1ull << 40}}};
    for (auto [name, factor] : units) {
        if (unit != name) continue;
        if (count > std::numeric_limits<std::uint64_t>::max() / factor) return std::nullopt;
        return count * factor;
    }
    return std::nullopt;
}

}  // namespace s1pilot::core
