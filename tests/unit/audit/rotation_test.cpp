// Rotation: files stay under rotate_size, seq and the chain continue across files, only `keep`
// rotated files remain, and a crash between rotating and the next record loses nothing.

#include "s1pilot/audit/verify.hpp"
#include "s1pilot/audit/writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "audit_support.hpp"

using namespace s1pilot;
using testing::ElementsAre;
using testing::HasSubstr;

namespace {

std::filesystem::path numbered(const std::filesystem::path& path, int index) {
    return path.string() + "." + std::to_string(index);
}

std::vector<std::filesystem::path> all_files(const std::filesystem::path& path, int keep) {
    std::vector<std::filesystem::path> files;
    for (int i = keep; i >= 1; --i)
        if (std::filesystem::exists(numbered(path, i))) files.push_back(numbered(path, i));
    files.push_back(path);
    return files;
}

}  // namespace

TEST(AuditRotation, SeqAndChainContinueAcrossFiles) {
    test::temp_dir dir;
    auto path = dir / "audit.jsonl";
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = path, .rotate_size = 4096, .keep = 50, .hmac_key = "k"};
    test::write_records(options, 200, clock);

    auto files = all_files(path, 50);
    ASSERT_GT(files.size(), 3u);
    std::uint64_t expected_seq = 1;
    for (const auto& file : files) {
        EXPECT_LE(std::filesystem::file_size(file), 4096u) << file;
        auto lines = test::read_lines(file);
        ASSERT_FALSE(lines.empty()) << file;
        // The first record of each file continues the seq of the file before it.
        EXPECT_THAT(lines.front(), HasSubstr("{\"seq\":" + std::to_string(expected_seq) + ","));
        expected_seq += lines.size();
    }
    EXPECT_EQ(expected_seq, 201u);
    auto report = audit::verify(files, "k");
    ASSERT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 200u);
    EXPECT_EQ(report.first_seq, 1u);

    // Dropping a whole file in the middle is a gap.
    auto without = files;
    without.erase(without.begin() + 1);
    auto gap = audit::verify(without, "k");
    ASSERT_FALSE(gap.ok());
    EXPECT_EQ(gap.problem->file, files[2].string());
    EXPECT_EQ(gap.problem->line, 1u);
    EXPECT_THAT(gap.problem->message, HasSubstr("seq gap"));
}

TEST(AuditRotation, OnlyKeepRotatedFilesRemainAndTheRestStillVerifies) {
    test::temp_dir dir;
    auto path = dir / "audit.jsonl";
    core::manual_clock clock{test::audit_start()};
    test::write_records({.path = path, .rotate_size = 2048, .keep = 3}, 100, clock);
    EXPECT_TRUE(std::filesystem::exists(numbered(path, 3)));
    EXPECT_FALSE(std::filesystem::exists(numbered(path, 4)));

    // In glob order (audit.jsonl audit.jsonl.1 …), which verify_command puts oldest first.
    std::vector<std::string> globbed{path.string(), numbered(path, 1).string(), numbered(path, 2).string(),
                                     numbered(path, 3).string()};
    std::ostringstream out, err;
    EXPECT_EQ(audit::verify_command(globbed, out, err), 0) << err.str();
    EXPECT_THAT(out.str(), HasSubstr("-100, 4 file(s)"));
    EXPECT_THAT(out.str(), HasSubstr("rotated away"));
    // In the wrong order the chain does not verify.
    EXPECT_FALSE(audit::verify({path, numbered(path, 1)}).ok());
}

TEST(AuditRotation, OldestFirstOrdersNumberedSuffixes) {
    auto ordered = audit::oldest_first({"a/audit.jsonl", "a/audit.jsonl.1", "a/audit.jsonl.10", "a/audit.jsonl.2"});
    EXPECT_THAT(ordered, ElementsAre("a/audit.jsonl.10", "a/audit.jsonl.2", "a/audit.jsonl.1", "a/audit.jsonl"));
}

TEST(AuditRotation, ACrashRightAfterRotatingContinuesFromTheRotatedFile) {
    test::temp_dir dir;
    auto path = dir / "audit.jsonl";
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = path, .rotate_size = 1 << 20, .keep = 2};
    test::write_records(options, 10, clock);
    std::filesystem::rename(path, numbered(path, 1));  // as rotate() leaves it before the new file exists

    auto log = audit::writer::open(options, clock).value();
    EXPECT_EQ(log.next_seq(), 11u);
    ASSERT_TRUE(log.append(test::action_result(10)));
    auto report = audit::verify({numbered(path, 1), path});
    ASSERT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 11u);
}

TEST(AuditRotation, ReopeningARotatedLogKeepsRotatingInStep) {
    test::temp_dir dir;
    auto path = dir / "audit.jsonl";
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = path, .rotate_size = 3000, .keep = 20};
    for (int round = 0; round < 5; ++round) test::write_records(options, 15, clock);
    auto files = all_files(path, 20);
    for (const auto& file : files) EXPECT_LE(std::filesystem::file_size(file), 3000u) << file;
    auto report = audit::verify(files);
    ASSERT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 75u);
    EXPECT_EQ(report.first_seq, 1u);
}

TEST(AuditRotation, SeveralRecordsInOneAppendKeepSeqAndChainAcrossARotation) {
    test::temp_dir dir;
    auto path = dir / "audit.jsonl";
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = path, .rotate_size = 2048, .keep = 50, .hmac_key = "k"};
    auto log = audit::writer::open(options, clock).value();
    std::vector<boost::json::object> records;
    for (int i = 0; i < 12; ++i) records.push_back(test::action_result(i));  // ~ 3 files' worth
    const auto last = log.append(std::span<const boost::json::object>(records));
    ASSERT_TRUE(last) << last.error().message;
    EXPECT_EQ(last->seq, 12u);
    EXPECT_EQ(log.next_seq(), 13u);
    EXPECT_EQ(log.last_hash(), last->hash);
    ASSERT_TRUE(log.append(test::action_result(12)));

    auto files = all_files(path, 50);
    EXPECT_GT(files.size(), 2u);
    for (const auto& file : files) EXPECT_LE(std::filesystem::file_size(file), 2048u) << file;
    auto report = audit::verify(files, "k");
    ASSERT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 13u);

    // A reserved field anywhere: nothing of the call is written.
    records.back()["seq"] = 99;
    EXPECT_FALSE(log.append(std::span<const boost::json::object>(records)));
    EXPECT_EQ(log.next_seq(), 14u);
}
