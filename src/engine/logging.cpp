// spdlog set up for a daemon whose stderr goes to journald or a container log.

#include "s1pilot/engine/logging.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace s1pilot::engine {
namespace {

std::atomic<config::log_format> current_format{config::log_format::text};

spdlog::level::level_enum to_spdlog(config::log_level level) {
    switch (level) {
        case config::log_level::trace: return spdlog::level::trace;
        case config::log_level::debug: return spdlog::level::debug;
        case config::log_level::info: return spdlog::level::info;
        case config::log_level::warn: return spdlog::level::warn;
        case config::log_level::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

std::string json_quoted(std::string_view text) {
    return boost::json::serialize(boost::json::string(text));
}

}  // namespace

void setup_logging(const config::log_config& settings, bool terminal) {
    const auto format = terminal ? config::log_format::text : settings.format;
    current_format = format;
    auto logger = std::make_shared<spdlog::logger>("s1pilot", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    if (format == config::log_format::json) {
        // spdlog's level names (`warning`, `error`) are those of most log shippers.
        logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
    } else {
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(to_spdlog(settings.level));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

std::string format_log_body(config::log_format format, std::string_view message, const log_fields& fields) {
    std::string out;
    if (format == config::log_format::json) {
        out = "\"msg\":" + json_quoted(message);
        for (const auto& [key, value] : fields) out += "," + json_quoted(key) + ":" + json_quoted(value);
        return out;
    }
    out = std::string(message);
    for (const auto& [key, value] : fields) {
        out += " " + std::string(key) + "=";
        out += value.find_first_of(" \"=") == std::string::npos && !value.empty() ? value : json_quoted(value);
    }
    return out;
}

void log(config::log_level level, std::string_view message, const log_fields& fields) {
    const auto spd = to_spdlog(level);
    if (!spdlog::default_logger_raw()->should_log(spd)) return;
    spdlog::default_logger_raw()->log(spd, "{}", format_log_body(current_format.load(), message, fields));
}

void flush_logs() {
    spdlog::default_logger_raw()->flush();
}

}  // namespace s1pilot::engine
