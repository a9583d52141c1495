// bench_sim_page: B8 of PERFORMANCE.md, the time s1sim takes to serve one filtered 1,000-threat
// page of GET /threats, as a resolve reads them: a playbook's filter, sorted by createdAt, each
// page after the first carrying the previous page's nextCursor.
//   B8  server time of one page: p50 and p99 over --pages pages        goal <= 8 ms
// Server time is what s1sim does between reading a request and writing its response: parse the
// query, select, order, serialise (simulator::handle, its library in-process, so no TLS or client
// is counted). When the match ends before --pages pages, the walk starts again at the first page,
// as the next poll of the playbook does. Appends one JSON line per figure to --results.

#include "s1pilot/core/time.hpp"

#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "generator.hpp"
#include "simulator.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

// Every site of the generated dataset, the classifications a containment playbook names, the
// confidence levels and states it acts on, and the last four weeks of a 30-day dataset: about
// half the threats match (489,392 of B8's 1,000,000), and 50 timed pages walk the oldest 50,000.
std::string playbook_query(const std::string& now_minus_28_days) {
    using namespace s1sim::well_known;
    return fmt::format(
        "siteIds={},{},{},{}&classifications=Malware,Ransomware,Trojan,Infostealer&"
        "confidenceLevels=malicious,suspicious&mitigationStatuses=not_mitigated,mitigated&createdAt__gte={}&"
        "sortBy=createdAt&sortOrder=asc&limit=1000",
        site_default, site_acme_eu, site_globex, site_cloud, now_minus_28_days);
}

// Percent-encodes a cursor (base64: `+`, `/` and `=`).
std::string url_encode(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~')
            out += c;
        else
            out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
    return out;
}

// The nearest-rank percentile of `v` (p in (0, 100]).
double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

struct walk {
    std::vector<double> ms;    ///< server time of each timed page
    std::size_t threats = 0;   ///< threats on the first timed page
    std::size_t bytes = 0;     ///< body bytes of the timed pages
    std::int64_t matched = 0;  ///< totalItems
    bool failed = false;
};

walk walk_pages(s1sim::simulator& sim, const std::string& query, int pages, int warm_up) {
    walk out;
    s1sim::http_request request{"GET", std::string(s1sim::api_prefix) + "/threats", query, {}, "ApiToken bench"};
    for (int i = 0; i < warm_up + pages; ++i) {
        const auto started = clock_type::now();
        auto response = sim.handle(request);
        const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - started).count();
        if (response.status != 200) {
            std::fprintf(stderr, "bench_sim_page: page %d answered %u: %s\n", i, response.status,
                         response.body.c_str());
            out.failed = true;
            return out;
        }
        // The cursor and the total follow the threats: only the tail is parsed, so that a profile
        // of this program shows s1sim's work, not the benchmark's.
        std::string_view body = response.body;
        const auto tail = body.rfind("\"pagination\":");
        const auto pagination = boost::json::parse(body.substr(tail + 13, body.size() - tail - 14));
        const auto& next = pagination.at("nextCursor");
        out.matched = pagination.at("totalItems").as_int64();
        if (i >= warm_up) {
            out.ms.push_back(ms);
            out.bytes += body.size();
            if (out.threats == 0) out.threats = boost::json::parse(body).at("data").as_array().size();
        }
        request.query = next.is_null() ? query : query + "&cursor=" + url_encode(next.as_string());
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_sim_page: server time of s1sim's filtered 1,000-threat pages (B8)"};
    std::uint64_t threats = 1000000;  // B8's size (PERFORMANCE.md): about 0.5 GB, 2 s to generate
    int pages = 50, warm_up = 2;
    std::string results, query;
    bool quick = false;
    app.add_option("--threats", threats, "generated dataset size")->capture_default_str();
    app.add_option("--pages", pages, "pages to time, following nextCursor")->capture_default_str();
    app.add_option("--query", query, "time this GET /threats query instead of the playbook's (no cursor)");
    app.add_option("--results", results, "append JSON lines here");
    app.add_flag("--quick", quick, "tiny sizes: proves the benchmark runs (CI); overrides the sizes above");
    CLI11_PARSE(app, argc, argv);
    if (quick) {
        threats = 5000;
        pages = 5;
    }

    const auto now = *s1pilot::core::parse_timestamp("2024-05-01T00:00:00Z");
    s1sim::simulator_options options;
    options.token = "bench";
    options.threats = threats;
    options.seed = 1;
    options.now = now;
    s1sim::simulator sim(std::move(options));
    if (query.empty()) query = playbook_query(s1pilot::core::format_timestamp(now - std::chrono::hours(24 * 28)));
    auto w = walk_pages(sim, query, pages, warm_up);
    if (w.failed || w.ms.empty()) return 1;

    const double p50 = percentile(w.ms, 50), p99 = percentile(w.ms, 99);
    const std::string scale = fmt::format("{} threats, {} match, {} pages, the first of {} threats, {} kB each",
                                          threats, w.matched, w.ms.size(), w.threats, w.bytes / w.ms.size() / 1000);
    std::ofstream json_out;
    if (!results.empty()) json_out.open(results, std::ios::app);
    for (auto [name, value] : {std::pair{"p50", p50}, std::pair{"p99", p99}}) {
        const bool met = value <= 8.0;
        const auto figure = fmt::format("s1sim page: server time of a filtered page, {} ({})", name, scale);
        std::printf("%-5s %-100s %9.3f ms  goal <= 8  %s\n", "B8", figure.c_str(), value, met ? "met" : "NOT MET");
        if (json_out)
            json_out << R"({"id":"B8","figure":")" << figure << R"(","value":)" << value
                     << R"(,"unit":"ms","goal":"<= 8","met":)" << (met ? "true" : "false") << "}\n";
    }
    return 0;
}
