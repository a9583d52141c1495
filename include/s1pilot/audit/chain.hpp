#pragma once
// The hash chain of the audit log, shared by the writer and the verifier. docs/audit.md states
// the same rules for anyone verifying a log with other tools.
//
// A record line is `{…,"prev":"<64 hex>","hash":"<64 hex>"}`. Its *body* is the line with the
// trailing `,"hash":"<64 hex>"` removed, i.e. `{…,"prev":"<64 hex>"}`, byte for byte as written.
// hash = lowercase hex of SHA-256(prev ‖ body), or of HMAC-SHA-256(key, prev ‖ body) when the
// log is keyed, where prev is the 64 ASCII hex characters of the previous record's hash (64 zeros
// for the first record of a log). Hashing the bytes as written, rather than a re-serialisation,
// means a verifier needs no canonical JSON form.

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace s1pilot::audit {

/// The `prev` of the very first record of a log.
inline constexpr std::string_view genesis_hash = "0000000000000000000000000000000000000000000000000000000000000000";

/// true for 64 lowercase hexadecimal characters.
bool is_hash(std::string_view text) noexcept;

/// A record's `seq` field (null when absent): an integer from 1 to 2^64-2 (so that the next one
/// exists), or nullopt. Never throws, whatever the file holds.
std::optional<std::uint64_t> record_seq(const boost::json::value* field) noexcept;

/// Computes record hashes; holds the HMAC key (wiped on destruction) when the log is keyed.
class chain_hasher {
public:
    /// Plain SHA-256.
    chain_hasher() = default;
    /// HMAC-SHA-256 with `key` (the raw bytes of the key file).
    explicit chain_hasher(std::string key) : key_(std::move(key)), keyed_(true) {}
    chain_hasher(const chain_hasher&) = default;
    chain_hasher& operator=(const chain_hasher&) = default;
    chain_hasher(chain_hasher&&) = default;
    chain_hasher& operator=(chain_hasher&&) = default;
    ~chain_hasher();

    bool keyed() const noexcept { return keyed_; }
    /// Lowercase hex of H(prev ‖ body).
    std::string hash(std::string_view prev, std::string_view body) const;

private:
    std::string key_;
    bool keyed_ = false;
};

/// A record line taken apart: the hashed body and the hash it carries.
struct sealed_line {
    std::string body;
    std::string hash;
};

/// Splits a line (without its newline) ending in `,"hash":"<64 hex>"}`; nullopt otherwise.
std::optional<sealed_line> split_line(std::string_view line);

/// Appends the hash to a body: `{…}` becomes `{…,"hash":"<hash>"}`.
std::string seal(std::string_view body, std::string_view hash);

}  // namespace s1pilot::audit
