// bench_parse: B7 of PERFORMANCE.md, one 1,000-threat GET /threats page parsed and its threats
// extracted (s1pilot's page parser, the step between every resolve read and the next).
//   B7  parse + extract of one 1,000-threat page, median of the repetitions   goal <= 3 ms
// Two pages: what s1sim serves (its library in-process, so the shape cannot drift from the
// simulator's) and the recorded console threat of tests/data/threat-page.json repeated with
// distinct ids (the fields s1sim does not model, such as indicators, make it larger).
// Google Benchmark measures; its --benchmark_* flags work as usual. Appends one JSON line per
// page to --results (scripts/bench collects them).

#include "s1pilot/core/time.hpp"
#include "s1pilot/s1/page_parser.hpp"

#include <boost/json.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "simulator.hpp"

namespace {

constexpr std::size_t page_size = 1000;

// A full page of the generated dataset, oldest first, as a resolve's first read gets it.
std::string generated_page() {
    s1sim::simulator_options options;
    options.token = "bench";
    options.threats = page_size;
    options.now = s1pilot::core::parse_timestamp("2024-05-01T00:00:00Z");
    s1sim::simulator sim(std::move(options));
    s1sim::http_request request;
    request.method = "GET";
    request.path = std::string(s1sim::api_prefix) + "/threats";
    request.query = "limit=" + std::to_string(page_size) + "&sortBy=createdAt&sortOrder=asc";
    request.authorization = "ApiToken bench";
    auto response = sim.handle(request);
    return response.status == 200 ? std::move(response.body) : std::string{};
}

// The recorded threat `page_size` times, compact as the console sends it, ids made distinct.
std::string recorded_page() {
    std::ifstream in(S1PILOT_TEST_DATA "/threat-page.json");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto recorded = boost::json::parse(text.str(), ec);
    if (ec) return {};
    const auto& threat = recorded.at("data").at(0).as_object();
    boost::json::array data;
    for (std::size_t i = 0; i < page_size; ++i) {
        auto copy = threat;
        copy["id"] = std::to_string(1596270471532451327ULL + i);
        data.push_back(std::move(copy));
    }
    return boost::json::serialize(
        boost::json::object{{"data", std::move(data)},
                            {"pagination", {{"nextCursor", "YWdlbnRfaWQ6NTgwMjkzODE="}, {"totalItems", 222000}}}});
}

// Keeps the time per iteration of every repetition, so the figure is their median rather than
// the mean Google Benchmark aggregates, like every other figure of scripts/bench.
class collecting_reporter : public benchmark::ConsoleReporter {
public:
    // Colour only on a terminal: scripts/bench sends this output to a log.
    collecting_reporter() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_Defaults : OO_Tabular) {}
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs)
            if (run.run_type == Run::RT_Iteration && run.iterations > 0)
                milliseconds[run.run_name.function_name].push_back(run.real_accumulated_time * 1e3 /
                                                                   static_cast<double>(run.iterations));
        ConsoleReporter::ReportRuns(runs);
    }
    std::map<std::string, std::vector<double>> milliseconds;  ///< by benchmark name
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

struct page {
    std::string name, origin, body;
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);  // takes its --benchmark_* flags out of argv
    CLI::App app{"bench_parse: one 1,000-threat page through s1pilot's page parser (B7)"};
    std::string results;
    bool quick = false;
    app.add_option("--results", results, "append the JSON lines of the figures here");
    app.add_flag("--quick", quick, "a few iterations only: proves the benchmark runs (CI)");
    // scripts/bench passes S1PILOT_BENCH_ARGS to every program; those meant for others are ignored.
    app.allow_extras();
    CLI11_PARSE(app, argc, argv);

    const std::vector<page> pages{{"B7/generated", "s1sim", generated_page()},
                                  {"B7/recorded", "recorded threat", recorded_page()}};
    for (const auto& p : pages) {
        // A page that does not parse whole would time an early error, not the parser.
        auto parsed = s1pilot::s1::parse_threat_page(p.body);
        if (!parsed || parsed->threats.size() != page_size) {
            std::cerr << "bench_parse: the page (" << p.origin << ") did not parse into " << page_size
                      << " threats: " << (parsed ? std::to_string(parsed->threats.size()) : parsed.error().message)
                      << '\n';
            return 1;
        }
        auto* bench = benchmark::RegisterBenchmark(p.name.c_str(), [&body = p.body](benchmark::State& state) {
            for (auto _ : state) {
                auto parsed = s1pilot::s1::parse_threat_page(body);
                benchmark::DoNotOptimize(parsed);
            }
            state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
        });
        bench->Unit(benchmark::kMillisecond)->Repetitions(quick ? 1 : 10);
        if (quick) bench->Iterations(3);
    }

    collecting_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();

    std::ofstream out;
    if (!results.empty()) out.open(results, std::ios::app);
    int status = 0;
    for (const auto& p : pages) {
        auto timed = reporter.milliseconds.find(p.name);
        if (timed == reporter.milliseconds.end()) {
            status = 1;  // filtered out by --benchmark_filter, or it did not run
            continue;
        }
        const double ms = median(timed->second);
        const bool met = ms <= 3;
        const std::string name = "parse + extract one " + std::to_string(page_size) + "-threat page (" + p.origin +
                                 ", " + std::to_string(p.body.size() / 1000) + " kB), median";
        std::printf("%-5s %-72s %9.3f ms  goal <= 3  %s\n", "B7", name.c_str(), ms, met ? "met" : "NOT MET");
        if (out)
            out << R"({"id":"B7","figure":")" << name << R"(","value":)" << ms << R"(,"unit":"ms","goal":"<= 3","met":)"
                << (met ? "true" : "false") << "}\n";
    }
    return status;
}
