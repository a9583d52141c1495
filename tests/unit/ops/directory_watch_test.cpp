// The playbook watch against the real kernel: inotify on a temporary directory, an io_context run
// in bounded steps. Every file operation of a case happens before the loop runs, so a burst is
// always complete when the watch first reads it; waits for a callback that must not come are the
// only fixed spans.

#include "s1pilot/ops/directory_watch.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "temp_dir.hpp"

namespace s1pilot::ops {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto debounce = 100ms;
// Long enough for a second callback of the same burst to show up (many debounce periods).
constexpr auto quiet_span = 1s;

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
}

class directory_watch_test : public ::testing::Test {
protected:
    void SetUp() override { write_file(dir / "contain.yaml", "name: contain\n"); }

    std::unique_ptr<directory_watch> start(const std::vector<fs::path>& paths,
                                           std::chrono::milliseconds wait = debounce) {
        auto created = directory_watch::create(io.get_executor(), paths, wait,
                                               [this](std::string_view what) { calls.emplace_back(what); });
        if (const auto* error = std::get_if<std::string>(&created)) {
            ADD_FAILURE() << *error;
            return nullptr;
        }
        return std::move(std::get<std::unique_ptr<directory_watch>>(created));
    }

    // Runs the loop until `count` callbacks came or a generous bound passed.
    void run_until_calls(std::size_t count) {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (calls.size() < count && std::chrono::steady_clock::now() < until && !io.stopped()) io.run_one_for(50ms);
        ASSERT_GE(calls.size(), count) << "no callback within 5 s";
    }

    // Runs the loop for a span in which no (further) callback may come; returns early when no
    // operation is left.
    void run_quietly() { io.run_for(quiet_span); }

    test::temp_dir dir;
    boost::asio::io_context io;
    std::vector<std::string> calls;
};

TEST_F(directory_watch_test, a_write_in_place_calls_back_once) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / "contain.yaml", "name: contain\ndescription: edited\n");
    run_until_calls(1);
    run_quietly();
    EXPECT_EQ(calls, std::vector<std::string>{"contain.yaml modified"});
    EXPECT_TRUE(watch->watching());
}

TEST_F(directory_watch_test, a_temporary_file_renamed_over_the_playbook_calls_back_once) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / "contain.yaml.tmp-4711", "name: contain\ndescription: edited\n");
    fs::rename(dir / "contain.yaml.tmp-4711", dir / "contain.yaml");
    run_until_calls(1);
    run_quietly();
    EXPECT_EQ(calls, std::vector<std::string>{"contain.yaml renamed into place"});
}

TEST_F(directory_watch_test, vims_save_sequence_calls_back_once) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    // vim probes the directory, keeps the original as a backup, writes a new file, drops the backup.
    write_file(dir / ".contain.yaml.swp", "swap");
    write_file(dir / "4913", "");
    fs::remove(dir / "4913");
    fs::rename(dir / "contain.yaml", dir / "contain.yaml~");
    write_file(dir / "contain.yaml", "name: contain\ndescription: edited\n");
    fs::remove(dir / "contain.yaml~");
    fs::remove(dir / ".contain.yaml.swp");
    run_until_calls(1);
    run_quietly();
    EXPECT_EQ(calls, std::vector<std::string>{"contain.yaml modified"});
}

TEST_F(directory_watch_test, a_burst_of_twenty_writes_calls_back_once) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    const std::vector<std::string> names = {"a.yaml", "b.yml", "c.yaml", "d.yaml"};
    for (int i = 0; i < 20; ++i) write_file(dir / names[i % names.size()], "name: n" + std::to_string(i) + "\n");
    run_until_calls(1);
    run_quietly();
    EXPECT_EQ(calls, std::vector<std::string>{"a.yaml modified, b.yml modified, c.yaml modified and 1 more"});
}

TEST_F(directory_watch_test, editor_swap_backup_and_probe_files_do_not_call_back) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / ".contain.yaml.swp", "swap");
    write_file(dir / "contain.yaml~", "backup");
    write_file(dir / "4913", "");
    write_file(dir / "notes.txt", "not a playbook");
    fs::create_directory(dir / "archive.yaml");  // a directory, whatever its name
    fs::remove(dir / ".contain.yaml.swp");
    fs::remove(dir / "4913");
    run_quietly();
    EXPECT_TRUE(calls.empty()) << calls.front();
}

TEST_F(directory_watch_test, deleting_a_playbook_calls_back) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    fs::remove(dir / "contain.yaml");
    run_until_calls(1);
    EXPECT_EQ(calls, std::vector<std::string>{"contain.yaml deleted"});
}

TEST_F(directory_watch_test, a_new_playbook_calls_back) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / "isolate.yml", "name: isolate\n");
    run_until_calls(1);
    EXPECT_EQ(calls, std::vector<std::string>{"isolate.yml modified"});
}

TEST_F(directory_watch_test, each_burst_calls_back_on_its_own) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / "contain.yaml", "name: contain\ndescription: first\n");
    run_until_calls(1);
    fs::remove(dir / "contain.yaml");
    run_until_calls(2);
    EXPECT_EQ(calls, (std::vector<std::string>{"contain.yaml modified", "contain.yaml deleted"}));
}

TEST_F(directory_watch_test, cancel_with_the_debounce_pending_never_calls_back) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / "contain.yaml", "name: contain\ndescription: edited\n");
    // The one pending operation is the inotify wait: once it has run, the debounce timer runs.
    ASSERT_EQ(io.run_one_for(5s), 1u);
    watch->cancel();
    watch->cancel();  // idempotent
    EXPECT_FALSE(watch->watching());
    run_quietly();
    EXPECT_TRUE(calls.empty());
    EXPECT_TRUE(io.stopped()) << "cancel() left an operation pending";
}

TEST_F(directory_watch_test, destroying_the_watch_with_the_debounce_pending_is_safe) {
    auto watch = start({dir.path()});
    ASSERT_TRUE(watch);
    write_file(dir / "contain.yaml", "name: contain\ndescription: edited\n");
    ASSERT_EQ(io.run_one_for(5s), 1u);
    watch.reset();
    run_quietly();
    EXPECT_TRUE(calls.empty());
    EXPECT_TRUE(io.stopped()) << "the destructor left an operation pending";
}

TEST_F(directory_watch_test, the_callback_may_destroy_the_watch) {
    std::unique_ptr<directory_watch> watch;
    auto created = directory_watch::create(io.get_executor(), {dir.path()}, debounce, [&](std::string_view what) {
        calls.emplace_back(what);
        watch.reset();
    });
    ASSERT_EQ(std::get_if<std::string>(&created), nullptr) << std::get<std::string>(created);
    watch = std::move(std::get<std::unique_ptr<directory_watch>>(created));
    write_file(dir / "contain.yaml", "name: contain\ndescription: edited\n");
    run_until_calls(1);
    write_file(dir / "contain.yaml", "name: contain\ndescription: again\n");
    run_quietly();
    EXPECT_EQ(calls, std::vector<std::string>{"contain.yaml modified"});
    EXPECT_TRUE(io.stopped());
}

TEST_F(directory_watch_test, the_directory_deleted_calls_back_and_ends_the_watch) {
    const fs::path playbooks = dir / "playbooks";
    fs::create_directory(playbooks);
    write_file(playbooks / "contain.yaml", "name: contain\n");
    auto watch = start({playbooks});
    ASSERT_TRUE(watch);
    fs::remove_all(playbooks);
    run_until_calls(1);
    EXPECT_EQ(calls,
              std::vector<std::string>{"contain.yaml deleted; " + playbooks.string() + " deleted: no longer watched"});
    EXPECT_FALSE(watch->watching());
}

TEST_F(directory_watch_test, the_directory_moved_away_calls_back_and_is_no_longer_watched) {
    const fs::path playbooks = dir / "playbooks";
    fs::create_directory(playbooks);
    auto watch = start({playbooks});
    ASSERT_TRUE(watch);
    fs::rename(playbooks, dir / "playbooks.old");
    run_until_calls(1);
    EXPECT_EQ(calls, std::vector<std::string>{playbooks.string() + " moved away: no longer watched"});
    EXPECT_FALSE(watch->watching());
    write_file(dir / "playbooks.old" / "contain.yaml", "name: contain\n");
    run_quietly();
    EXPECT_EQ(calls.size(), 1u);
}

TEST_F(directory_watch_test, a_list_of_files_watches_only_those_names) {
    write_file(dir / "other.yaml", "name: other\n");
    auto watch = start({dir / "contain.yaml"});
    ASSERT_TRUE(watch);
    write_file(dir / "other.yaml", "name: other\ndescription: not watched\n");
    write_file(dir / "contain.yaml", "name: contain\ndescription: edited\n");
    run_until_calls(1);
    run_quietly();
    EXPECT_EQ(calls, std::vector<std::string>{"contain.yaml modified"});
}

TEST_F(directory_watch_test, a_listed_file_replaced_by_rename_is_still_watched) {
    const fs::path second = dir / "more";
    fs::create_directory(second);
    write_file(second / "isolate.yaml", "name: isolate\n");
    auto watch = start({dir / "contain.yaml", second / "isolate.yaml"});
    ASSERT_TRUE(watch);
    write_file(dir / ".contain.yaml.new", "name: contain\ndescription: edited\n");
    fs::rename(dir / ".contain.yaml.new", dir / "contain.yaml");
    run_until_calls(1);
    // The watch is on the directory, so the replaced file goes on being watched.
    write_file(dir / "contain.yaml", "name: contain\ndescription: again\n");
    write_file(second / "isolate.yaml", "name: isolate\ndescription: edited\n");
    run_until_calls(2);
    EXPECT_EQ(calls, (std::vector<std::string>{"contain.yaml renamed into place",
                                               "contain.yaml modified, isolate.yaml modified"}));
}

TEST_F(directory_watch_test, a_missing_directory_fails_naming_it) {
    const fs::path missing = dir / "no-such-playbooks";
    auto created = directory_watch::create(io.get_executor(), {missing}, debounce, [](std::string_view) {});
    ASSERT_TRUE(std::holds_alternative<std::string>(created));
    EXPECT_EQ(std::get<std::string>(created), "cannot watch " + missing.string() + ": No such file or directory");
}

TEST_F(directory_watch_test, a_missing_playbook_file_fails_naming_it) {
    const fs::path missing = dir / "isolate.yaml";
    auto created =
        directory_watch::create(io.get_executor(), {dir / "contain.yaml", missing}, debounce, [](std::string_view) {});
    ASSERT_TRUE(std::holds_alternative<std::string>(created));
    EXPECT_EQ(std::get<std::string>(created), "cannot watch " + missing.string() + ": No such file or directory");
}

TEST_F(directory_watch_test, no_path_fails) {
    auto created = directory_watch::create(io.get_executor(), {}, debounce, [](std::string_view) {});
    ASSERT_TRUE(std::holds_alternative<std::string>(created));
    EXPECT_EQ(std::get<std::string>(created), "no playbook directory or file to watch");
}

}  // namespace
}  // namespace s1pilot::ops
