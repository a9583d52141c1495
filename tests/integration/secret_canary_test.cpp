// The secret canary (RELIABILITY #13). Every black-box test's s1pilot holds three secrets, each
// a fresh `CANARY-<uuid>` read from a 0600 file, and the test fails when one shows up in anything
// s1pilot printed or wrote (pilot_process.hpp). These tests check that check, and the one output
// no other test produces: what a crash leaves behind.

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <regex>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

std::vector<fs::path> core_files(const fs::path& dir) {
    std::vector<fs::path> cores;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (entry.is_regular_file() && (name == "core" || name.starts_with("core."))) cores.push_back(entry.path());
    }
    return cores;
}

TEST(SecretCanary, EverySecretIsAFreshCanaryReadFromAPrivateFile) {
    temp_dir dir;
    const pilot p(dir.path());
    const std::regex uuid("CANARY-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    for (const auto& [secret, file] :
         {std::pair{p.token(), p.token_file()}, std::pair{p.admin_token(), p.admin_token_file()},
          std::pair{p.audit_key(), p.audit_key_file()}}) {
        EXPECT_TRUE(std::regex_match(secret, uuid)) << secret;
        EXPECT_EQ(read_text(file), secret);
        EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    }
    EXPECT_NE(p.token(), p.admin_token());
    EXPECT_NE(p.admin_token(), p.audit_key());
    const pilot other(dir.path() / "other");
    EXPECT_NE(p.token(), other.token());
}

TEST(SecretCanary, TheScanFindsEachSecretWhereverItIsWritten) {
    temp_dir dir;
    const pilot p(dir.path());
    EXPECT_TRUE(p.secrets_written().empty());
    const auto log = dir.path() / "s1pilot-run-9.err", db = dir.path() / "nested" / "state.db",
               core = dir.path() / "core";
    write_text(log, "debug: Authorization: ApiToken " + p.token() + "\n");
    fs::create_directories(db.parent_path());
    write_text(db, std::string("SQLite format 3\0\1\2", 18) + p.admin_token() + std::string(3, '\0'));
    write_text(core, std::string(100, '\0') + p.audit_key());
    std::map<std::string, fs::path> found;
    for (const auto& leak : p.secrets_written()) found[leak.secret] = leak.file;
    EXPECT_EQ(found,
              (std::map<std::string, fs::path>{{"console token", log}, {"admin token", db}, {"audit HMAC key", core}}));
    // Gone again, so that the pilot's own check at the end of the test passes.
    for (const auto& file : {log, db, core}) fs::remove(file);
    EXPECT_TRUE(p.secrets_written().empty());
}

TEST(SecretCanary, ACrashLeavesNoCoreFileAndPrintsNoSecret) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    // The control: here, a crashing process that allows core files leaves one holding its memory,
    // and the scan finds the token in it. Otherwise this machine cannot show the difference.
    const auto control = run_to_end({.argv = {"/bin/sh", "-c", "ulimit -c unlimited; kill -SEGV $$", s.s1pilot.token()},
                                     .stdout_file = s.dir.path() / "control.out",
                                     .stderr_file = s.dir.path() / "control.err",
                                     .working_dir = s.dir.path()},
                                    60s);
    EXPECT_EQ(control.code, 128 + SIGSEGV) << control.describe();
    auto cores = core_files(s.dir.path());
    if (cores.empty())
        GTEST_SKIP() << "no core file appears in the working directory on this machine (kernel.core_pattern: "
                     << read_text("/proc/sys/kernel/core_pattern") << "): a crash cannot be told apart";
    EXPECT_FALSE(s.s1pilot.secrets_written().empty()) << "the scan misses a secret in a core file";
    for (const auto& core : cores) fs::remove(core);

    // s1pilot running a playbook, core files allowed as in the control, crashes.
    s.configure({s.fixture("webhook.yaml")});
    // Under AddressSanitizer its own SIGSEGV handler and its default of no core files would stand
    // in for s1pilot's: both are turned off, so the kernel ends the process as in production.
    auto daemon = s.s1pilot.start_under({"/bin/sh", "-c", "ulimit -c unlimited && exec \"$0\" \"$@\""},
                                        {"run", "-c", s.s1pilot.config_path().string()},
                                        address_sanitizer_flags("handle_segv=0:disable_coredump=0"));
    ASSERT_TRUE(wait_until([&] { return !s.s1pilot.audit_events("run.start").empty() || !daemon->running(); }, 60s))
        << daemon->stderr_text();
    ASSERT_TRUE(daemon->running()) << daemon->stderr_text();
    ASSERT_EQ(::kill(daemon->pid(), SIGSEGV), 0);
    EXPECT_EQ(daemon->wait(30s).value_or(-1), 128 + SIGSEGV) << daemon->stderr_text();
    EXPECT_EQ(core_files(s.dir.path()), std::vector<fs::path>{}) << "s1pilot left a core file";
    // The pilot then checks its stderr, the audit log and the state database, as in every test.
}

}  // namespace
}  // namespace s1pilot::integration
