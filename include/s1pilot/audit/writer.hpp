#pragma once
// The audit log writer (DESIGN.md §6): one JSON line per event, chained by hashes, on disk
// (write + fdatasync) before `append` returns. It fails closed: after one failed append every
// later append is refused, so the engine, which sends nothing without a durable record, stops.
//
// Contract with callers: records carry decisions, never secrets. The writer writes the fields it
// is given verbatim, so the engine must not put tokens, keys or request headers in a record.

#include "s1pilot/audit/chain.hpp"
#include "s1pilot/audit/error.hpp"
#include "s1pilot/core/clock.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace s1pilot::audit {

struct writer_options {
    std::filesystem::path path{};  ///< e.g. /var/log/s1pilot/audit.jsonl
    /// Rotate before a record would take the file past this size; 0 never rotates.
    std::uint64_t rotate_size = 0;
    /// Rotated files kept: `<path>.1` (newest) … `<path>.<keep>`; older ones are deleted.
    unsigned keep = 20;
    /// When set, the chain uses HMAC-SHA-256 with these bytes instead of SHA-256.
    std::optional<std::string> hmac_key{};
};

/// What an append wrote.
struct appended {
    std::uint64_t seq = 0;
    std::string hash;
};

/// Not thread-safe: one writer per log, used from one thread (or strand) at a time.
class writer {
public:
    /// Opens (creating if needed) the log and continues its chain: `seq` and `prev` follow the last
    /// record of `path`, or of `<path>.1` when `path` is missing or empty (a crash right after a
    /// rotation). An unterminated last line — a write cut short by a crash, never acknowledged —
    /// is truncated away (see `truncated_bytes`). Refuses a log whose last record does not match
    /// its hash under the configured key: a changed `hmac_key` must start a new log.
    /// `clock` must outlive the writer.
    [[nodiscard]] static result<writer> open(writer_options options, const core::clock& clock);

    writer(writer&& other) noexcept;
    writer& operator=(writer&& other) noexcept;
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;
    ~writer();

    /// Writes `{"seq":…,"time":…,<fields in their order>,"prev":…,"hash":…}` and syncs it.
    /// `fields` must not contain `seq`, `time`, `prev` or `hash` (errc::invalid_record; nothing is
    /// written and the writer stays usable). Any I/O failure returns errc::io_error and closes the
    /// writer: every later call returns errc::closed.
    [[nodiscard]] result<appended> append(const boost::json::object& fields);
    /// Several records, in order, with one write and one sync (a rotation in between syncs what
    /// went before it first). What the last one wrote; nothing is written when any record has
    /// a reserved field.
    [[nodiscard]] result<appended> append(std::span<const boost::json::object> records);

    /// After a failure: opens the log again and continues its chain from what is on disk (a line
    /// cut short by the failure is dropped, as at open). Success clears failure(); on error the
    /// writer stays closed. A no-op when the writer has not failed.
    [[nodiscard]] result<void> recover();

    /// The failure that closed the writer, if any: what `/readyz` reports.
    const std::optional<error>& failure() const noexcept { return failure_; }
    std::uint64_t next_seq() const noexcept { return next_seq_; }
    const std::string& last_hash() const noexcept { return last_hash_; }
    /// Bytes of an unterminated last line removed at open (0 normally).
    std::uint64_t truncated_bytes() const noexcept { return truncated_bytes_; }
    const std::filesystem::path& path() const noexcept { return options_.path; }

private:
    writer(writer_options options, const core::clock& clock);
    result<void> rotate();
    /// The line for `fields` as record `seq` after `prev`; its hash in `hash`.
    std::string line_for(const boost::json::object& fields, std::uint64_t seq, const std::string& prev,
                         std::string& hash) const;
    /// Writes and syncs `lines` (records `next_seq_`.. `seq`), then makes them the chain's end.
    result<void> commit(const std::string& lines, std::uint64_t seq, std::string hash);
    result<void> open_current(bool sync_directory);
    error fail(std::string message);

    writer_options options_;
    const core::clock* clock_;
    chain_hasher hasher_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t next_seq_ = 1;
    std::string last_hash_{genesis_hash};
    std::uint64_t truncated_bytes_ = 0;
    std::optional<error> failure_;
};

}  // namespace s1pilot::audit
