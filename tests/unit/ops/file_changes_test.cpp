// The watch's pure decisions: which events count, which names are playbooks, and the log text of
// one burst.

#include "s1pilot/ops/file_changes.hpp"

#include <gtest/gtest.h>

#include <sys/inotify.h>

namespace s1pilot::ops {
namespace {

TEST(classify, maps_each_content_or_existence_event_to_its_change) {
    EXPECT_EQ(classify(IN_MODIFY), file_change::modified);
    EXPECT_EQ(classify(IN_CLOSE_WRITE), file_change::modified);
    EXPECT_EQ(classify(IN_CREATE), file_change::created);
    EXPECT_EQ(classify(IN_MOVED_TO), file_change::renamed_in);
    EXPECT_EQ(classify(IN_DELETE), file_change::deleted);
    EXPECT_EQ(classify(IN_MOVED_FROM), file_change::renamed_away);
}

TEST(classify, ignores_reads_attributes_and_subdirectories) {
    EXPECT_EQ(classify(IN_OPEN), std::nullopt);
    EXPECT_EQ(classify(IN_ACCESS), std::nullopt);
    EXPECT_EQ(classify(IN_CLOSE_NOWRITE), std::nullopt);
    EXPECT_EQ(classify(IN_ATTRIB), std::nullopt);
    EXPECT_EQ(classify(IN_CREATE | IN_ISDIR), std::nullopt);
    EXPECT_EQ(classify(IN_DELETE | IN_ISDIR), std::nullopt);
}

TEST(is_watched_playbook_name, takes_yaml_and_yml_as_the_loader_does) {
    EXPECT_TRUE(is_watched_playbook_name("contain.yaml"));
    EXPECT_TRUE(is_watched_playbook_name("contain.yml"));
    EXPECT_TRUE(is_watched_playbook_name("two.dots.yaml"));
}

TEST(is_watched_playbook_name, skips_editor_swap_backup_probe_and_lock_files) {
    EXPECT_FALSE(is_watched_playbook_name(".contain.yaml.swp"));  // vim swap
    EXPECT_FALSE(is_watched_playbook_name(".contain.yaml.swx"));
    EXPECT_FALSE(is_watched_playbook_name("contain.yaml~"));   // backup
    EXPECT_FALSE(is_watched_playbook_name("4913"));            // vim's write probe
    EXPECT_FALSE(is_watched_playbook_name("#contain.yaml#"));  // Emacs auto-save
    EXPECT_FALSE(is_watched_playbook_name(".#contain.yaml"));  // Emacs lock link
    EXPECT_FALSE(is_watched_playbook_name("contain.yaml.tmp"));
    EXPECT_FALSE(is_watched_playbook_name("README.md"));
}

TEST(change_summary, names_one_change) {
    change_summary summary;
    EXPECT_TRUE(summary.empty());
    summary.add("contain.yaml", file_change::modified);
    EXPECT_FALSE(summary.empty());
    EXPECT_EQ(summary.text(), "contain.yaml modified");
}

TEST(change_summary, keeps_the_latest_change_of_a_file_in_first_seen_order) {
    change_summary summary;
    summary.add("contain.yaml", file_change::renamed_away);  // an editor's save: away, new, written
    summary.add("isolate.yaml", file_change::deleted);
    summary.add("contain.yaml", file_change::created);
    summary.add("contain.yaml", file_change::modified);
    EXPECT_EQ(summary.text(), "contain.yaml modified, isolate.yaml deleted");
}

TEST(change_summary, counts_the_files_past_the_named_ones) {
    change_summary summary;
    for (const char* name : {"a.yaml", "b.yaml", "c.yaml", "d.yaml", "e.yaml"}) summary.add(name, file_change::created);
    summary.add("c.yaml", file_change::renamed_in);
    EXPECT_EQ(summary.text(), "a.yaml created, b.yaml created, c.yaml renamed into place and 2 more");
}

TEST(change_summary, puts_notes_after_the_files_once_each) {
    change_summary summary;
    summary.add_note("/srv/playbooks deleted: no longer watched");
    EXPECT_EQ(summary.text(), "/srv/playbooks deleted: no longer watched");
    summary.add("a.yaml", file_change::deleted);
    summary.add_note("/srv/playbooks deleted: no longer watched");
    EXPECT_EQ(summary.text(), "a.yaml deleted; /srv/playbooks deleted: no longer watched");
    summary.clear();
    EXPECT_TRUE(summary.empty());
    EXPECT_EQ(summary.text(), "");
}

TEST(change_summary, says_renamed_away_for_a_file_moved_out) {
    change_summary summary;
    summary.add("a.yaml", file_change::renamed_away);
    EXPECT_EQ(summary.text(), "a.yaml renamed away");
}

}  // namespace
}  // namespace s1pilot::ops
