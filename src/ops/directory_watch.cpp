// inotify → one debounced callback per burst. The state is shared with every pending handler, so
// that destroying the directory_watch while a read or the debounce timer is pending is safe: the
// handlers find `cancelled` set and return without touching anything else.
#include "s1pilot/ops/directory_watch.hpp"

#include "s1pilot/engine/logging.hpp"
#include "s1pilot/ops/file_changes.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <sys/inotify.h>
#include <unistd.h>

namespace s1pilot::ops {
namespace {

namespace fs = std::filesystem;

// Every event after which a reload may read something else. IN_ONLYDIR: what is watched is always
// a directory (a file's own watch would be lost when an editor renames a new file over it).
constexpr std::uint32_t watch_mask = IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

struct watched_directory {
    fs::path path;
    bool every_playbook = false;               // a playbook directory: every playbook in it matters
    std::set<std::string, std::less<>> files;  // otherwise only these names (playbook files given one by one)

    bool matters(std::string_view name) const {
        return every_playbook ? is_watched_playbook_name(name) : files.contains(name);
    }
};

// The system's words, plus what to do when it is a limit an operator can raise.
std::string reason(int error_number) {
    std::string text = std::strerror(error_number);
    if (error_number == ENOSPC)
        text += " (the inotify watch limit is reached: raise sysctl fs.inotify.max_user_watches)";
    if (error_number == EMFILE)
        text +=
            " (the inotify instance limit, sysctl fs.inotify.max_user_instances, or the open file limit is reached)";
    return text;
}

fs::path directory_of(const fs::path& file) {
    fs::path parent = file.parent_path();
    return parent.empty() ? fs::path(".") : parent;
}

}  // namespace

struct directory_watch::state : std::enable_shared_from_this<state> {
    state(const boost::asio::any_io_executor& executor, std::chrono::milliseconds wait, change_handler handler)
        : descriptor(executor), timer(executor), debounce(wait), on_change(std::move(handler)) {}

    boost::asio::posix::stream_descriptor descriptor;  // the inotify instance
    boost::asio::steady_timer timer;                   // the debounce
    std::chrono::milliseconds debounce;
    change_handler on_change;
    std::map<int, watched_directory> directories;  // by watch descriptor; a directory gone is erased
    change_summary pending;                        // what the next callback reports
    std::uint64_t generation = 0;                  // of the one debounce wait that may still call back
    bool cancelled = false;
    // Room for many events per read; whole events only, since the kernel never splits one.
    alignas(inotify_event) std::array<char, std::size_t{64} * 1024> buffer{};

    std::optional<std::string> add(const fs::path& path) {
        std::error_code ec;
        const fs::file_status status = fs::status(path, ec);
        if (status.type() == fs::file_type::not_found) return "cannot watch " + path.string() + ": " + reason(ENOENT);
        if (ec) return "cannot watch " + path.string() + ": " + ec.message();
        const bool whole_directory = fs::is_directory(status);
        const fs::path target = whole_directory ? path : directory_of(path);
        const int watch = ::inotify_add_watch(descriptor.native_handle(), target.c_str(), watch_mask);
        if (watch < 0) {
            const int error_number = errno;
            return "cannot watch " + target.string() + ": " + reason(error_number);
        }
        // The kernel answers with the same watch for the same directory (two files in it): merge.
        watched_directory& directory = directories[watch];
        if (directory.path.empty()) directory.path = target;
        if (whole_directory)
            directory.every_playbook = true;
        else
            directory.files.insert(path.filename().string());
        return std::nullopt;
    }

    void wait_for_events() {
        descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [self = shared_from_this()](const boost::system::error_code& ec) {
                                  if (self->cancelled) return;
                                  if (ec) {
                                      self->end_every_watch("waiting for inotify events failed: " + ec.message());
                                      return;
                                  }
                                  self->read_events();
                                  // With every directory gone nothing more can arrive; cancel() or
                                  // the destructor closes the descriptor.
                                  if (!self->cancelled && !self->directories.empty()) self->wait_for_events();
                              });
    }

    void read_events() {
        bool relevant = false;
        // Until EAGAIN: the reactor may report readiness only on a change (edge-triggered).
        for (;;) {
            const ssize_t size = ::read(descriptor.native_handle(), buffer.data(), buffer.size());
            const int error_number = errno;
            if (size < 0 && error_number == EINTR) continue;
            if (size < 0 && (error_number == EAGAIN || error_number == EWOULDBLOCK)) break;
            if (size <= 0) {
                end_every_watch(std::string("reading inotify events failed: ") +
                                (size < 0 ? reason(error_number) : "end of file"));
                return;
            }
            for (std::size_t at = 0; at + sizeof(inotify_event) <= static_cast<std::size_t>(size);) {
                inotify_event event{};
                std::memcpy(&event, buffer.data() + at, sizeof event);
                const char* name = buffer.data() + at + sizeof event;
                relevant |= on_event(event.wd, event.mask, std::string_view(name, ::strnlen(name, event.len)));
                at += sizeof event + event.len;
            }
        }
        if (relevant) restart_debounce();
    }

    // Whether the event belongs in the next callback.
    bool on_event(int watch, std::uint32_t mask, std::string_view name) {
        if ((mask & IN_Q_OVERFLOW) != 0) {
            engine::log_warn("playbook watch: the inotify queue overflowed; some changes were not named");
            pending.add_note("inotify queue overflowed: some changes not named");
            return true;
        }
        const auto found = directories.find(watch);
        if (found == directories.end()) return false;  // the last events of a watch that has ended
        if ((mask & IN_DELETE_SELF) != 0) return end_watch(found, "deleted");
        if ((mask & IN_MOVE_SELF) != 0) return end_watch(found, "moved away");
        if ((mask & IN_UNMOUNT) != 0) return end_watch(found, "unmounted");
        if ((mask & IN_IGNORED) != 0) return end_watch(found, "no longer watchable");
        const std::optional<file_change> change = classify(mask);
        if (!change || !found->second.matters(name)) return false;
        pending.add(name, *change);
        return true;
    }

    bool end_watch(std::map<int, watched_directory>::iterator found, std::string_view how) {
        const std::string path = found->second.path.string();
        // The kernel drops the watch of a deleted directory by itself, but would go on watching a
        // moved one under a name that no longer leads to the playbooks.
        (void)::inotify_rm_watch(descriptor.native_handle(), found->first);
        directories.erase(found);
        engine::log_warn("playbook directory " + std::string(how) + ": no longer watching it for changes",
                         {{"directory", path}});
        pending.add_note(path + " " + std::string(how) + ": no longer watched");
        return true;
    }

    void end_every_watch(const std::string& why) {
        engine::log_error("playbook watch ended: " + why);
        directories.clear();
        pending.add_note("playbook watch ended: " + why);
        restart_debounce();
    }

    void restart_debounce() {
        const std::uint64_t wait = ++generation;
        // Cancels the previous wait; one that already completed (its handler queued) is told
        // apart by its generation.
        timer.expires_after(debounce);
        timer.async_wait([self = shared_from_this(), wait](const boost::system::error_code& ec) {
            if (ec || self->cancelled || wait != self->generation) return;
            self->call_back();
        });
    }

    void call_back() {
        const std::string what = pending.text();
        pending.clear();
        // A copy: the callback may cancel or destroy the watch, which releases on_change while it
        // runs.
        const change_handler callback = on_change;
        if (callback) callback(what);
    }

    void cancel() noexcept {
        if (cancelled) return;
        cancelled = true;
        ++generation;
        timer.cancel();
        // Closing the inotify instance removes every watch; the pending wait completes as aborted.
        boost::system::error_code ignored;
        descriptor.close(ignored);
        directories.clear();
        pending.clear();
        on_change = nullptr;
    }
};

std::variant<std::unique_ptr<directory_watch>, std::string> directory_watch::create(
    const boost::asio::any_io_executor& executor, const std::vector<fs::path>& paths,
    std::chrono::milliseconds debounce, change_handler on_change) {
    if (paths.empty()) return std::string("no playbook directory or file to watch");
    auto watch_state = std::make_shared<state>(executor, debounce, std::move(on_change));
    const int descriptor = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (descriptor < 0) {
        const int error_number = errno;
        return "cannot watch the playbooks: inotify_init1: " + reason(error_number);
    }
    boost::system::error_code ec;
    watch_state->descriptor.assign(descriptor, ec);
    if (ec) {
        ::close(descriptor);
        return "cannot watch the playbooks: " + ec.message();
    }
    for (const fs::path& path : paths)
        if (std::optional<std::string> failed = watch_state->add(path)) return std::move(*failed);
    watch_state->wait_for_events();
    return std::unique_ptr<directory_watch>(new directory_watch(std::move(watch_state)));
}

void directory_watch::cancel() noexcept {
    state_->cancel();
}

bool directory_watch::watching() const noexcept {
    return !state_->cancelled && !state_->directories.empty();
}

directory_watch::~directory_watch() {
    cancel();
}

}  // namespace s1pilot::ops
