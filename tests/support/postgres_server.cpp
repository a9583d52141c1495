#include "postgres_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <libpq-fe.h>
#include <optional>
#include <poll.h>
#include <pwd.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace s1pilot::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* port = "5432";  // only names the socket file: the directory is the binary's own

struct account {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

// Who runs initdb and postgres: ourselves, or, as root, an unprivileged account.
std::optional<account> server_account(std::string& reason) {
    if (::geteuid() != 0) return account{::geteuid(), ::getegid(), ""};
    for (const char* name : {"postgres", "nobody"})
        if (const passwd* entry = ::getpwnam(name)) return account{entry->pw_uid, entry->pw_gid, name};
    reason = "running as root, and neither a postgres nor a nobody account exists to run the server as";
    return std::nullopt;
}

// In a forked child: becomes `who`, sends output to `log`, restores default signals, execs.
[[noreturn]] void become_and_exec(const account& who, const fs::path& log, const std::vector<std::string>& argv) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out >= 0) {
        if (::geteuid() == 0 && ::fchown(out, who.uid, who.gid) != 0) ::_exit(125);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        ::close(out);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) std::signal(s, SIG_DFL);
    if (!who.name.empty()) {
        if (::setgroups(1, &who.gid) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0) ::_exit(126);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
}

// Waits for `pid` at most `limit`; kills it when it overstays. The exit status, or nullopt.
std::optional<int> wait_bounded(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return status;
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return std::nullopt;
        }
        std::this_thread::sleep_for(20ms);
    }
}

std::string tail(const fs::path& file, std::size_t lines = 5) {
    std::ifstream in(file);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += " | " + all[i];
    return out;
}

std::string message_of(PGconn* connection) {
    std::string text = PQerrorMessage(connection);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

}  // namespace

struct postgres_server::impl {
    fs::path dir;         // owned by the server's account; holds data/, the socket and the logs
    pid_t watchdog = -1;  // stops postgres and removes `dir` when `control` closes
    int control = -1;     // our end of the watchdog's pipe
    int started = 0;      // databases created so far

    std::string socket_uri(const std::string& user, const std::string& database) const {
        return "postgresql://" + user + "@/" + database + "?host=" + dir.string() + "&port=" + port;
    }

    // Starts postgres under a watchdog: the watchdog is its parent, ignores the signals a terminal
    // sends the whole group, and when our end of the pipe closes (TearDown, or our death) stops
    // postgres (immediate shutdown, then SIGKILL after 10 s) and removes the directory. Postgres exiting early
    // is reported through `status`.
    std::string launch(const account& who, const fs::path& bin) {
        int control_pipe[2];
        int status_pipe[2];
        if (::pipe2(control_pipe, O_CLOEXEC) != 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0)
            return std::string("pipe: ") + std::strerror(errno);
        pid_t child = ::fork();
        if (child < 0) return std::string("fork: ") + std::strerror(errno);
        if (child == 0) {
            ::close(control_pipe[1]);
            ::close(status_pipe[0]);
            for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) std::signal(s, SIG_IGN);
            auto start_server = [&] {
                pid_t server = ::fork();
                if (server == 0)
                    become_and_exec(who, dir / "server.log",
                                    {(bin / "postgres").string(), "-D", (dir / "data").string(), "-k", dir.string(),
                                     "-p", port, "-c", "listen_addresses=", "-c", "fsync=on", "-c",
                                     "synchronous_commit=on", "-c", "max_connections=40", "-c", "shared_buffers=16MB"});
                return server;
            };
            // Immediate shutdown: no shutdown checkpoint, as a crash; bounded, then SIGKILL.
            auto stop_server = [](pid_t server) {
                ::kill(server, SIGQUIT);
                int st = 0;
                bool gone = false;
                for (int i = 0; i < 500 && !gone; ++i) {
                    gone = ::waitpid(server, &st, WNOHANG) == server;
                    if (!gone) ::usleep(20'000);
                }
                if (!gone) {
                    ::kill(server, SIGKILL);
                    ::waitpid(server, &st, 0);
                }
            };
            pid_t server = start_server();
            bool running = server > 0;
            for (;;) {
                pollfd p{control_pipe[0], POLLIN, 0};
                if (::poll(&p, 1, 100) > 0) {
                    // A command ('q': stop the server, 's': start it again), or EOF: our parent
                    // is done or dead.
                    char command = 0;
                    if (::read(control_pipe[0], &command, 1) != 1) break;
                    if (command == 'q' && running) {
                        stop_server(server);
                        running = false;
                    } else if (command == 's' && !running) {
                        server = start_server();
                        running = server > 0;
                    }
                    continue;
                }
                int st = 0;
                if (running && ::waitpid(server, &st, WNOHANG) == server) {
                    running = false;
                    [[maybe_unused]] auto n = ::write(status_pipe[1], &st, sizeof st);
                }
            }
            if (running) stop_server(server);
            std::error_code ignored;
            fs::remove_all(dir, ignored);
            ::_exit(0);
        }
        ::close(control_pipe[0]);
        ::close(status_pipe[1]);
        watchdog = child;
        control = control_pipe[1];

        // Ready when it accepts connections; bounded, and cut short if postgres exits.
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        std::string outcome = "did not accept connections within 30 s:" + tail(dir / "server.log");
        while (std::chrono::steady_clock::now() < deadline) {
            if (PQping(conninfo().c_str()) == PQPING_OK) {
                outcome.clear();
                break;
            }
            pollfd p{status_pipe[0], POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                outcome = "postgres exited at start:" + tail(dir / "server.log");
                break;
            }
        }
        ::close(status_pipe[0]);
        return outcome;
    }

    std::string conninfo() const { return "host=" + dir.string() + " port=" + port + " user=postgres dbname=postgres"; }

    // Asks the watchdog to stop or start the server, then waits (bounded) for it to answer or not.
    bool command(char what, PGPing wanted) {
        if (control < 0 || ::write(control, &what, 1) != 1) return false;
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (PQping(conninfo().c_str()) == wanted) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    void shut_down() {
        if (control < 0) {
            // Never launched: nothing runs, only initdb's leftovers to remove.
            std::error_code ignored;
            if (!dir.empty()) fs::remove_all(dir, ignored);
            dir.clear();
            return;
        }
        ::close(control);
        control = -1;
        if (watchdog > 0) wait_bounded(watchdog, 30s);
        watchdog = -1;
    }
};

namespace {

std::unique_ptr<postgres_server>& instance() {
    static std::unique_ptr<postgres_server> server;
    return server;
}
std::string& start_failure() {
    static std::string failure;
    return failure;
}

std::string start(postgres_server::impl& state) {
    const char* configured = std::getenv("S1PILOT_PG_BIN");
    const fs::path bin = configured != nullptr ? configured : "/usr/lib/postgresql/15/bin";
    if (::access((bin / "initdb").c_str(), X_OK) != 0 || ::access((bin / "postgres").c_str(), X_OK) != 0)
        return "no initdb and postgres in " + bin.string() +
               " (install Debian's postgresql-15: scripts/deps; or set S1PILOT_PG_BIN)";
    std::string reason;
    auto who = server_account(reason);
    if (!who) return reason;

    // As root, /tmp: the server's account must be able to reach the directory.
    const fs::path parent = ::geteuid() == 0 ? fs::path("/tmp") : fs::temp_directory_path();
    std::string pattern = (parent / "s1pilot-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return "mkdtemp: " + std::string(std::strerror(errno));
    state.dir = pattern;
    if (::geteuid() == 0 && ::chown(state.dir.c_str(), who->uid, who->gid) != 0)
        return "chown " + state.dir.string() + ": " + std::strerror(errno);

    // -N: initdb skips its final fsync of a throwaway directory; the server itself runs fsync=on.
    pid_t initdb = ::fork();
    if (initdb < 0) return std::string("fork: ") + std::strerror(errno);
    if (initdb == 0)
        become_and_exec(*who, state.dir / "initdb.log",
                        {(bin / "initdb").string(), "-D", (state.dir / "data").string(), "-U", "postgres", "-A",
                         "trust", "-E", "UTF8", "--locale=C", "-N"});
    auto status = wait_bounded(initdb, 120s);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
        return "initdb failed:" + tail(state.dir / "initdb.log");
    {
        // The superuser without a password, everyone else with one; the socket only.
        std::ofstream hba(state.dir / "data" / "pg_hba.conf", std::ios::trunc);
        hba << "local all postgres trust\nlocal all all scram-sha-256\n";
    }
    if (auto failure = state.launch(*who, bin); !failure.empty()) return failure;
    return {};
}

}  // namespace

postgres_server::postgres_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

postgres_server::~postgres_server() {
    impl_->shut_down();
}

const std::string& postgres_server::password() {
    static const std::string value = "ledger-test-password-7f3a";
    return value;
}

postgres_server* postgres_server::get(std::string& reason) {
    if (instance()) return instance().get();
    if (!start_failure().empty()) {
        reason = start_failure();
        return nullptr;
    }
    auto state = std::make_unique<impl>();
    auto failure = start(*state);
    auto server = std::make_unique<postgres_server>(std::move(state));
    if (failure.empty()) failure = server->exec("postgres", "CREATE ROLE s1pilot LOGIN PASSWORD '" + password() + "'");
    if (!failure.empty()) {
        server.reset();  // stops what did start, removes the directory
        start_failure() = "cannot start a PostgreSQL server: " + failure;
        reason = start_failure();
        return nullptr;
    }
    instance() = std::move(server);
    return instance().get();
}

void postgres_server::stop() {
    instance().reset();
}

bool postgres_server::stop_server() {
    return impl_->command('q', PQPING_NO_RESPONSE);
}

bool postgres_server::start_server() {
    return impl_->command('s', PQPING_OK);
}

std::string postgres_server::create_database() {
    const std::string name = "ledger_" + std::to_string(::getpid()) + "_" + std::to_string(++impl_->started);
    if (auto failure = exec("postgres", "CREATE DATABASE " + name + " OWNER s1pilot"); !failure.empty())
        throw std::runtime_error("CREATE DATABASE: " + failure);
    return name;
}

std::string postgres_server::uri(const std::string& database) const {
    return impl_->socket_uri("s1pilot", database);
}

std::string postgres_server::admin_uri(const std::string& database) const {
    return impl_->socket_uri("postgres", database);
}

std::string postgres_server::exec(const std::string& database, const std::string& sql) const {
    PGconn* connection = PQconnectdb(admin_uri(database).c_str());
    std::string failure;
    if (PQstatus(connection) != CONNECTION_OK) {
        failure = message_of(connection);
    } else {
        PGresult* result = PQexec(connection, sql.c_str());
        const auto status = PQresultStatus(result);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) failure = message_of(connection);
        PQclear(result);
    }
    PQfinish(connection);
    return failure;
}

namespace {

// Stops the server once every test has run, whatever their outcome.
class postgres_environment : public testing::Environment {
public:
    void TearDown() override { postgres_server::stop(); }
};

[[maybe_unused]] testing::Environment* const registered = testing::AddGlobalTestEnvironment(new postgres_environment);

}  // namespace

}  // namespace s1pilot::test
