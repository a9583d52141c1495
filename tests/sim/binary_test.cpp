// The real s1sim binary: flags, the listening line, the written CA, the journal file, the dataset
// file and a clean exit on SIGTERM.

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "https_client.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using s1sim::test::https_client;

// One s1sim process; killed by the destructor if the test did not stop it.
class sim_process {
public:
    explicit sim_process(std::vector<std::string> args) {
        args.insert(args.begin(), S1PILOT_BINARY_DIR "/s1sim");
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int out[2], err[2];
        EXPECT_EQ(pipe(out), 0);
        EXPECT_EQ(pipe(err), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_adddup2(&actions, err[1], 2);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawn_file_actions_addclose(&actions, err[0]);
        EXPECT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        close(out[1]);
        close(err[1]);
        out_ = out[0];
        err_ = err[0];
    }
    ~sim_process() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        close(out_);
        close(err_);
    }

    // The first stdout line, waiting at most `timeout_ms`.
    std::string first_line(int timeout_ms = 60000) {
        std::string line;
        char c = 0;
        while (true) {
            pollfd p{out_, POLLIN, 0};
            if (poll(&p, 1, timeout_ms) <= 0) return line;
            if (read(out_, &c, 1) != 1 || c == '\n') return line;
            line += c;
        }
    }
    // Everything on stdout until the process closes it, waiting at most `timeout_ms` per read.
    std::string all_stdout(int timeout_ms = 30000) {
        std::string text;
        char buffer[4096];
        pollfd p{out_, POLLIN, 0};
        while (poll(&p, 1, timeout_ms) > 0) {
            auto n = read(out_, buffer, sizeof buffer);
            if (n <= 0) break;
            text.append(buffer, static_cast<std::size_t>(n));
        }
        return text;
    }
    std::string stderr_text() {
        std::string text;
        char buffer[4096];
        pollfd p{err_, POLLIN, 0};
        while (poll(&p, 1, 100) > 0) {
            auto n = read(err_, buffer, sizeof buffer);
            if (n <= 0) break;
            text.append(buffer, static_cast<std::size_t>(n));
        }
        return text;
    }
    // Sends `sig` and waits (bounded) for the exit status; -1 on timeout.
    int stop(int sig = SIGTERM, int timeout_ms = 30000) {
        kill(pid_, sig);
        for (int waited = 0; waited < timeout_ms; waited += 20) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            usleep(20000);
        }
        return -1;
    }
    int wait_exit(int timeout_ms = 30000) { return stop(0, timeout_ms); }

private:
    pid_t pid_ = -1;
    int out_ = -1, err_ = -1;
};

std::uint16_t port_of(const std::string& line) {
    auto colon = line.rfind(':');
    return colon == std::string::npos ? 0 : static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

fs::path temp_dir() {
    auto dir = fs::temp_directory_path() / ("s1sim-test-" + std::to_string(getpid()));
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST(Binary, ServesOnPortZeroWritesTheCaJournalsAndStopsOnSigterm) {
    auto dir = temp_dir();
    sim_process sim({"--listen", "127.0.0.1:0", "--token", "bin-token", "--threats", "50", "--seed", "3", "--now",
                     "2024-05-01T00:00:00Z", "--write-ca", (dir / "ca.pem").string(), "--journal",
                     (dir / "journal.jsonl").string()});
    auto line = sim.first_line();
    ASSERT_TRUE(line.starts_with("listening on 127.0.0.1:")) << line << sim.stderr_text();
    https_client client(port_of(line), read_file(dir / "ca.pem"), "bin-token");
    auto r = client.get("/web/api/v2.1/threats?countOnly=true");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.json().at("pagination").at("totalItems").as_int64(), 50);
    client.post("/web/api/v2.1/threats/notes", R"({"filter":{"ids":["1590000000000104729"]},"data":{"text":"x"}})");
    EXPECT_EQ(sim.stop(SIGTERM), 0);
    std::istringstream journal(read_file(dir / "journal.jsonl"));
    std::vector<boost::json::value> lines;
    for (std::string l; std::getline(journal, l);) lines.push_back(boost::json::parse(l));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].at("method"), "GET");
    EXPECT_EQ(lines[1].at("path"), "/web/api/v2.1/threats/notes");
    EXPECT_EQ(lines[1].at("status").as_int64(), 200);
    fs::remove_all(dir);
}

TEST(Binary, LoadsADatasetFileAndStopsOnSigint) {
    auto dir = temp_dir();
    sim_process sim({"--listen", "127.0.0.1:0", "--token", "t", "--dataset", S1PILOT_TEST_DATA "/threat-page.json",
                     "--write-ca", (dir / "ca.pem").string()});
    auto line = sim.first_line();
    ASSERT_TRUE(line.starts_with("listening on")) << line << sim.stderr_text();
    https_client client(port_of(line), read_file(dir / "ca.pem"), "t", "localhost");
    auto r = client.get("/web/api/v2.1/threats?ids=1596270471532451327");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.json().at("data").at(0).at("threatInfo").at("threatName"), "invoice_8812.exe");
    EXPECT_EQ(sim.stop(SIGINT), 0);
    fs::remove_all(dir);
}

TEST(Binary, MinimalAnswersFlag) {
    auto dir = temp_dir();
    sim_process sim({"--listen", "127.0.0.1:0", "--token", "t", "--dataset", S1PILOT_TEST_DATA "/threat-page.json",
                     "--answers", "minimal", "--write-ca", (dir / "ca.pem").string()});
    auto line = sim.first_line();
    ASSERT_TRUE(line.starts_with("listening on")) << line << sim.stderr_text();
    https_client client(port_of(line), read_file(dir / "ca.pem"), "t", "localhost");
    auto r =
        client.post("/web/api/v2.1/threats/mitigate/kill", R"({"filter":{"ids":["1596270471532451327"]},"data":{}})");
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, R"({"data":{"affected":1}})");
    EXPECT_EQ(sim.stop(SIGTERM), 0);
    fs::remove_all(dir);
}

TEST(Binary, BadFlagsExitWithAUsageError) {
    sim_process missing_token({"--listen", "127.0.0.1:0"});
    EXPECT_NE(missing_token.wait_exit(), 0);
    sim_process bad_faults({"--token", "t", "--faults", "status500=7"});
    EXPECT_EQ(bad_faults.wait_exit(), 2);
    EXPECT_NE(bad_faults.stderr_text().find("status500"), std::string::npos);
    sim_process bad_answers({"--token", "t", "--answers", "terse"});
    EXPECT_EQ(bad_answers.wait_exit(), 2);
    EXPECT_EQ(bad_answers.stderr_text(), "s1sim: --answers: expected detailed or minimal, got 'terse'\n");
    sim_process bad_dataset({"--token", "t", "--listen", "127.0.0.1:0", "--dataset", "/nonexistent/threats.json"});
    EXPECT_EQ(bad_dataset.wait_exit(), 1);
    EXPECT_NE(bad_dataset.stderr_text().find("/nonexistent/threats.json"), std::string::npos);
}

TEST(Binary, AgentFlagsAreShownInHelpAndBadValuesNamed) {
    sim_process help({"--help"});
    const std::string text = help.all_stdout();
    EXPECT_EQ(help.wait_exit(), 0);
    EXPECT_NE(text.find("--agent-delay"), std::string::npos) << text;
    EXPECT_NE(text.find("--agents-offline"), std::string::npos) << text;
    EXPECT_NE(text.find("mitigation_failed"), std::string::npos) << text;

    sim_process bad_delay({"--token", "t", "--agent-delay", "soon"});
    EXPECT_EQ(bad_delay.wait_exit(), 2);
    EXPECT_EQ(bad_delay.stderr_text(), "s1sim: --agent-delay: expected a duration such as 2s or 250ms, got 'soon'\n");
    sim_process bad_offline({"--token", "t", "--agents-offline", "1.5"});
    EXPECT_EQ(bad_offline.wait_exit(), 2);
    EXPECT_EQ(bad_offline.stderr_text(),
              "s1sim: --agents-offline: expected a fraction between 0 and 1 such as 0.2, got '1.5'\n");
    sim_process bad_failed({"--token", "t", "--faults", "mitigation_failed=often"});
    EXPECT_EQ(bad_failed.wait_exit(), 2);
    EXPECT_EQ(bad_failed.stderr_text(),
              "s1sim: --faults: mitigation_failed must be a probability between 0 and 1 (got 'often')\n");
}
