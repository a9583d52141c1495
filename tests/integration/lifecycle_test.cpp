// `s1pilot run` as a service, black-box (RELIABILITY rows 20 and 21): reloads by SIGHUP and by
// the playbook directory's watch, a broken playbook refused while the old set keeps running, a
// removed playbook no longer polled; SIGTERM cutting a Retry-After wait short with nothing sent
// after it; a console that never answers delaying neither readiness nor shutdown.

#include "s1pilot/engine/effects.hpp"
#include "s1pilot/filter/keys.hpp"
#include "s1pilot/state/sqlite_ledger.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <thread>

#include "notify_socket.hpp"
#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

using clock_type = std::chrono::steady_clock;

/// A polled note playbook on its own site of the pinned dataset.
std::string polled_note(const std::string& name, const std::string& text) {
    return "name: " + name +
           "\ntrigger:\n  every: 5s\nmatch:\n  siteIds: [\"1364475734565842021\"]\n  classifications: [Exploit]\n"
           "actions:\n  - note: \"" +
           text + "\"\n";
}

/// The records of `event` after the record with sequence number `after`.
std::vector<boost::json::object> events_after(const pilot& p, std::string_view event, std::int64_t after) {
    std::vector<boost::json::object> out;
    for (auto& r : p.audit_events(event))
        if (r.at("seq").as_int64() > after) out.push_back(std::move(r));
    return out;
}

std::string names_of(const boost::json::object& loaded) {
    std::string out;
    for (const auto& p : loaded.at("playbooks").as_array()) out += std::string(p.at("name").as_string()) + " ";
    return out;
}

/// Waits (bounded) for READY=1; false if the daemon ended first.
bool wait_ready(notify_socket& systemd, child_process& daemon, std::chrono::milliseconds timeout) {
    return wait_until([&] { return contains(systemd.received(), "READY=1") || !daemon.running(); }, timeout) &&
           daemon.running();
}

/// `<dir>/playbooks` holding `alpha.yaml` (a polled note playbook), and the console settings
/// that point the configuration at that directory.
console_settings playbook_directory(const scenario& s, const std::string& note) {
    const auto playbooks = s.dir.path() / "playbooks";
    fs::create_directories(playbooks);
    write_text(playbooks / "alpha.yaml", polled_note("alpha", note));
    auto console = s.console();
    console.playbook_dir = playbooks;
    return console;
}

/// `s1pilot run ARGS…` with systemd played by `systemd`.
std::unique_ptr<child_process> start_daemon(const scenario& s, const notify_socket& systemd,
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"run", "-c", s.s1pilot.config_path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return s.s1pilot.start(args, {{"NOTIFY_SOCKET", systemd.path().string()}});
}

TEST(Lifecycle, ReloadsOnChangeAndSighupRefusingABrokenPlaybookWhileTheOldSetRuns) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const auto console = playbook_directory(s, "first words");
    const auto& playbooks = *console.playbook_dir;
    s.s1pilot.write_config(console, {});
    notify_socket systemd(s.dir.path() / "notify.sock");
    ASSERT_TRUE(systemd.bound());
    auto daemon = start_daemon(s, systemd);
    ASSERT_TRUE(wait_ready(systemd, *daemon, 60s)) << daemon->stderr_text();

    // A broken playbook dropped into the directory: refused, every problem named, old set kept.
    write_text(playbooks / "broken.yaml",
               "name: broken\nmatch:\n  siteIds: [\"1\"]\n  clasifications: [Exploit]\n"
               "actions:\n  - note: x\n");
    ASSERT_TRUE(wait_until([&] { return !s.s1pilot.audit_events("config.rejected").empty(); }, 30s))
        << daemon->stderr_text();
    const auto rejected = s.s1pilot.audit_events("config.rejected").front();
    const auto problems = boost::json::serialize(rejected.at("problems"));
    EXPECT_TRUE(contains(problems, "broken.yaml:4:3: unknown key \\\"clasifications\\\" in match")) << problems;
    // SIGHUP with the same broken file: refused again, naming the trigger.
    ASSERT_EQ(::kill(daemon->pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return s.s1pilot.audit_events("config.rejected").size() >= 2; }, 30s));
    EXPECT_EQ(text_of(s.s1pilot.audit_events("config.rejected").back(), "trigger"), "SIGHUP");
    EXPECT_TRUE(daemon->running());
    // The old set keeps running: alpha is still polled.
    const auto rejected_seq = s.s1pilot.audit_events("config.rejected").back().at("seq").as_int64();
    EXPECT_TRUE(wait_until([&] { return !events_after(s.s1pilot, "run.start", rejected_seq).empty(); }, 30s));

    // Fixed, and a second playbook added: in force within 2 s of the last write (the watch's
    // debounce included). Generous bounds for a loaded machine; the figure is printed.
    fs::remove(playbooks / "broken.yaml");
    write_text(playbooks / "beta.yaml", polled_note("beta", "second words"));
    const auto written = clock_type::now();
    ASSERT_TRUE(wait_until(
        [&] {
            const auto loaded = s.s1pilot.audit_events("config.loaded");
            return loaded.size() >= 2 && contains(names_of(loaded.back()), "beta");
        },
        30s))
        << daemon->stderr_text();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - written);
    std::printf("reload after a directory change took %lld ms\n", static_cast<long long>(took.count()));
    EXPECT_LT(took, 10s);
    const auto with_beta = s.s1pilot.audit_events("config.loaded").back();
    EXPECT_EQ(names_of(with_beta), "alpha beta ");
    EXPECT_TRUE(wait_until(
        [&] {
            for (const auto& r : s.s1pilot.audit_events("run.start"))
                if (text_of(r, "playbook") == "beta") return true;
            return false;
        },
        30s));

    // beta removed: no run of it starts after the reload that dropped it.
    fs::remove(playbooks / "beta.yaml");
    ASSERT_TRUE(wait_until(
        [&] {
            const auto loaded = s.s1pilot.audit_events("config.loaded");
            return names_of(loaded.back()) == "alpha ";
        },
        30s));
    const auto dropped = s.s1pilot.audit_events("config.loaded").back().at("seq").as_int64();
    // Two poll intervals of alpha: beta would have run in them.
    ASSERT_TRUE(wait_until([&] { return events_after(s.s1pilot, "run.start", dropped).size() >= 2; }, 30s));
    for (const auto& r : events_after(s.s1pilot, "run.start", dropped)) EXPECT_EQ(text_of(r, "playbook"), "alpha");

    EXPECT_EQ(daemon->stop(SIGTERM), 0) << daemon->stderr_text();
}

TEST(Lifecycle, SigtermCutsARetryAfterWaitShortAndNothingIsSentAfterIt) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    auto console = playbook_directory(s, "held back");
    console.retry = "{max_attempts: 3, base: 100ms, cap: 60s}";  // Retry-After: 30 is honoured
    s.s1pilot.write_config(console, {});
    // Half a write token refilled at one per 60 s: the first POST gets 429 with Retry-After: 30.
    s.sim->set_rate_limits("write=0.016667/s:burst=0.5");
    notify_socket systemd(s.dir.path() / "notify.sock");
    auto daemon = start_daemon(s, systemd);
    ASSERT_TRUE(wait_ready(systemd, *daemon, 60s)) << daemon->stderr_text();
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& r : s.sim->requests())
                if (r.method == "POST" && r.status == 429) return true;
            return false;
        },
        60s))
        << daemon->stderr_text();
    const auto seen = s.sim->requests().size();
    const auto signalled = clock_type::now();
    ASSERT_EQ(::kill(daemon->pid(), SIGTERM), 0);
    const auto code = daemon->wait(20s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - signalled);
    std::printf("exit after SIGTERM during a Retry-After wait took %lld ms\n", static_cast<long long>(took.count()));
    ASSERT_TRUE(code.has_value()) << "still waiting on the Retry-After";
    EXPECT_EQ(*code, 0) << daemon->stderr_text();
    EXPECT_LT(took, 10s);  // the wait was 30 s: cut short, not waited out
    EXPECT_EQ(s.sim->requests().size(), seen) << "a request was sent after the signal";
    // Every 429 is a warning an operator can read.
    EXPECT_TRUE(contains(daemon->stderr_text(), "the console answered 429: pausing this class of calls"))
        << daemon->stderr_text();
    EXPECT_TRUE(contains(daemon->stderr_text(), "retry_after=30s")) << daemon->stderr_text();
}

/// A TCP listener on 127.0.0.1 that completes handshakes (the kernel's backlog) and never answers.
class silent_console {
public:
    silent_console() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof(address);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd_, 64) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            return;
        port_ = ntohs(address.sin_port);
    }
    ~silent_console() {
        if (fd_ >= 0) ::close(fd_);
    }
    std::uint16_t port() const noexcept { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

TEST(Lifecycle, AConsoleThatNeverAnswersDelaysNeitherReadinessNorShutdown) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    silent_console silent;
    ASSERT_NE(silent.port(), 0);
    const auto playbook = s.fixture("note-only.yaml");
    auto console = s.console();
    console.url = "https://127.0.0.1:" + std::to_string(silent.port());
    s.s1pilot.write_config(console, {playbook});
    {
        // A row left pending by a crash: start-up must read the console before it is ready.
        core::system_clock clock;
        auto ledger = state::sqlite_ledger::open(s.s1pilot.state_path(), clock);
        ASSERT_TRUE(ledger) << ledger.error().message;
        engine::row_detail detail;
        detail.console = "sim";
        detail.scope.set(*filter::find_key("siteIds"), std::vector<std::string>{"1364475734565842021"});
        detail.note_text = "Seen by it-note-only";
        ASSERT_TRUE((*ledger)->mark_pending({{"it-note-only", "mitigate:kill", "1000000000000000001", "r-000001", "b-1",
                                              engine::encode_detail(detail)}}));
    }
    notify_socket systemd(s.dir.path() / "notify.sock");
    const auto started = clock_type::now();
    auto daemon = start_daemon(s, systemd, {"--startup-timeout", "3", "--drain-timeout", "5"});
    ASSERT_TRUE(wait_ready(systemd, *daemon, 60s)) << daemon->stderr_text();
    const auto ready_after = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
    std::printf("ready after %lld ms with startup_timeout 3 s\n", static_cast<long long>(ready_after.count()));
    EXPECT_LT(ready_after, 15s);
    EXPECT_TRUE(contains(daemon->stderr_text(), "start-up reconciliation did not finish in time"))
        << daemon->stderr_text();

    const auto signalled = clock_type::now();
    ASSERT_EQ(::kill(daemon->pid(), SIGTERM), 0);
    const auto code = daemon->wait(30s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - signalled);
    std::printf("exit after SIGTERM took %lld ms with drain_timeout 5 s\n", static_cast<long long>(took.count()));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << daemon->stderr_text();
    EXPECT_LT(took, 15s);
}

/// A small tmpfs mounted for one test (root only): a disk that really fills up.
class small_disk {
public:
    small_disk(const fs::path& where, const std::string& size) : where_(where) {
        fs::create_directories(where);
        const std::string options = "size=" + size + ",mode=0700";
        if (::mount("tmpfs", where.c_str(), "tmpfs", 0, options.c_str()) == 0)
            mounted_ = true;
        else
            error_ = std::strerror(errno);
    }
    ~small_disk() {
        if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
    }
    bool mounted() const noexcept { return mounted_; }
    const std::string& error() const noexcept { return error_; }

private:
    fs::path where_;
    bool mounted_ = false;
    std::string error_;
};

/// Complete records of `event` in an audit log that may end in a line cut short by a full disk
/// (the writer drops such a line when it opens the log again).
std::size_t complete_records(const fs::path& log, const std::string& event) {
    const auto text = read_text(log);
    std::size_t n = 0, start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
        if (text.compare(start, end - start, "") != 0 &&
            text.substr(start, end - start).find("\"event\":\"" + event + "\"") != std::string::npos)
            ++n;
    return n;
}

/// Fills `file` until only about `leave` bytes of its file system are free.
void fill_leaving(const fs::path& file, std::uintmax_t leave) {
    const auto space = fs::space(file.parent_path());
    const std::string block(4096, 'x');
    std::ofstream out(file, std::ios::binary);
    for (std::uintmax_t written = 0; written + leave + block.size() <= space.available; written += block.size())
        out << block;
}

TEST(Lifecycle, AFullAuditDiskStopsSendingAtOnceAndReadinessReturnsWhenThereIsRoomAgain) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    small_disk disk(s.dir.path() / "auditfs", "256k");
    if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs for the audit log: " << disk.error();
    const auto playbooks = s.dir.path() / "playbooks";
    write_text(playbooks / "mass.yaml",
               "name: mass\ntrigger:\n  every: 5s\nmatch:\n  siteIds: [\"1364475734565842020\"]\n"
               "limits:\n  max_threats: 1000\nactions:\n  - mitigate: kill\n");
    auto console = s.console(1);  // one threat per POST: many appends
    console.playbook_dir = playbooks;
    console.audit_file = s.dir.path() / "auditfs" / "audit.jsonl";
    s.s1pilot.write_config(console, {});
    // About a dozen POSTs' worth of records fit; then the disk is full.
    fill_leaving(s.dir.path() / "auditfs" / "filler", 24 * 1024);
    notify_socket systemd(s.dir.path() / "notify.sock");
    auto daemon = start_daemon(s, systemd);
    ASSERT_TRUE(wait_ready(systemd, *daemon, 60s)) << daemon->stderr_text();

    // The append fails: nothing more is sent, and readiness says why within a second.
    ASSERT_TRUE(wait_until([&] { return contains(daemon->stderr_text(), "failing closed"); }, 60s))
        << daemon->stderr_text();
    const auto failed_at = clock_type::now();
    ASSERT_TRUE(wait_until([&] { return contains(systemd.received(), "STATUS=not ready: audit log"); }, 10s))
        << systemd.received();
    const auto visible = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - failed_at);
    std::printf("not ready on STATUS= %lld ms after the failed append was logged\n",
                static_cast<long long>(visible.count()));
    EXPECT_LT(visible, 5s);  // within the heartbeat's second, with room for a loaded machine
    const auto posts = s.sim->posts().size();
    const auto intents = complete_records(*console.audit_file, "action.intent");
    EXPECT_GT(posts, 0u);
    EXPECT_LE(posts, intents) << "a POST left without its intent on disk";
    // Two poll intervals while failed closed: not one more POST.
    std::this_thread::sleep_for(std::chrono::seconds(11));
    EXPECT_EQ(s.sim->posts().size(), posts) << "a POST was sent after the failed append";
    EXPECT_TRUE(daemon->running());

    // Room again: the next retry succeeds and the daemon is ready without a restart.
    fs::remove(s.dir.path() / "auditfs" / "filler");
    ASSERT_TRUE(wait_until(
        [&] {
            const auto& text = systemd.received();
            return text.rfind("STATUS=running") != std::string::npos &&
                   text.rfind("STATUS=running") > text.rfind("STATUS=not ready");
        },
        30s))
        << systemd.received() << daemon->stderr_text();
    EXPECT_FALSE(s.s1pilot.audit_events("engine.recovered").empty());
    EXPECT_TRUE(wait_until([&] { return s.sim->posts().size() > posts; }, 30s)) << "sending did not resume";
    EXPECT_EQ(daemon->stop(SIGTERM), 0) << daemon->stderr_text();
    const auto verified = s.s1pilot.audit({"verify", console.audit_file->string()});
    EXPECT_EQ(verified.code, 0) << verified.describe();
}

}  // namespace
}  // namespace s1pilot::integration
