#pragma once
// Helpers for the audit tests: reading and rewriting log files line by line, and an independent
// SHA-256 (straight from OpenSSL, not through chain_hasher) to check the documented chain rule.

#include "s1pilot/audit/writer.hpp"
#include "s1pilot/core/clock.hpp"

#include <boost/json.hpp>

#include <openssl/evp.h>

#include <fstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace s1pilot::test {

inline core::timestamp audit_start() {
    return *core::parse_timestamp("2026-11-21T09:14:03.120394Z");
}

inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

inline void write_lines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& line : lines) out << line << '\n';
}

inline std::string sha256_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
    std::string out;
    static constexpr char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < size; ++i) {
        out += digits[digest[i] >> 4];
        out += digits[digest[i] & 0xf];
    }
    return out;
}

/// A record as the engine would build it.
inline boost::json::object action_result(int i) {
    return boost::json::object{{"event", "action.result"},
                               {"run", "r-000123"},
                               {"playbook", "contain-ransomware"},
                               {"action", "mitigate:kill"},
                               {"threat_ids", boost::json::array{std::to_string(1000 + i), std::to_string(2000 + i)}},
                               {"outcome", "success"},
                               {"http_status", 200},
                               {"affected", 2}};
}

/// Writes `count` records to `path` with a clock ticking 1 ms per record.
inline void write_records(const audit::writer_options& options, int count, core::manual_clock& clock) {
    auto log = audit::writer::open(options, clock).value();
    for (int i = 0; i < count; ++i) {
        clock.advance(std::chrono::milliseconds{1});
        log.append(action_result(i)).value();
    }
}

}  // namespace s1pilot::test
