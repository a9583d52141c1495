#include "s1pilot/audit/verify.hpp"

#include "s1pilot/audit/chain.hpp"

#include <boost/json/parse.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace s1pilot::audit {
namespace {

// Walks the records of every file in order, remembering where the chain stands.
class chain_walker {
public:
    explicit chain_walker(const std::optional<std::string>& key) : hasher_(key ? chain_hasher(*key) : chain_hasher()) {}

    // The problem with this record, or nullopt when it continues the chain (then `parsed` holds it).
    std::optional<std::string> check(const std::string& line, boost::json::value& parsed) {
        boost::system::error_code ec;
        parsed = boost::json::parse(line, ec);
        if (ec) return fmt::format("not valid JSON ({})", ec.message());
        if (!parsed.is_object()) return std::string("not a JSON object");
        const auto& record = parsed.as_object();
        const auto seq_or = record_seq(record.if_contains("seq"));
        if (!seq_or) return std::string("no valid \"seq\" (a positive integer)");
        const std::uint64_t seq = *seq_or;
        if (report_.last_seq && seq != *report_.last_seq + 1) {
            auto expected = *report_.last_seq + 1;
            if (seq > expected) return fmt::format("seq gap: expected {}, found {} (record deleted?)", expected, seq);
            return fmt::format("seq out of order: expected {}, found {} (records reordered or duplicated?)", expected,
                               seq);
        }
        const auto* prev_field = record.if_contains("prev");
        if (prev_field == nullptr || !prev_field->is_string() || !is_hash(prev_field->as_string()))
            return fmt::format("seq {}: no valid \"prev\" (64 lowercase hex)", seq);
        std::string_view prev = prev_field->as_string();
        if (report_.last_seq && prev != report_.last_hash)
            return fmt::format("seq {}: prev does not match the previous record's hash (records reordered or removed)",
                               seq);
        if (!report_.last_seq && seq == 1 && prev != genesis_hash)
            return fmt::format("seq 1: prev of the first record is not 64 zeros (the log's start was replaced?)");
        auto sealed = split_line(line);
        if (!sealed || !record.contains("hash"))
            return fmt::format("seq {}: the line does not end with \"hash\":\"<64 hex>\"", seq);
        if (hasher_.hash(prev, sealed->body) != sealed->hash) {
            // With the wrong key (or none for a keyed log) the very first record already fails.
            std::string_view hint = report_.last_seq  ? ""
                                    : hasher_.keyed() ? "; or the HMAC key is wrong"
                                                      : "; or the log is keyed and needs its HMAC key";
            return fmt::format("seq {}: hash mismatch (record altered{})", seq, hint);
        }
        if (!report_.first_seq) report_.first_seq = seq;
        report_.last_seq = seq;
        report_.last_hash = sealed->hash;
        ++report_.records;
        return std::nullopt;
    }

    verify_report& report() { return report_; }

private:
    chain_hasher hasher_;
    verify_report report_;
};

}  // namespace

std::string verify_problem::to_string() const {
    if (line == 0) return fmt::format("{}: {}", file, message);
    return fmt::format("{}:{}: {}", file, line, message);
}

verify_report verify(const std::vector<std::filesystem::path>& files, const std::optional<std::string>& hmac_key) {
    return verify(files, hmac_key, [](const boost::json::object&, const record_location&) { return true; });
}

verify_report verify(const std::vector<std::filesystem::path>& files, const std::optional<std::string>& hmac_key,
                     const record_visitor& visit) {
    chain_walker walker(hmac_key);
    boost::json::value parsed;
    for (const auto& path : files) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            walker.report().problem =
                verify_problem{path.string(), 0, fmt::format("cannot open: {}", std::strerror(errno))};
            return walker.report();
        }
        std::string line;
        std::uint64_t number = 0;
        while (std::getline(in, line)) {
            ++number;
            // getline sets eof only when the last line had no newline: a write cut short.
            if (in.eof()) {
                walker.report().problem = verify_problem{
                    path.string(), number,
                    "incomplete last record (a write was interrupted; s1pilot removes it when it next opens the log)"};
                return walker.report();
            }
            if (auto problem = walker.check(line, parsed)) {
                walker.report().problem = verify_problem{path.string(), number, std::move(*problem)};
                return walker.report();
            }
            if (!visit(parsed.as_object(), record_location{path, number})) {
                walker.report().stopped = true;
                return walker.report();
            }
        }
        if (in.bad()) {
            walker.report().problem = verify_problem{path.string(), number + 1, "read error"};
            return walker.report();
        }
    }
    return walker.report();
}

}  // namespace s1pilot::audit
