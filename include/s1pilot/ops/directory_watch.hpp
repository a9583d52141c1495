#pragma once
// Watching the playbooks for a reload: inotify on the playbook directory (or on the directories
// of a list of playbook files), with a burst of events coalesced into one callback.
//
// Seen: writes in place (IN_MODIFY, IN_CLOSE_WRITE), a temporary file renamed over the original
// (IN_MOVED_TO) or a new file (IN_CREATE), deletions (IN_DELETE, IN_MOVED_FROM), and a watched
// directory deleted or moved away (IN_DELETE_SELF, IN_MOVE_SELF): that one is reported, logged,
// and no longer watched. A full kernel queue (IN_Q_OVERFLOW) is reported too, since a change may
// be among the lost events. Not seen: a change behind a symbolic link (the link's target in
// another directory), and a directory created again after it was deleted (create a new watch).
//
// Thread model: single-threaded. Everything runs on the executor given to create(): the callback,
// and cancel() and the destructor must be called there too (or before the executor runs). The
// object must be destroyed before the executor's execution context.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace s1pilot::ops {

class directory_watch {
public:
    /// `what`, for the log: "contain.yaml modified", "a.yaml modified, b.yaml deleted",
    /// "/etc/s1pilot/playbooks deleted: no longer watched".
    using change_handler = std::function<void(std::string_view what)>;

    /// Starts watching. Each path is a directory (every playbook in it: config::is_playbook_file)
    /// or a playbook file (its directory is watched, and only its name matters), and must exist.
    /// `on_change` runs once per burst, `debounce` after the burst's last relevant event.
    /// Fails with a message naming the path and the system's reason when a path does not exist or
    /// cannot be watched (the inotify limits included, named with the sysctl to raise).
    static std::variant<std::unique_ptr<directory_watch>, std::string> create(
        const boost::asio::any_io_executor& executor, const std::vector<std::filesystem::path>& paths,
        std::chrono::milliseconds debounce, change_handler on_change);

    /// Cancels: stops watching, drops a pending burst (no callback runs after this call, also
    /// when it is called from the callback) and releases the callback. Idempotent.
    void cancel() noexcept;

    /// False after cancel() and once every watched directory was deleted or moved away.
    bool watching() const noexcept;

    /// Cancels. Operations still pending own the state they use, so this is safe at any time.
    ~directory_watch();

    directory_watch(const directory_watch&) = delete;
    directory_watch& operator=(const directory_watch&) = delete;

private:
    struct state;  // shared with the pending operations, which outlive this object when need be

    explicit directory_watch(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}

    std::shared_ptr<state> state_;
};

}  // namespace s1pilot::ops
