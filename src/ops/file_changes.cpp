#include "s1pilot/ops/file_changes.hpp"

#include "s1pilot/config/load.hpp"

#include <algorithm>
#include <filesystem>
#include <sys/inotify.h>

namespace s1pilot::ops {

std::string_view to_string(file_change change) {
    switch (change) {
        case file_change::modified: return "modified";
        case file_change::created: return "created";
        case file_change::renamed_in: return "renamed into place";
        case file_change::deleted: return "deleted";
        case file_change::renamed_away: return "renamed away";
    }
    return "changed";
}

std::optional<file_change> classify(std::uint32_t mask) {
    // A subdirectory named x.yaml is not a playbook, whatever happens to it.
    if ((mask & IN_ISDIR) != 0) return std::nullopt;
    // One event carries one of these bits; the order only makes the answer definite if not.
    if ((mask & IN_DELETE) != 0) return file_change::deleted;
    if ((mask & IN_MOVED_FROM) != 0) return file_change::renamed_away;
    if ((mask & IN_MOVED_TO) != 0) return file_change::renamed_in;
    if ((mask & IN_CREATE) != 0) return file_change::created;
    if ((mask & (IN_MODIFY | IN_CLOSE_WRITE)) != 0) return file_change::modified;
    return std::nullopt;
}

bool is_watched_playbook_name(std::string_view name) {
    if (name.starts_with(".#")) return false;
    return config::is_playbook_file(std::filesystem::path(name));
}

void change_summary::add(std::string_view file, file_change change) {
    // The latest change is the file's state when the window closes, which is what a reload reads:
    // an editor's "renamed away, created, modified" sequence reads as "modified".
    const auto known = std::find_if(files_.begin(), files_.end(), [&](const auto& f) { return f.first == file; });
    if (known != files_.end())
        known->second = change;
    else
        files_.emplace_back(std::string(file), change);
}

void change_summary::add_note(std::string note) {
    if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) notes_.push_back(std::move(note));
}

void change_summary::clear() noexcept {
    files_.clear();
    notes_.clear();
}

std::string change_summary::text() const {
    std::string out;
    const std::size_t named = std::min(files_.size(), max_named_files);
    for (std::size_t i = 0; i < named; ++i) {
        if (i > 0) out += ", ";
        out += files_[i].first;
        out += ' ';
        out += to_string(files_[i].second);
    }
    if (files_.size() > named) out += " and " + std::to_string(files_.size() - named) + " more";
    for (const auto& note : notes_) {
        if (!out.empty()) out += "; ";
        out += note;
    }
    return out;
}

}  // namespace s1pilot::ops
