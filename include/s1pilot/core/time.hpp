#pragma once
// Time points, durations and sizes as s1pilot writes them in configuration and on the wire.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace s1pilot::core {

/// A UTC instant with microsecond precision: the resolution of SentinelOne timestamps.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// Formats as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the only time format sent to the API.
std::string format_timestamp(timestamp t);

/// Parses RFC 3339 UTC times: `2018-02-27T04:49:26Z`, with 1–9 fraction digits, `Z` or
/// `+00:00`; a date alone (`2024-01-31`) means its midnight. Anything else gives nullopt.
std::optional<timestamp> parse_timestamp(std::string_view text);

/// Parses `250ms`, `30s`, `5m`, `24h`, `7d`, optionally signed (`-24h`). Units are required;
/// an integer count only. Overflow or garbage gives nullopt.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats a duration in the largest unit that divides it exactly (`90s`, `5m`, `-24h`).
std::string format_duration(std::chrono::milliseconds d);

/// Parses sizes `512B`, `512KiB`, `100MiB`, `1GiB` (also `KB`/`MB`/`GB` as powers of 1000).
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace s1pilot::core
