#include "s1pilot/audit/chain.hpp"

#include <boost/json/value.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace s1pilot::audit {
namespace {

constexpr std::string_view hash_suffix_start = R"(,"hash":")";
// `,"hash":"` + 64 hex + `"}`
constexpr std::size_t hash_suffix_size = hash_suffix_start.size() + 64 + 2;

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    return out;
}

}  // namespace

bool is_hash(std::string_view text) noexcept {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::optional<std::uint64_t> record_seq(const boost::json::value* field) noexcept {
    // Boost.JSON keeps integers above 2^63-1 as uint64: both kinds are read without a
    // conversion that could throw.
    if (field == nullptr) return std::nullopt;
    if (field->is_uint64()) {
        const auto seq = field->get_uint64();
        return seq >= 1 && seq < UINT64_MAX ? std::optional(seq) : std::nullopt;
    }
    if (field->is_int64() && field->get_int64() >= 1) return static_cast<std::uint64_t>(field->get_int64());
    return std::nullopt;
}

chain_hasher::~chain_hasher() {
    if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
}

std::string chain_hasher::hash(std::string_view prev, std::string_view body) const {
    std::string message;
    message.reserve(prev.size() + body.size());
    message.append(prev).append(body);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(message.data());
    bool ok = keyed_ ? HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), data, message.size(), digest,
                            &size) != nullptr
                     : EVP_Digest(data, message.size(), digest, &size, EVP_sha256(), nullptr) == 1;
    // SHA-256 in the default provider cannot fail short of memory exhaustion.
    if (!ok) throw std::runtime_error("OpenSSL could not compute SHA-256");
    return to_hex(digest, size);
}

std::optional<sealed_line> split_line(std::string_view line) {
    if (line.size() < hash_suffix_size + 1) return std::nullopt;
    auto suffix = line.substr(line.size() - hash_suffix_size);
    if (!suffix.starts_with(hash_suffix_start) || !suffix.ends_with("\"}")) return std::nullopt;
    auto hash = suffix.substr(hash_suffix_start.size(), 64);
    if (!is_hash(hash)) return std::nullopt;
    std::string body(line.substr(0, line.size() - hash_suffix_size));
    body += '}';
    return sealed_line{std::move(body), std::string(hash)};
}

std::string seal(std::string_view body, std::string_view hash) {
    std::string line(body.substr(0, body.empty() ? 0 : body.size() - 1));
    line.append(hash_suffix_start).append(hash).append("\"}");
    return line;
}

}  // namespace s1pilot::audit
