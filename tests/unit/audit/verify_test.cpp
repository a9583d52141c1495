// Tamper evidence: every kind of alteration is found, and the first bad record is named with
// its file, line and seq. Each altered log is also checked to verify before the alteration, so a
// verifier that rejects everything would fail these tests.

#include "s1pilot/audit/verify.hpp"

#include "s1pilot/audit/writer.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "audit_support.hpp"

using namespace s1pilot;
using testing::HasSubstr;

namespace {

class AuditVerify : public testing::Test {
protected:
    void write(int count, std::optional<std::string> key = std::nullopt) {
        if (count == 1000 && !key) {
            // Each record costs an fdatasync; the 1,000-record log is written once and copied.
            static const std::vector<std::string> thousand = [] {
                test::temp_dir dir;
                core::manual_clock clock{test::audit_start()};
                test::write_records({.path = dir / "audit.jsonl"}, 1000, clock);
                return test::read_lines(dir / "audit.jsonl");
            }();
            test::write_lines(path_, thousand);
        } else {
            core::manual_clock clock{test::audit_start()};
            test::write_records({.path = path_, .hmac_key = std::move(key)}, count, clock);
        }
        lines_ = test::read_lines(path_);
        ASSERT_EQ(lines_.size(), static_cast<std::size_t>(count));
    }
    std::string problem(const std::optional<std::string>& key = std::nullopt) {
        auto report = audit::verify({path_}, key);
        return report.ok() ? std::string("ok") : report.problem->to_string();
    }

    test::temp_dir dir_;
    std::filesystem::path path_ = dir_ / "audit.jsonl";
    std::vector<std::string> lines_;
};

}  // namespace

TEST_F(AuditVerify, AThousandRecordChainVerifies) {
    write(1000);
    auto report = audit::verify({path_});
    ASSERT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 1000u);
    EXPECT_EQ(report.first_seq, 1u);
    EXPECT_EQ(report.last_seq, 1000u);
}

TEST_F(AuditVerify, AFlippedByteNamesItsRecord) {
    write(1000);
    auto at = lines_[16].find("contain-ransomware");
    lines_[16][at] = 'C';
    test::write_lines(path_, lines_);
    EXPECT_EQ(problem(), path_.string() + ":17: seq 17: hash mismatch (record altered)");
}

TEST_F(AuditVerify, EveryBitFlipAnywhereInARecordIsCaughtAtThatRecord) {
    write(30);
    ASSERT_EQ(problem(), "ok");
    const auto original = lines_;
    for (std::size_t at = 0; at < original[16].size(); ++at) {
        for (unsigned char bit : {0x01, 0x20, 0x40}) {
            auto altered = original;
            altered[16][at] = static_cast<char>(static_cast<unsigned char>(altered[16][at]) ^ bit);
            test::write_lines(path_, altered);
            auto report = audit::verify({path_});
            ASSERT_FALSE(report.ok()) << "byte " << at << " bit " << int(bit);
            EXPECT_EQ(report.problem->line, 17u)
                << "byte " << at << " bit " << int(bit) << ": " << report.problem->to_string();
        }
    }
}

TEST_F(AuditVerify, ADeletedRecordIsAGap) {
    write(1000);
    lines_.erase(lines_.begin() + 16);
    test::write_lines(path_, lines_);
    EXPECT_EQ(problem(), path_.string() + ":17: seq gap: expected 17, found 18 (record deleted?)");
}

TEST_F(AuditVerify, SwappedRecordsAreDetected) {
    write(1000);
    std::swap(lines_[16], lines_[17]);
    test::write_lines(path_, lines_);
    EXPECT_EQ(problem(), path_.string() + ":17: seq gap: expected 17, found 18 (record deleted?)");
}

TEST_F(AuditVerify, SwappedRecordsWithRenumberedSeqBreakTheChain) {
    write(1000);
    std::swap(lines_[16], lines_[17]);
    lines_[16].replace(lines_[16].find("\"seq\":18"), 8, "\"seq\":17");
    lines_[17].replace(lines_[17].find("\"seq\":17"), 8, "\"seq\":18");
    test::write_lines(path_, lines_);
    EXPECT_EQ(problem(), path_.string() +
                             ":17: seq 17: prev does not match the previous record's hash (records reordered or "
                             "removed)");
}

TEST_F(AuditVerify, AReplacedStartOfTheLogIsDetected) {
    write(5);
    lines_.erase(lines_.begin());
    lines_[0].replace(lines_[0].find("\"seq\":2"), 7, "\"seq\":1");
    test::write_lines(path_, lines_);
    EXPECT_EQ(problem(), path_.string() +
                             ":1: seq 1: prev of the first record is not 64 zeros (the log's start was "
                             "replaced?)");
}

TEST_F(AuditVerify, InvalidJsonAndMissingFieldsAreNamed) {
    write(3);
    auto altered = lines_;
    altered[1] = "{\"seq\":2,";
    test::write_lines(path_, altered);
    EXPECT_THAT(problem(), HasSubstr(path_.string() + ":2: not valid JSON"));
    altered[1] = R"({"event":"x"})";
    test::write_lines(path_, altered);
    EXPECT_EQ(problem(), path_.string() + ":2: no valid \"seq\" (a positive integer)");
    // Out of every integer type: reported like any other bad seq, never an exception.
    for (const char* seq : {"0", "-3", "2.0", "\"2\"", "99999999999999999999"}) {
        altered[1] = fmt::format(R"({{"seq":{},"prev":"{}"}})", seq, std::string(64, '0'));
        test::write_lines(path_, altered);
        EXPECT_EQ(problem(), path_.string() + ":2: no valid \"seq\" (a positive integer)") << seq;
    }
    // Above 2^63-1 (kept as uint64 by the parser): read as the number it is, so the gap is named.
    altered[1] = R"({"seq":9223372036854775808,"prev":"x"})";
    test::write_lines(path_, altered);
    EXPECT_EQ(problem(), path_.string() + ":2: seq gap: expected 2, found 9223372036854775808 (record deleted?)");
    altered[1] = lines_[1].substr(0, lines_[1].find(",\"hash\"")) + "}";
    test::write_lines(path_, altered);
    EXPECT_EQ(problem(), path_.string() + ":2: seq 2: the line does not end with \"hash\":\"<64 hex>\"");
}

TEST_F(AuditVerify, AnInterruptedLastWriteIsReported) {
    write(3);
    test::write_lines(path_, lines_);
    std::ofstream(path_, std::ios::app) << R"({"seq":4,"ti)";
    EXPECT_THAT(problem(), HasSubstr(path_.string() + ":4: incomplete last record"));
}

TEST_F(AuditVerify, AKeyedLogNeedsItsKey) {
    write(50, "s3cret-key");
    EXPECT_EQ(problem("s3cret-key"), "ok");
    EXPECT_EQ(problem("wrong-key"),
              path_.string() + ":1: seq 1: hash mismatch (record altered; or the HMAC key is wrong)");
    EXPECT_EQ(problem(), path_.string() +
                             ":1: seq 1: hash mismatch (record altered; or the log is keyed and needs its "
                             "HMAC key)");
}

TEST_F(AuditVerify, AKeyedChainCannotBeRewrittenWithoutTheKey) {
    write(10, "s3cret-key");
    // The attacker edits record 5 and recomputes every hash from the start, as an unkeyed chain
    // would allow.
    std::string prev(64, '0');
    for (auto& line : lines_) {
        auto body = line.substr(0, line.find(",\"prev\":\"")) + R"(,"prev":")" + prev + "\"}";
        if (line.starts_with("{\"seq\":5,")) body.replace(body.find("success"), 7, "failure");
        prev = test::sha256_hex(prev + body);
        line = body.substr(0, body.size() - 1) + R"(,"hash":")" + prev + "\"}";
    }
    test::write_lines(path_, lines_);
    EXPECT_EQ(problem(), "ok");  // without the key the forgery is a valid SHA-256 chain...
    EXPECT_EQ(
        problem("s3cret-key"),
        path_.string() + ":1: seq 1: hash mismatch (record altered; or the HMAC key is wrong)");  // ...not with it
}

TEST(AuditVerifyCommand, ExitCodesAndMessages) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    test::write_records({.path = dir / "audit.jsonl"}, 20, clock);
    std::ostringstream out, err;
    EXPECT_EQ(audit::verify_command({(dir / "audit.jsonl").string()}, out, err), 0);
    EXPECT_THAT(out.str(), HasSubstr("ok: 20 record(s), seq 1-20, 1 file(s), SHA-256; last hash "));
    EXPECT_EQ(err.str(), "");

    auto lines = test::read_lines(dir / "audit.jsonl");
    lines.erase(lines.begin() + 9);
    test::write_lines(dir / "audit.jsonl", lines);
    out.str("");
    EXPECT_EQ(audit::verify_command({(dir / "audit.jsonl").string()}, out, err), 1);
    EXPECT_EQ(err.str(), (dir / "audit.jsonl").string() +
                             ":10: seq gap: expected 10, found 11 (record deleted?)\n"
                             "audit verify: FAILED (9 record(s) verified before the problem)\n");
    EXPECT_EQ(out.str(), "");

    err.str("");
    EXPECT_EQ(audit::verify_command({}, out, err), 2);
    EXPECT_EQ(audit::verify_command({(dir / "missing.jsonl").string()}, out, err), 1);
    EXPECT_THAT(err.str(), HasSubstr("missing.jsonl: cannot open: No such file or directory"));
}
