// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date (IMF-fixdate; the obsolete
// RFC 850 and asctime forms are not accepted: consoles send neither, and garbage falls back to
// backoff anyway).
#include "s1pilot/policy/retry.hpp"

#include <array>
#include <charconv>
#include <string>

namespace s1pilot::policy {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<int> number(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<core::timestamp> parse_imf_fixdate(std::string_view s) {
    using namespace std::chrono;
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
        s[22] != ':' || s.substr(25) != " GMT")
        return std::nullopt;
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    unsigned month_index = 0;
    while (month_index < months.size() && months[month_index] != s.substr(8, 3)) ++month_index;
    auto d = number(s.substr(5, 2));
    auto y = number(s.substr(12, 4));
    auto h = number(s.substr(17, 2));
    auto mi = number(s.substr(20, 2));
    auto sec = number(s.substr(23, 2));
    if (month_index == months.size() || !d || !y || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 60)
        return std::nullopt;
    year_month_day ymd{year{*y}, month{month_index + 1}, day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    return time_point_cast<microseconds>(sys_days{ymd}) + hours{*h} + minutes{*mi} + seconds{*sec};
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view header, core::timestamp now) {
    using namespace std::chrono;
    header = trim(header);
    if (header.empty()) return std::nullopt;
    if (header.front() >= '0' && header.front() <= '9') {
        // Digits only; values beyond int range are absurd and treated as the cap by the caller,
        // so clamp rather than reject them.
        if (header.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
        if (header.size() > 9) return milliseconds{999'999'999'000LL};
        return duration_cast<milliseconds>(seconds{*number(header)});
    }
    auto when = parse_imf_fixdate(header);
    if (!when) return std::nullopt;
    if (*when <= now) return milliseconds{0};
    // Rounded up: a retry a fraction of a millisecond before the date would be early.
    return ceil<milliseconds>(*when - now);
}

}  // namespace s1pilot::policy
