// The writer: the exact record format and chain rule (checked with an independent SHA-256),
// continuing seq and chain on reopen, repairing a torn tail, refusing a changed key, and failing
// closed when a write fails.

#include "s1pilot/audit/writer.hpp"

#include "s1pilot/audit/verify.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <sys/resource.h>

#include "audit_support.hpp"

using namespace s1pilot;
using testing::HasSubstr;

TEST(AuditWriter, WritesTheDocumentedFormatAndChain) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    auto log = audit::writer::open({.path = dir / "audit.jsonl"}, clock).value();
    auto first = log.append({{"event", "daemon.start"}, {"version", "0.1.0"}}).value();
    auto second = log.append({{"event", "daemon.stop"}}).value();
    EXPECT_EQ(first.seq, 1u);
    EXPECT_EQ(second.seq, 2u);

    auto lines = test::read_lines(dir / "audit.jsonl");
    ASSERT_EQ(lines.size(), 2u);
    std::string zeros(64, '0');
    std::string body1 = R"({"seq":1,"time":"2026-11-21T09:14:03.120394Z","event":"daemon.start","version":"0.1.0",)"
                        R"("prev":")" +
                        zeros + "\"}";
    auto hash1 = test::sha256_hex(zeros + body1);
    EXPECT_EQ(lines[0], body1.substr(0, body1.size() - 1) + R"(,"hash":")" + hash1 + "\"}");
    EXPECT_EQ(first.hash, hash1);
    std::string body2 =
        R"({"seq":2,"time":"2026-11-21T09:14:03.120394Z","event":"daemon.stop","prev":")" + hash1 + "\"}";
    EXPECT_EQ(lines[1], body2.substr(0, body2.size() - 1) + R"(,"hash":")" + test::sha256_hex(hash1 + body2) + "\"}");
    EXPECT_EQ(log.last_hash(), second.hash);
}

TEST(AuditWriter, ReopeningContinuesSeqAndChain) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = dir / "audit.jsonl"};
    test::write_records(options, 3, clock);
    auto log = audit::writer::open(options, clock).value();
    EXPECT_EQ(log.next_seq(), 4u);
    EXPECT_EQ(log.append(test::action_result(3)).value().seq, 4u);
    auto report = audit::verify({dir / "audit.jsonl"});
    EXPECT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 4u);
    EXPECT_EQ(report.last_hash, log.last_hash());
}

TEST(AuditWriter, ReservedFieldsAreRefusedWithoutClosingTheLog) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    auto log = audit::writer::open({.path = dir / "audit.jsonl"}, clock).value();
    for (auto field : {"seq", "time", "prev", "hash"}) {
        auto refused = log.append({{"event", "run.start"}, {field, "x"}});
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, audit::errc::invalid_record);
        EXPECT_THAT(refused.error().message, HasSubstr(std::string("\"") + field + "\" is reserved"));
    }
    EXPECT_FALSE(log.failure());
    EXPECT_EQ(log.append({{"event", "run.start"}}).value().seq, 1u);
}

TEST(AuditWriter, AnUnterminatedTailIsRemovedAtOpen) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = dir / "audit.jsonl"};
    test::write_records(options, 2, clock);
    std::ofstream(dir / "audit.jsonl", std::ios::app) << R"({"seq":3,"time":"2026-11-21T09:1)";
    EXPECT_FALSE(audit::verify({dir / "audit.jsonl"}).ok());

    auto log = audit::writer::open(options, clock).value();
    EXPECT_EQ(log.truncated_bytes(), 32u);
    EXPECT_EQ(log.append(test::action_result(2)).value().seq, 3u);
    auto report = audit::verify({dir / "audit.jsonl"});
    EXPECT_TRUE(report.ok()) << report.problem->to_string();
    EXPECT_EQ(report.records, 3u);
}

TEST(AuditWriter, AChangedHmacKeyIsRefusedAtOpen) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    audit::writer_options options{.path = dir / "audit.jsonl", .hmac_key = "key-one"};
    test::write_records(options, 2, clock);

    options.hmac_key = "key-two";
    auto other_key = audit::writer::open(options, clock);
    ASSERT_FALSE(other_key);
    EXPECT_EQ(other_key.error().code, audit::errc::invalid_log);
    EXPECT_THAT(other_key.error().message, HasSubstr("does not match its hash under the configured hmac_key"));
    options.hmac_key.reset();
    auto no_key = audit::writer::open(options, clock);
    ASSERT_FALSE(no_key);
    EXPECT_THAT(no_key.error().message, HasSubstr("the log is keyed and no hmac_key is configured"));
    options.hmac_key = "key-one";
    EXPECT_TRUE(audit::writer::open(options, clock));
}

TEST(AuditWriter, UnusableOptionsAndPathsAreErrors) {
    core::manual_clock clock{test::audit_start()};
    auto keep_none = audit::writer::open({.path = "/tmp/x.jsonl", .rotate_size = 1000, .keep = 0}, clock);
    ASSERT_FALSE(keep_none);
    EXPECT_EQ(keep_none.error().code, audit::errc::invalid_options);
    auto empty_key = audit::writer::open({.path = "/tmp/x.jsonl", .hmac_key = ""}, clock);
    ASSERT_FALSE(empty_key);
    EXPECT_EQ(empty_key.error().code, audit::errc::invalid_options);
    auto missing = audit::writer::open({.path = "/nonexistent-dir/audit.jsonl"}, clock);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, audit::errc::io_error);
    EXPECT_EQ(missing.error().message,
              "audit log /nonexistent-dir/audit.jsonl: cannot open: No such file or directory");
}

TEST(AuditWriter, AFullDiskFailsTheAppendAndClosesTheLog) {
    core::manual_clock clock{test::audit_start()};
    auto log = audit::writer::open({.path = "/dev/full"}, clock);
    ASSERT_TRUE(log) << log.error().message;
    auto failed = log->append({{"event", "action.intent"}});
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, audit::errc::io_error);
    EXPECT_THAT(failed.error().message, HasSubstr("/dev/full: write failed: No space left on device"));
    ASSERT_TRUE(log->failure());

    auto refused = log->append({{"event", "action.intent"}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, audit::errc::closed);
    EXPECT_THAT(refused.error().message, HasSubstr("refuses appends after an earlier failure"));
    EXPECT_THAT(refused.error().message, HasSubstr("No space left on device"));
}

// A file-size limit makes a write fail part-way through a real log; space coming back later
// must not reopen it, and the records before the failure must still verify.
TEST(AuditWriter, AFailedWriteInTheMiddleOfALogKeepsItClosed) {
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    auto log = audit::writer::open({.path = dir / "audit.jsonl"}, clock).value();
    ASSERT_TRUE(log.append(test::action_result(0)));
    auto size = std::filesystem::file_size(dir / "audit.jsonl");

    auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
    rlimit limited = saved;
    limited.rlim_cur = size + size / 2;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
    auto failed = log.append(test::action_result(1));
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);

    ASSERT_FALSE(failed);
    EXPECT_THAT(failed.error().message, HasSubstr("write failed: File too large"));
    auto refused = log.append(test::action_result(2));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, audit::errc::closed);
    // A restart repairs the torn tail and continues the chain from the last complete record.
    auto reopened = audit::writer::open({.path = dir / "audit.jsonl"}, clock).value();
    EXPECT_GT(reopened.truncated_bytes(), 0u);
    EXPECT_EQ(reopened.append(test::action_result(1)).value().seq, 2u);
    EXPECT_TRUE(audit::verify({dir / "audit.jsonl"}).ok());
}

TEST(AuditWriter, ALastSeqBeyondSignedIntegersIsReadWithoutThrowing) {
    // Integers above 2^63-1 are uint64 to the JSON parser: read as such, never a conversion that
    // throws at start-up. The one seq that has no successor is refused by name.
    test::temp_dir dir;
    core::manual_clock clock{test::audit_start()};
    const auto sealed = [](const std::string& seq) {
        const std::string zeros(64, '0');
        const std::string body = R"({"seq":)" + seq + R"(,"event":"x","prev":")" + zeros + "\"}";
        return body.substr(0, body.size() - 1) + R"(,"hash":")" + test::sha256_hex(zeros + body) + "\"}";
    };
    test::write_lines(dir / "audit.jsonl", {sealed("9223372036854775808")});
    auto log = audit::writer::open({.path = dir / "audit.jsonl"}, clock);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ(log->next_seq(), 9223372036854775809u);

    test::write_lines(dir / "audit.jsonl", {sealed("18446744073709551615")});
    auto refused = audit::writer::open({.path = dir / "audit.jsonl"}, clock);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, audit::errc::invalid_log);
    EXPECT_THAT(refused.error().message, HasSubstr("no valid seq"));
}
