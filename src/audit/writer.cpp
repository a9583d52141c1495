#include "s1pilot/audit/writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "file_io.hpp"

namespace s1pilot::audit {
namespace {

constexpr std::array<std::string_view, 4> reserved_fields{"seq", "time", "prev", "hash"};

std::filesystem::path rotated(const std::filesystem::path& path, unsigned index) {
    return std::filesystem::path(path.string() + "." + std::to_string(index));
}

error invalid_log(const std::filesystem::path& path, std::string_view why) {
    return error{make_error_code(errc::invalid_log),
                 fmt::format("audit log {}: {}; run `s1pilot audit verify` on it, then move it aside to start a new "
                             "chain",
                             path.string(), why)};
}

// The chain position after `line`, the last record of `path`, checked against the configured key.
result<std::pair<std::uint64_t, std::string>> continue_after(const std::string& line, const std::filesystem::path& path,
                                                             const chain_hasher& hasher) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(line, ec);
    if (ec || !parsed.is_object()) return invalid_log(path, "its last record is not a JSON object");
    const auto& record = parsed.as_object();
    const auto seq = record_seq(record.if_contains("seq"));
    const auto* prev = record.if_contains("prev");
    auto sealed = split_line(line);
    if (!seq || prev == nullptr || !prev->is_string() || !sealed)
        return invalid_log(path, "its last record has no valid seq, prev and hash");
    if (hasher.hash(prev->as_string(), sealed->body) != sealed->hash)
        return invalid_log(path, hasher.keyed()
                                     ? "its last record does not match its hash under the configured hmac_key "
                                       "(the key changed, or the record was altered)"
                                     : "its last record does not match its hash (the log is keyed and no hmac_key "
                                       "is configured, or the record was altered)");
    return std::pair{*seq + 1, sealed->hash};
}

}  // namespace

writer::writer(writer_options options, const core::clock& clock)
    : options_(std::move(options)),
      clock_(&clock),
      hasher_(options_.hmac_key ? chain_hasher(*options_.hmac_key) : chain_hasher()) {}

writer::writer(writer&& other) noexcept
    : options_(std::move(other.options_)),
      clock_(other.clock_),
      hasher_(std::move(other.hasher_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      next_seq_(other.next_seq_),
      last_hash_(std::move(other.last_hash_)),
      truncated_bytes_(other.truncated_bytes_),
      failure_(std::move(other.failure_)) {}

writer& writer::operator=(writer&& other) noexcept {
    if (this == &other) return *this;
    if (fd_ >= 0) ::close(fd_);
    options_ = std::move(other.options_);
    clock_ = other.clock_;
    hasher_ = std::move(other.hasher_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    next_seq_ = other.next_seq_;
    last_hash_ = std::move(other.last_hash_);
    truncated_bytes_ = other.truncated_bytes_;
    failure_ = std::move(other.failure_);
    return *this;
}

writer::~writer() {
    if (fd_ >= 0) ::close(fd_);
}

result<writer> writer::open(writer_options options, const core::clock& clock) {
    if (options.path.empty()) return error{make_error_code(errc::invalid_options), "audit log: no path configured"};
    if (options.rotate_size > 0 && options.keep == 0)
        return error{make_error_code(errc::invalid_options),
                     fmt::format("audit log {}: rotation needs keep >= 1 (keep 0 would delete the log it rotates)",
                                 options.path.string())};
    if (options.hmac_key && options.hmac_key->empty())
        return error{make_error_code(errc::invalid_options),
                     fmt::format("audit log {}: the hmac_key is empty", options.path.string())};
    writer log(std::move(options), clock);
    std::error_code exists_error;
    bool created = !std::filesystem::exists(log.options_.path, exists_error);
    if (auto opened = log.open_current(created); !opened) return opened.error();

    auto tail = detail::read_tail(log.fd_, log.path(), true);
    if (!tail) return tail.error();
    log.size_ = tail->size;
    log.truncated_bytes_ = tail->truncated;
    std::optional<std::string> last_line = tail->last_line;
    std::filesystem::path last_file = log.path();
    if (!last_line) {
        // An empty log right after a rotation continues the chain of the rotated file.
        auto previous = rotated(log.path(), 1);
        int fd = ::open(previous.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            auto previous_tail = detail::read_tail(fd, previous, false);
            ::close(fd);
            if (!previous_tail) return previous_tail.error();
            last_line = previous_tail->last_line;
            last_file = previous;
        } else if (errno != ENOENT) {
            return error{make_error_code(errc::io_error), detail::errno_message("cannot open", previous, errno)};
        }
    }
    if (last_line) {
        auto position = continue_after(*last_line, last_file, log.hasher_);
        if (!position) return position.error();
        log.next_seq_ = position->first;
        log.last_hash_ = std::move(position->second);
    }
    return log;
}

result<void> writer::open_current(bool sync_directory) {
    fd_ = ::open(options_.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) return error{make_error_code(errc::io_error), detail::errno_message("cannot open", path(), errno)};
    if (sync_directory) return detail::sync_directory(path());
    return {};
}

error writer::fail(std::string message) {
    error failure{make_error_code(errc::io_error),
                  std::move(message) + "; the audit log refuses further records until it recovers"};
    failure_ = failure;
    return failure;
}

result<void> writer::rotate() {
    ::close(fd_);
    fd_ = -1;
    // Oldest first, so each rename overwrites a file already copied one step further (or dropped).
    for (unsigned index = options_.keep; index > 1; --index) {
        std::error_code ec;
        std::filesystem::rename(rotated(path(), index - 1), rotated(path(), index), ec);
        if (ec && ec != std::errc::no_such_file_or_directory)
            return fail(fmt::format("audit log {}: cannot rotate {}: {}", path().string(),
                                    rotated(path(), index - 1).string(), ec.message()));
    }
    std::error_code ec;
    std::filesystem::rename(path(), rotated(path(), 1), ec);
    if (ec) return fail(fmt::format("audit log {}: cannot rotate: {}", path().string(), ec.message()));
    if (auto synced = detail::sync_directory(path()); !synced) return fail(synced.error().message);
    if (auto opened = open_current(true); !opened) return fail(opened.error().message);
    size_ = 0;
    return {};
}

result<void> writer::recover() {
    if (!failure_) return {};
    auto reopened = open(options_, *clock_);
    if (!reopened) return reopened.error();
    *this = std::move(*reopened);
    return {};
}

result<appended> writer::append(const boost::json::object& fields) {
    return append(std::span<const boost::json::object>(&fields, 1));
}

std::string writer::line_for(const boost::json::object& fields, std::uint64_t seq, const std::string& prev,
                             std::string& hash) const {
    // The body is built as text so that the hashed bytes are exactly the bytes written.
    std::string body = fmt::format(R"({{"seq":{},"time":"{}")", seq, core::format_timestamp(clock_->now()));
    std::string rest = boost::json::serialize(fields);
    if (rest.size() > 2) body.append(",").append(rest, 1, rest.size() - 2);
    body.append(R"(,"prev":")").append(prev).append("\"}");
    hash = hasher_.hash(prev, body);
    std::string line = seal(body, hash);
    line += '\n';
    return line;
}

result<void> writer::commit(const std::string& lines, std::uint64_t seq, std::string hash) {
    if (lines.empty()) return {};
    if (auto written = detail::write_all(fd_, lines, path()); !written) return fail(written.error().message);
    if (::fdatasync(fd_) != 0) return fail(detail::errno_message("fdatasync failed", path(), errno));
    size_ += lines.size();
    next_seq_ = seq + 1;
    last_hash_ = std::move(hash);
    return {};
}

result<appended> writer::append(std::span<const boost::json::object> records) {
    if (failure_)
        return error{make_error_code(errc::closed),
                     fmt::format("audit log {} refuses appends after an earlier failure: {}", path().string(),
                                 failure_->message)};
    for (const auto& fields : records)
        for (auto name : reserved_fields)
            if (fields.contains(name))
                return error{make_error_code(errc::invalid_record),
                             fmt::format("audit record field \"{}\" is reserved for the writer", name)};

    std::string lines;
    std::uint64_t seq = next_seq_;
    std::string prev = last_hash_;
    appended out;
    for (const auto& fields : records) {
        std::string hash;
        std::string line = line_for(fields, seq, prev, hash);
        if (options_.rotate_size > 0 && size_ + lines.size() > 0 &&
            size_ + lines.size() + line.size() > options_.rotate_size) {
            // What precedes the rotation is durable in the old file before it is renamed.
            if (auto synced = commit(lines, seq - 1, prev); !synced) return synced.error();
            lines.clear();
            if (auto rotated_now = rotate(); !rotated_now) return rotated_now.error();
        }
        lines += line;
        out = {seq, hash};
        ++seq;
        prev = std::move(hash);
    }
    if (auto synced = commit(lines, seq - 1, prev); !synced) return synced.error();
    return out;
}

}  // namespace s1pilot::audit
