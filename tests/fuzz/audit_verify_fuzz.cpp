// audit::verify on an arbitrary log: what `s1pilot audit verify` and the export read. The input is
// handed over as a file (a memfd, through /proc/self/fd) because the verifier reads files, one line
// at a time. Invariants, checked with OpenSSL directly rather than the chain code under test: no
// record is accepted whose hash is not SHA-256(prev ‖ body) of its own bytes, accepted records
// have contiguous seq and each names the previous one's hash; a problem names a line of the file.

#include "s1pilot/audit/verify.hpp"

#include <openssl/evp.h>

#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "fuzz_check.hpp"

namespace {

std::string sha256_hex(std::string_view a, std::string_view b) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
    EVP_DigestUpdate(context, a.data(), a.size());
    EVP_DigestUpdate(context, b.data(), b.size());
    EVP_DigestFinal_ex(context, digest, &length);
    EVP_MD_CTX_free(context);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace s1pilot;
    const std::string_view text = fuzz::text_of(data, size);
    const int fd = memfd_create("audit.jsonl", MFD_CLOEXEC);
    S1PILOT_FUZZ_CHECK(fd >= 0, "memfd_create failed");
    for (std::size_t written = 0; written < size;) {
        const auto n = ::write(fd, data + written, size - written);
        S1PILOT_FUZZ_CHECK(n > 0, "write to the memfd failed");
        written += static_cast<std::size_t>(n);
    }
    std::vector<std::string_view> lines;
    for (std::string_view rest = text; !rest.empty();) {
        const auto end = rest.find('\n');
        lines.push_back(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }

    constexpr std::string_view hash_key = R"(,"hash":")";
    constexpr std::size_t tail = hash_key.size() + 64 + 2;  // ,"hash":"<64 hex>"}
    std::uint64_t visited = 0;
    std::optional<std::uint64_t> last_seq;
    std::string last_hash;
    const auto report = audit::verify(
        {"/proc/self/fd/" + std::to_string(fd)}, std::nullopt,
        [&](const boost::json::object& record, const audit::record_location& where) {
            S1PILOT_FUZZ_CHECK(where.line >= 1 && where.line <= lines.size(), "a record on a line that is not there");
            const std::string_view line = lines[where.line - 1];
            S1PILOT_FUZZ_CHECK(line.size() > tail && line.substr(line.size() - tail, hash_key.size()) == hash_key &&
                                   line.back() == '}',
                               "a record accepted without a trailing hash");
            const std::string body = std::string(line.substr(0, line.size() - tail)) + "}";
            const std::string_view hash = line.substr(line.size() - tail + hash_key.size(), 64);
            const auto* prev = record.if_contains("prev");
            S1PILOT_FUZZ_CHECK(prev != nullptr && prev->is_string(), "a record accepted without prev");
            S1PILOT_FUZZ_CHECK(sha256_hex(prev->get_string(), body) == hash,
                               "a record accepted whose hash does not match");
            const auto seq = record.at("seq").to_number<std::uint64_t>();
            if (last_seq) {
                S1PILOT_FUZZ_CHECK(seq == *last_seq + 1, "accepted records with a seq gap");
                S1PILOT_FUZZ_CHECK(prev->get_string() == last_hash,
                                   "a record accepted that does not name its predecessor");
            }
            last_seq = seq;
            last_hash = hash;
            ++visited;
            return true;
        });
    ::close(fd);

    S1PILOT_FUZZ_CHECK(report.records == visited, "records counted that were never handed over");
    if (report.problem) {
        S1PILOT_FUZZ_CHECK(report.problem->line >= 1 && report.problem->line <= lines.size() + 1,
                           "a problem on a line that is not there");
        S1PILOT_FUZZ_CHECK(!report.problem->message.empty(), "a problem without a message");
    } else if (visited > 0) {
        S1PILOT_FUZZ_CHECK(report.last_hash == last_hash, "the report's last hash is not the last record's");
    }
    return 0;
}
