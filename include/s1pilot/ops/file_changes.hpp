#pragma once
// The decisions of directory_watch, apart from its I/O: which inotify events change a playbook
// and how one burst of them reads in the log. Pure, for tests with made-up events.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s1pilot::ops {

/// What an event did to a file, as the log says it.
enum class file_change {
    modified,      ///< written in place (IN_MODIFY, IN_CLOSE_WRITE)
    created,       ///< IN_CREATE
    renamed_in,    ///< renamed to this name, e.g. an editor's temporary file over the original (IN_MOVED_TO)
    deleted,       ///< IN_DELETE
    renamed_away,  ///< renamed to another name or directory (IN_MOVED_FROM)
};

/// "modified", "created", "renamed into place", "deleted", "renamed away".
std::string_view to_string(file_change change);

/// The change an inotify event mask reports for a file in a watched directory; nullopt for the
/// events that change neither content nor existence (open, read, attributes) and for
/// subdirectories (IN_ISDIR).
std::optional<file_change> classify(std::uint32_t mask);

/// Whether a file of a directory watched as a whole is a playbook: config::is_playbook_file's
/// rule (the loader's), except Emacs lock links (`.#x.yaml`), which point nowhere and which the
/// loader skips as not regular files.
bool is_watched_playbook_name(std::string_view name);

/// The changes of one debounce window: the latest change of each file, in the order the files
/// first changed, and notes (a directory gone, events lost), rendered as one log text.
class change_summary {
public:
    /// Files named in text(); the others are counted.
    static constexpr std::size_t max_named_files = 3;

    void add(std::string_view file, file_change change);
    void add_note(std::string note);
    bool empty() const noexcept { return files_.empty() && notes_.empty(); }
    void clear() noexcept;

    /// "contain.yaml modified", "a.yaml modified, b.yaml deleted, c.yaml created and 2 more",
    /// notes after the files: "a.yaml deleted; /etc/s1pilot/playbooks deleted: no longer watched".
    std::string text() const;

private:
    std::vector<std::pair<std::string, file_change>> files_;
    std::vector<std::string> notes_;
};

}  // namespace s1pilot::ops
