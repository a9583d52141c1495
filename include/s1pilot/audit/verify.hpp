#pragma once
// Verifying audit logs (`s1pilot audit verify FILE…`): JSON validity, contiguous `seq` across
// files, the hash chain, and the HMAC when a key is given. The first bad record is named as
// `file:line: message`, e.g. `audit.jsonl:17: seq 17: hash mismatch (record altered)`.

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace s1pilot::audit {

/// The first problem found, located in its file.
struct verify_problem {
    std::string file;
    std::uint64_t line = 0;  ///< 1-based; 0 when the file itself could not be read
    std::string message;     ///< e.g. `seq 17: hash mismatch (record altered)`

    /// `file:line: message` (`file: message` when line is 0).
    std::string to_string() const;
};

struct verify_report {
    std::uint64_t records = 0;  ///< records that verified before the problem (or all of them)
    std::optional<std::uint64_t> first_seq;
    std::optional<std::uint64_t> last_seq;
    std::string last_hash;  ///< of the last record that verified
    std::optional<verify_problem> problem;
    bool stopped = false;  ///< the visitor asked to stop before the end (no problem found so far)

    bool ok() const noexcept { return !problem; }
};

/// Where a record sits: its file and 1-based line.
struct record_location {
    const std::filesystem::path& file;
    std::uint64_t line;
};

/// Called once per record after it has verified, in chain order. Returns false to stop reading.
using record_visitor = std::function<bool(const boost::json::object& record, const record_location& where)>;

/// Verifies `files` as one chain, in the order given (oldest first). The chain may start after
/// seq 1 (older files rotated away); a chain that starts at seq 1 must start from 64 zeros.
/// Without `hmac_key` the hashes are checked as SHA-256, with it as HMAC-SHA-256.
/// Removing records from the end of the newest file cannot be detected from the files alone.
verify_report verify(const std::vector<std::filesystem::path>& files,
                     const std::optional<std::string>& hmac_key = std::nullopt);

/// verify(), handing each record to `visit` as soon as it has verified: a record is never seen
/// before its hash and its link to the previous record are checked, and nothing after the first
/// bad record is seen at all. Reads one line at a time, so memory does not grow with the log.
verify_report verify(const std::vector<std::filesystem::path>& files, const std::optional<std::string>& hmac_key,
                     const record_visitor& visit);

/// Orders rotated logs oldest first: `audit.jsonl.3 audit.jsonl.2 audit.jsonl.1 audit.jsonl`,
/// whatever order a shell glob gave them in. Names without a numeric suffix keep their order
/// relative to each other, after the numbered ones.
std::vector<std::filesystem::path> oldest_first(std::vector<std::filesystem::path> files);

/// `s1pilot audit verify FILE…`: orders the files (oldest_first), verifies, prints a one-line
/// summary to `out` or the first problem to `err`. Returns the exit code: 0 when the chain
/// verifies, 1 when it does not, 2 when no file is given.
int verify_command(const std::vector<std::string>& files, std::ostream& out, std::ostream& err,
                   const std::optional<std::string>& hmac_key = std::nullopt);

}  // namespace s1pilot::audit
