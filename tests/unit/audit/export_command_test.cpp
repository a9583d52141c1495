// `s1pilot audit export` on real log files: every record once, in chain order, across rotated
// files; a tampered record stops the export there and the message names it; a wrong or missing
// key exports nothing and never shows a key; an output file can never overwrite a log.

#include "s1pilot/audit/export.hpp"
#include "s1pilot/audit/writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "audit_support.hpp"

using namespace s1pilot;
using testing::HasSubstr;
using testing::Not;

namespace {

namespace json = boost::json;

std::vector<json::object> parse_lines(const std::string& text) {
    std::vector<json::object> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
}

struct exported {
    int code = 0;
    std::string out;
    std::string err;
};

exported run_export(std::vector<std::string> files, audit::export_format format,
                    std::optional<std::string> key = std::nullopt) {
    std::ostringstream out, err;
    exported result;
    result.code =
        audit::export_command({.files = std::move(files), .format = format, .hmac_key = std::move(key)}, out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
}

class AuditExportCommand : public testing::Test {
protected:
    test::temp_dir dir_;
    std::filesystem::path path_ = dir_ / "audit.jsonl";
    core::manual_clock clock_{test::audit_start()};
};

}  // namespace

TEST_F(AuditExportCommand, EveryRecordOnceInChainOrderAcrossRotatedFiles) {
    test::write_records({.path = path_, .rotate_size = 4096, .keep = 50, .hmac_key = "k"}, 200, clock_);
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) files.push_back(entry.path().string());
    ASSERT_GT(files.size(), 3u) << "the log did not rotate";
    std::sort(files.begin(), files.end());  // not chain order: export puts them in order itself
    auto result = run_export(files, audit::export_format::ocsf, "k");
    ASSERT_EQ(result.code, 0) << result.err;
    auto events = parse_lines(result.out);
    ASSERT_EQ(events.size(), 200u);
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].at("metadata").at("sequence"), static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(events[i].at("class_uid"), 6003);
    }
    EXPECT_EQ(result.err, "audit export: ok: 200 record(s) (seq 1-200) from " + std::to_string(files.size()) +
                              " file(s) as ocsf to standard output\n");
}

TEST_F(AuditExportCommand, ATamperedRecordStopsTheExportRightBeforeIt) {
    test::write_records({.path = path_}, 30, clock_);
    auto lines = test::read_lines(path_);
    lines[16][lines[16].find("contain-ransomware")] = 'C';
    test::write_lines(path_, lines);
    auto result = run_export({path_.string()}, audit::export_format::ecs);
    EXPECT_EQ(result.code, 1);
    auto documents = parse_lines(result.out);
    ASSERT_EQ(documents.size(), 16u) << "records before the break are exported, nothing from it on";
    EXPECT_EQ(documents.back().at("event").at("sequence"), 16);
    EXPECT_EQ(result.err, path_.string() + ":17: seq 17: hash mismatch (record altered)\n" +
                              "audit export: FAILED: the chain is broken; 16 record(s) exported before the break "
                              "(seq 1-16), nothing from " +
                              path_.string() + ":17 (seq 17) on\n");
}

TEST_F(AuditExportCommand, AMissingFileInTheMiddleIsABreakToo) {
    test::write_records({.path = path_, .rotate_size = 4096, .keep = 50}, 120, clock_);
    ASSERT_TRUE(std::filesystem::exists(path_.string() + ".2"));
    std::filesystem::remove(path_.string() + ".2");
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) files.push_back(entry.path().string());
    auto result = run_export(files, audit::export_format::ocsf);
    EXPECT_EQ(result.code, 1);
    EXPECT_THAT(result.err, HasSubstr("seq gap"));
    EXPECT_THAT(result.err, HasSubstr("record(s) exported before the break"));
}

TEST_F(AuditExportCommand, AWrongOrMissingKeyExportsNothingAndNoKeyIsEverPrinted) {
    const std::string key = "s3cret-audit-key-value";
    test::write_records({.path = path_, .hmac_key = key}, 5, clock_);
    for (const std::optional<std::string>& given :
         {std::optional<std::string>{}, std::optional<std::string>{"wrong-key-value"}}) {
        auto result = run_export({path_.string()}, audit::export_format::ocsf, given);
        EXPECT_EQ(result.code, 1);
        EXPECT_EQ(result.out, "");
        EXPECT_THAT(result.err, HasSubstr(":1: seq 1: hash mismatch"));
        EXPECT_THAT(result.err, HasSubstr("0 record(s) exported before the break"));
        EXPECT_THAT(result.err, Not(HasSubstr("wrong-key-value")));
        EXPECT_THAT(result.err, Not(HasSubstr(key)));
    }
    for (auto format : {audit::export_format::ocsf, audit::export_format::ecs}) {
        auto result = run_export({path_.string()}, format, key);
        EXPECT_EQ(result.code, 0) << result.err;
        EXPECT_EQ(parse_lines(result.out).size(), 5u);
        EXPECT_THAT(result.out + result.err, Not(HasSubstr(key)));
    }
}

TEST_F(AuditExportCommand, TheProductVersionIsThatOfTheLatestDaemonStart) {
    {
        auto log = audit::writer::open({.path = path_}, clock_).value();
        log.append(test::action_result(1)).value();
        log.append({{"event", "daemon.start"}, {"command", "run"}, {"version", "1.2.3"}}).value();
        log.append(test::action_result(2)).value();
    }
    auto result = run_export({path_.string()}, audit::export_format::ocsf);
    ASSERT_EQ(result.code, 0) << result.err;
    auto events = parse_lines(result.out);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_FALSE(events[0].at("metadata").at("product").as_object().contains("version"));
    EXPECT_EQ(events[1].at("metadata").at("product").at("version"), "1.2.3");
    EXPECT_EQ(events[2].at("metadata").at("product").at("version"), "1.2.3");
}

TEST_F(AuditExportCommand, AnOutputFileGetsTheSameLinesAndModeAsTheLog) {
    test::write_records({.path = path_}, 10, clock_);
    const auto output = dir_ / "events.ocsf.jsonl";
    std::ostringstream err;
    ASSERT_EQ(audit::export_to_file({.files = {path_.string()}, .format = audit::export_format::ocsf}, output, err), 0)
        << err.str();
    EXPECT_EQ(err.str(),
              "audit export: ok: 10 record(s) (seq 1-10) from 1 file(s) as ocsf to " + output.string() + "\n");
    auto on_stdout = run_export({path_.string()}, audit::export_format::ocsf);
    std::ifstream in(output, std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), on_stdout.out);
    auto perms = std::filesystem::status(output).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::others_all, std::filesystem::perms::none);
    EXPECT_EQ(perms & std::filesystem::perms::group_write, std::filesystem::perms::none);
}

TEST_F(AuditExportCommand, AnOutputFileThatIsOneOfTheLogsIsRefusedBeforeItIsTouched) {
    test::write_records({.path = path_}, 3, clock_);
    const auto before = test::read_lines(path_);
    std::ostringstream err;
    auto request = audit::export_request{.files = {path_.string()}, .format = audit::export_format::ecs};
    EXPECT_EQ(audit::export_to_file(request, dir_ / "." / "audit.jsonl", err), 2);
    EXPECT_EQ(err.str(), "audit export: --output " + (dir_ / "." / "audit.jsonl").string() +
                             " is one of the audit logs being exported; choose another file\n");
    EXPECT_EQ(test::read_lines(path_), before);
}

TEST_F(AuditExportCommand, AnOutputThatFailsStopsTheExport) {
    test::write_records({.path = path_}, 3, clock_);
    std::ostringstream out, err;
    out.setstate(std::ios::badbit);
    EXPECT_EQ(audit::export_command({.files = {path_.string()}, .format = audit::export_format::ocsf}, out, err), 1);
    EXPECT_EQ(err.str(), "audit export: cannot write to standard output: stopped after 0 record(s)\n");
}

TEST_F(AuditExportCommand, NoFileIsAUsageError) {
    auto result = run_export({}, audit::export_format::ocsf);
    EXPECT_EQ(result.code, 2);
    EXPECT_EQ(result.err, "audit export: no file given (usage: s1pilot audit export --format ocsf|ecs FILE...)\n");
}
