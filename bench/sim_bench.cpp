// bench_sim: the simulator's own figures, measured against the real s1sim binary over HTTPS.
//   SIM1  start-up: time until `s1sim --threats N` prints its listening line   goal <= 60 s (1M)
//   SIM2  peak RSS of s1sim after start-up and the runs below                  goal <= 2 GiB (1M)
//   SIM3  a filtered page of 1,000 threats out of N (median latency)           goal <= 50 ms
//   SIM4  small list requests per second over one keep-alive connection        goal >= 2,000/s
//   SIM5  small list requests whose filter needs a full scan, per second       information
// Prints one line per figure and appends JSON lines to --results (scripts/bench collects them).

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
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

using clock_type = std::chrono::steady_clock;

struct figure {
    std::string id, name;
    double value;
    std::string unit, goal;
    bool met;
};

// Reads a `VmRSS:`/`VmHWM:` line of /proc/<pid>/status, in bytes.
double proc_status_bytes(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) * 1024.0;
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::string read_line(int fd, int timeout_ms) {
    std::string line;
    char c = 0;
    while (poll(std::vector<pollfd>{{fd, POLLIN, 0}}.data(), 1, timeout_ms) > 0 && read(fd, &c, 1) == 1 && c != '\n')
        line += c;
    return line;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_sim: s1sim start-up, memory, page latency and request rate"};
    std::uint64_t threats = 1000000;
    int page_requests = 21, small_requests = 5000;
    std::string s1sim_path = S1SIM_PATH, results;
    app.add_option("--threats", threats, "dataset size")->capture_default_str();
    app.add_option("--page-requests", page_requests, "filtered 1,000-threat pages to time")->capture_default_str();
    app.add_option("--small-requests", small_requests, "small list requests to time")->capture_default_str();
    app.add_option("--s1sim", s1sim_path, "the s1sim binary")->capture_default_str();
    app.add_option("--results", results, "append JSON lines here");
    bool quick = false;
    app.add_flag("--quick", quick, "tiny sizes: proves the benchmark runs (CI); overrides the sizes above");
    CLI11_PARSE(app, argc, argv);
    if (quick) {
        threats = 2000;
        page_requests = 3;
        small_requests = 200;
    }

    auto dir = std::filesystem::temp_directory_path() / ("bench-sim-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string ca = (dir / "ca.pem").string();
    std::vector<std::string> args{
        s1sim_path, "--listen", "127.0.0.1:0", "--token", "bench", "--threats", std::to_string(threats),
        "--seed",   "1",        "--write-ca",  ca};
    std::vector<char*> argv_c;
    for (auto& a : args) argv_c.push_back(a.data());
    argv_c.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) return 1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    pid_t pid = 0;
    const auto spawned = clock_type::now();
    const int spawn_error = posix_spawn(&pid, argv_c[0], &actions, nullptr, argv_c.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error != 0) {
        std::cerr << "bench_sim: cannot start " << s1sim_path << '\n';
        return 1;
    }
    close(out[1]);
    const std::string line = read_line(out[0], 300000);
    const double ready_s = std::chrono::duration<double>(clock_type::now() - spawned).count();
    auto colon = line.rfind(':');
    if (line.rfind("listening on", 0) != 0 || colon == std::string::npos) {
        std::cerr << "bench_sim: s1sim did not start: '" << line << "'\n";
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return 1;
    }
    const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    std::stringstream ca_text;
    ca_text << std::ifstream(ca).rdbuf();
    s1sim::test::https_client client(port, ca_text.str(), "bench");

    // SIM3: the demo's playbook query, one full page of the oldest matches.
    const std::string page_query =
        "/web/api/v2.1/threats?siteIds=1364475734565842019&confidenceLevels=malicious&sortBy=createdAt&"
        "sortOrder=asc&limit=1000";
    std::vector<double> page_ms;
    std::size_t page_threats = 0;
    for (int i = 0; i < page_requests + 2; ++i) {
        auto started = clock_type::now();
        auto r = client.get(page_query);
        double ms = std::chrono::duration<double, std::milli>(clock_type::now() - started).count();
        if (r.status != 200) {
            std::cerr << "bench_sim: page request failed: " << r.status << ' ' << r.error << '\n';
            break;
        }
        if (i >= 2) page_ms.push_back(ms);  // the first two warm caches
        if (i == 0) page_threats = r.json().at("data").as_array().size();
    }

    // SIM4: reconciliation-style reads (`ids=<one id>`), one keep-alive connection.
    auto started = clock_type::now();
    int ok = 0;
    for (int i = 0; i < small_requests; ++i) {
        auto id = 1590000000000000000ULL + (static_cast<std::uint64_t>(i) % threats + 1) * 104729ULL;
        ok += client.get("/web/api/v2.1/threats?limit=1&ids=" + std::to_string(id)).status == 200;
    }
    const double small_s = std::chrono::duration<double>(clock_type::now() - started).count();
    const double rate = ok / std::max(small_s, 1e-9);

    // SIM5 (information): small pages of a filter that needs a full scan of the store.
    started = clock_type::now();
    int scans = 0;
    for (int i = 0; i < std::max(5, small_requests / 100); ++i)
        scans += client.get("/web/api/v2.1/threats?limit=10&siteIds=1364475734565842019&classifications=Ransomware")
                     .status == 200;
    const double scan_rate = scans / std::max(std::chrono::duration<double>(clock_type::now() - started).count(), 1e-9);

    const double peak_rss = proc_status_bytes(pid, "VmHWM:");
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    close(out[0]);
    std::filesystem::remove_all(dir);

    const bool full = threats >= 1000000;
    const std::string scale = " (" + std::to_string(threats) + " threats)";
    std::vector<figure> figures{
        {"SIM1", "s1sim start-up" + scale, ready_s, "s", "<= 60", !full || ready_s <= 60},
        {"SIM2", "s1sim peak RSS" + scale, peak_rss / (1 << 20), "MiB", "<= 2048",
         !full || peak_rss <= 2048.0 * (1 << 20)},
        {"SIM3", "filtered page of " + std::to_string(page_threats) + " threats, median" + scale, median(page_ms), "ms",
         "<= 50", median(page_ms) <= 50 && page_threats == std::min<std::uint64_t>(1000, page_threats)},
        {"SIM4", "small list requests (ids=) per second, keep-alive" + scale, rate, "req/s", ">= 2000", rate >= 2000},
        {"SIM5", "small list requests needing a full scan, per second" + scale, scan_rate, "req/s", "info", true},
    };
    std::ofstream json_out;
    if (!results.empty()) json_out.open(results, std::ios::app);
    for (const auto& f : figures) {
        std::printf("%-5s %-62s %12.2f %-6s goal %-8s %s\n", f.id.c_str(), f.name.c_str(), f.value, f.unit.c_str(),
                    f.goal.c_str(), f.met ? "met" : "NOT MET");
        if (json_out)
            json_out << "{\"id\":\"" << f.id << "\",\"figure\":\"" << f.name << "\",\"value\":" << f.value
                     << ",\"unit\":\"" << f.unit << "\",\"goal\":\"" << f.goal
                     << "\",\"met\":" << (f.met ? "true" : "false") << "}\n";
    }
    const bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean_exit) std::cerr << "bench_sim: s1sim did not exit cleanly on SIGTERM\n";
    return clean_exit && ok == small_requests && !page_ms.empty() ? 0 : 1;
}
