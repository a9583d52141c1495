// s1sim: a SentinelOne console simulator (docs/s1sim.md). Parses flags, builds the simulator,
// serves until SIGTERM/SIGINT.

#include "s1pilot/core/time.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "server.hpp"
#include "simulator.hpp"

namespace {

// `HOST:PORT`, `[::1]:PORT` or `:PORT`.
bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return false;
    host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "127.0.0.1";
    try {
        auto n = std::stoul(listen.substr(colon + 1));
        if (n > 65535) return false;
        port = static_cast<std::uint16_t>(n);
    } catch (const std::exception&) {
        return false;
    }
    return true;
}

// --agent-delay and --agents-offline into `sim`; false (after saying why) on a bad value.
bool parse_agent_flags(const std::string& delay, const std::string& offline, s1sim::simulator_options& sim) {
    auto parsed_delay = s1pilot::core::parse_duration(delay);
    if (delay == "0") parsed_delay = std::chrono::milliseconds{0};  // the default needs no unit
    if (!parsed_delay || parsed_delay->count() < 0) {
        std::cerr << "s1sim: --agent-delay: expected a duration such as 2s or 250ms, got '" << delay << "'\n";
        return false;
    }
    sim.agent_delay = *parsed_delay;
    double fraction = -1;
    auto [end, ec] = std::from_chars(offline.data(), offline.data() + offline.size(), fraction);
    if (ec != std::errc{} || end != offline.data() + offline.size() || !(fraction >= 0 && fraction <= 1)) {
        std::cerr << "s1sim: --agents-offline: expected a fraction between 0 and 1 such as 0.2, got '" << offline
                  << "'\n";
        return false;
    }
    sim.agents_offline = fraction;
    return true;
}

/// Flags whose values are parsed after CLI11 has read them (so that the message names the flag).
struct text_flags {
    std::string listen = "127.0.0.1:8443", now_text, rate_limits, faults, max_body = "16MiB", answers = "detailed",
                agent_delay = "0", agents_offline = "0", tls_version = "1.2+";
};

/// The flags given as text, checked and turned into the simulator's and the server's options.
/// False after saying on stderr which flag is wrong and why.
bool apply_flags(const text_flags& text, s1sim::simulator_options& sim, s1sim::server_options& net) {
    if (net.cert_file.empty() != net.key_file.empty()) {
        std::cerr << "s1sim: --cert and --key go together\n";
        return false;
    }
    if (auto versions = s1sim::parse_tls_versions(text.tls_version)) {
        net.tls = *versions;
    } else {
        std::cerr << "s1sim: --tls-version: expected 1.2+, 1.1, 1.2 or 1.3, got '" << text.tls_version << "'\n";
        return false;
    }
    if (!split_listen(text.listen, net.host, net.port)) {
        std::cerr << "s1sim: --listen: expected HOST:PORT, got '" << text.listen << "'\n";
        return false;
    }
    if (!text.now_text.empty()) {
        sim.now = s1pilot::core::parse_timestamp(text.now_text);
        if (!sim.now) {
            std::cerr << "s1sim: --now: expected a UTC time such as 2024-05-01T00:00:00Z, got '" << text.now_text
                      << "'\n";
            return false;
        }
    }
    std::string error;
    if (!text.rate_limits.empty()) {
        auto parsed = s1sim::parse_rate_limits(text.rate_limits, error);
        if (!parsed) {
            std::cerr << "s1sim: --" << error << '\n';
            return false;
        }
        sim.rate_limits = *parsed;
    }
    if (!text.faults.empty()) {
        auto parsed = s1sim::parse_faults(text.faults, error);
        if (!parsed) {
            std::cerr << "s1sim: --" << error << '\n';
            return false;
        }
        sim.faults = *parsed;
    }
    if (auto style = s1sim::parse_answer_style(text.answers)) {
        sim.answers = *style;
    } else {
        std::cerr << "s1sim: --answers: expected detailed or minimal, got '" << text.answers << "'\n";
        return false;
    }
    if (!parse_agent_flags(text.agent_delay, text.agents_offline, sim)) return false;
    auto size = s1pilot::core::parse_size(text.max_body);
    if (!size || *size == 0) {
        std::cerr << "s1sim: --max-body: expected a size such as 16MiB, got '" << text.max_body << "'\n";
        return false;
    }
    sim.max_body = static_cast<std::size_t>(*size);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"s1sim: a SentinelOne Management API v2.1 console simulator (HTTPS)"};
    text_flags text;
    s1sim::simulator_options sim;
    s1sim::server_options net;
    net.handle_signals = true;
    app.add_option("--listen", text.listen, "HOST:PORT to listen on; port 0 picks a free one")->capture_default_str();
    app.add_option("--cert", net.cert_file, "PEM certificate chain (default: a generated one)");
    app.add_option("--key", net.key_file, "PEM private key for --cert");
    app.add_option("--write-ca", net.write_ca, "write the generated CA certificate (PEM) to this file");
    app.add_option("--tls-version", text.tls_version,
                   "TLS versions to accept: 1.2+ (1.2 and 1.3), or only 1.1, 1.2 or 1.3 (to test that a client "
                   "refuses an outdated server)")
        ->capture_default_str();
    app.add_option("--token", sim.token, "the API token clients must send (Authorization: ApiToken <token>)")
        ->envname("S1SIM_TOKEN")
        ->required();
    app.add_option("--read-only-token", sim.read_only_token, "a second token that may read but gets 403 on actions");
    app.add_option("--threats", sim.threats, "number of threats to generate")->capture_default_str();
    app.add_option("--seed", sim.seed, "seed of the generated dataset and request ids")->capture_default_str();
    app.add_option("--now", text.now_text, "generate threats dated before this UTC time (default: now)");
    app.add_option("--dataset", sim.dataset_file, "load threats from a GET /threats-shaped JSON file instead");
    app.add_flag("--strict-filters", sim.strict_filters, "answer 400 to an action whose filter is empty");
    app.add_option("--answers", text.answers,
                   "what a mitigation's answer says: detailed (affected and details[] per threat) or minimal "
                   "(affected only, as the real console mostly answers)")
        ->capture_default_str();
    app.add_option("--agent-delay", text.agent_delay,
                   "how long an agent takes to carry out a mitigation or an isolation (e.g. 2s, 250ms); until then "
                   "its entry is pending and the agent disconnecting; 0 = at once")
        ->capture_default_str();
    app.add_option("--agents-offline", text.agents_offline,
                   "the fraction of agents (0..1, drawn from --seed) that are offline (agentIsActive false) and carry "
                   "out nothing until POST /_sim/agents/<agentId>/online")
        ->capture_default_str();
    app.add_option("--rate-limit", text.rate_limits, "token buckets, e.g. read=10/s:burst=50,write=100/s");
    app.add_option("--faults", text.faults,
                   "e.g. status500=0.02,status503=0.01,reset=0.01,latency=5ms,drop_after_apply=0.1,"
                   "mitigation_failed=0.1,huge_body=100MiB,huge_header=16KiB");
    app.add_option("--journal", sim.journal_file, "append every request received as a JSON line to this file");
    app.add_option("--max-body", text.max_body, "larger request bodies are answered 413")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (!apply_flags(text, sim, net)) return 2;

    try {
        auto started = std::chrono::steady_clock::now();
        s1sim::simulator simulator(sim);
        s1sim::server server(simulator, net);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        std::cerr << "s1sim: " << simulator.threat_count() << " threats ready in " << ms.count() << " ms\n";
        // Scripts and tests wait for this line to learn the port.
        std::cout << "listening on " << net.host << ':' << server.port() << std::endl;
        server.run();
        std::cerr << "s1sim: stopped\n";
    } catch (const std::exception& e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
    return EXIT_SUCCESS;
}
