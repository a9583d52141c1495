#include "s1pilot/core/clock.hpp"
#include "s1pilot/core/diagnostic.hpp"
#include "s1pilot/core/error.hpp"
#include "s1pilot/core/time.hpp"

#include <gtest/gtest.h>

using namespace s1pilot::core;
using namespace std::chrono_literals;

TEST(Timestamp, FormatsWithMicrosecondsAndZ) {
    auto t = parse_timestamp("2018-02-27T04:49:26.257525Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_timestamp(*t), "2018-02-27T04:49:26.257525Z");
}

TEST(Timestamp, AcceptsShortFormsAndNormalises) {
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-01-31")), "2024-01-31T00:00:00.000000Z");
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-01-31T10:00:00Z")), "2024-01-31T10:00:00.000000Z");
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-01-31T10:00:00.5+00:00")), "2024-01-31T10:00:00.500000Z");
    EXPECT_EQ(format_timestamp(*parse_timestamp("2024-01-31T10:00:00.123456789Z")), "2024-01-31T10:00:00.123456Z");
}

TEST(Timestamp, RejectsGarbage) {
    for (auto bad : {"", "2024", "2024-13-01", "2024-02-30", "2024-01-31T25:00:00Z", "2024-01-31T10:00:00",
                     "2024-01-31T10:00:00+02:00", "2024-01-31T10:00:00.Z", "1700000000", "2024-01-31T10:00:00Zjunk"})
        EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

TEST(Duration, ParsesEveryUnitAndSign) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("30s"), 30s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("24h"), 24h);
    EXPECT_EQ(parse_duration("7d"), 168h);
    EXPECT_EQ(parse_duration("-24h"), -24h);
    for (auto bad : {"", "10", "s", "1.5s", "10 s", "10sec", "-", "99999999999999999999d", "1y"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(Duration, FormatsInLargestExactUnit) {
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(5min), "5m");
    EXPECT_EQ(format_duration(-24h), "-1d");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
}

TEST(Size, ParsesBinaryAndDecimalUnits) {
    EXPECT_EQ(parse_size("512KiB"), 512u * 1024);
    EXPECT_EQ(parse_size("100MiB"), 100u * 1024 * 1024);
    EXPECT_EQ(parse_size("1GB"), 1000000000u);
    EXPECT_EQ(parse_size("12B"), 12u);
    for (auto bad : {"", "100", "MiB", "-1MiB", "1.5MiB", "100mib", "99999999999999999999TiB"})
        EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(ManualClock, MovesOnlyWhenTold) {
    manual_clock c{*parse_timestamp("2026-01-01T00:00:00Z")};
    auto s = c.steady_now();
    c.advance(1500ms);
    EXPECT_EQ(format_timestamp(c.now()), "2026-01-01T00:00:01.500000Z");
    EXPECT_EQ(c.steady_now() - s, 1500ms);
}

TEST(Diagnostic, FormatsLikeACompiler) {
    EXPECT_EQ(to_string({severity::error, "a.yaml", 3, 5, "boom"}), "a.yaml:3:5: boom");
    EXPECT_EQ(to_string({severity::warning, "a.yaml", 3, 0, "hmm"}), "a.yaml:3: warning: hmm");
    EXPECT_EQ(to_string({severity::error, "", 0, 0, "plain"}), "plain");
    EXPECT_TRUE(has_errors({{severity::warning, "", 0, 0, "w"}, {severity::error, "", 0, 0, "e"}}));
    EXPECT_FALSE(has_errors({{severity::warning, "", 0, 0, "w"}}));
}

TEST(ErrorCode, HasReadableMessages) {
    boost::system::error_code ec = errc::empty_filter;
    EXPECT_EQ(std::string(ec.category().name()), "s1pilot");
    EXPECT_NE(ec.message().find("empty filter"), std::string::npos);
}
