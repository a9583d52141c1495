// `s1pilot health` (the container's HEALTHCHECK) and `s1pilot status` (a table of what the
// daemon is doing): both ask the admin listener of the configured (or given) address.

#include "s1pilot/config/load.hpp"
#include "s1pilot/engine/status.hpp"
#include "s1pilot/ops/admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"

namespace s1pilot::app {
namespace {

struct probe_options {
    std::string address;  ///< HOST:PORT; empty: admin.listen of the configuration
    int timeout_seconds = 5;
    bool json = false;
};

struct where {
    std::string host;
    std::uint16_t port = 0;
};

/// The listener's address: --address, else the configuration's admin.listen (secrets unread).
std::optional<where> address_of(const common_options& common, const probe_options& options) {
    if (!options.address.empty()) {
        const auto colon = options.address.rfind(':');
        std::string host = options.address.substr(0, colon == std::string::npos ? 0 : colon);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        int port = 0;
        try {
            port = colon == std::string::npos ? 0 : std::stoi(options.address.substr(colon + 1));
        } catch (const std::exception&) {
        }
        if (host.empty() || port <= 0 || port > 65535) {
            std::fprintf(stderr, "s1pilot: --address: expected HOST:PORT like 127.0.0.1:9109, not '%s'\n",
                         options.address.c_str());
            return std::nullopt;
        }
        return where{host, static_cast<std::uint16_t>(port)};
    }
    config::load_options load;
    load.read_secrets = false;
    const auto loaded = config::load_config(common.config_path, load);
    if (!loaded.config) {
        std::fprintf(stderr, "s1pilot: cannot read %s for admin.listen (give --address HOST:PORT instead)\n",
                     common.config_path.c_str());
        for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", core::to_string(d).c_str());
        return std::nullopt;
    }
    return where{loaded.config->admin.host, loaded.config->admin.port};
}

int health(const common_options& common, const probe_options& options) {
    const auto at = address_of(common, options);
    if (!at) return exit_failure;
    const auto reply = ops::admin_get(at->host, at->port, "/readyz", std::chrono::seconds(options.timeout_seconds));
    if (reply.status == 0) {
        std::fprintf(stderr, "unhealthy: %s\n", reply.error.c_str());
        return exit_failure;
    }
    if (reply.status == 200) {
        std::puts("ready");
        return exit_ok;
    }
    std::string reasons;
    boost::system::error_code ec;
    const auto v = boost::json::parse(reply.body, ec);
    if (!ec && v.is_object())
        if (const auto* list = v.get_object().if_contains("reasons"); list != nullptr && list->is_array())
            for (const auto& why : list->get_array())
                if (why.is_string()) reasons += (reasons.empty() ? "" : "; ") + std::string(why.get_string());
    std::fprintf(stderr, "not ready (HTTP %d): %s\n", reply.status,
                 reasons.empty() ? reply.body.c_str() : reasons.c_str());
    return exit_failure;
}

std::string when(const std::optional<core::timestamp>& t) {
    return t ? core::format_timestamp(*t).substr(0, 19) + "Z" : "-";
}

void print_status(const engine::engine_status& s) {
    std::printf("%s%s\n", s.ready ? "ready" : "NOT READY: ", s.ready ? "" : s.reason.c_str());
    // The role matters on a shared ledger only: one instance of the cluster is active.
    if (!s.cluster.empty()) std::printf("role: %s (cluster %s)\n", s.role.c_str(), s.cluster.c_str());
    std::printf("\n");
    std::printf("%-28s %-8s %-16s %-9s %-21s %-7s %8s %6s %5s %7s  %s\n", "PLAYBOOK", "MODE", "TRIGGER", "LAST RUN",
                "ENDED", "RESULT", "MATCHED", "ACTED", "HELD", "FAILED", "NEXT RUN");
    for (const auto& p : s.playbooks) {
        std::string trigger = p.every ? "every " + core::format_duration(*p.every) : std::string();
        if (p.webhook) trigger += trigger.empty() ? "webhook" : ", webhook";
        if (trigger.empty()) trigger = "manual";
        const auto* last = p.last ? &*p.last : nullptr;
        std::printf("%-28s %-8s %-16s %-9s %-21s %-7s %8s %6s %5zu %7s  %s\n", p.name.c_str(), p.mode.c_str(),
                    trigger.c_str(), last ? last->run_id.c_str() : "-", last ? when(last->ended).c_str() : "-",
                    p.running ? "running"
                    : last    ? last->outcome.c_str()
                              : "-",
                    last ? std::to_string(last->matched).c_str() : "-",
                    last ? std::to_string(last->acted).c_str() : "-", p.held_runs,
                    last ? std::to_string(last->failures).c_str() : "-", when(p.next_run).c_str());
        if (last != nullptr && !last->error.empty()) std::printf("    last error: %s\n", last->error.c_str());
    }
    std::printf("\n%-16s %-22s %-22s %8s %6s  %s\n", "CONSOLE", "READ now/configured", "WRITE now/configured", "PAUSED",
                "429s", "LAST ERROR");
    for (const auto& c : s.consoles) {
        const auto limiter = [](const engine::limiter_status& l) {
            return fmt::format("{:.2f}/{:.2f}/s", l.current_rate, l.configured_rate);
        };
        const auto paused = std::max(c.read.paused_for, c.write.paused_for);
        const auto error = c.last_error.empty() ? std::string("-") : when(c.last_error_at) + " " + c.last_error;
        std::printf("%-16s %-22s %-22s %8s %6llu  %s\n", c.name.c_str(), limiter(c.read).c_str(),
                    limiter(c.write).c_str(), paused.count() > 0 ? core::format_duration(paused).c_str() : "-",
                    static_cast<unsigned long long>(c.throttled), error.c_str());
    }
}

int status(const common_options& common, const probe_options& options) {
    const auto at = address_of(common, options);
    if (!at) return exit_failure;
    const auto reply = ops::admin_get(at->host, at->port, "/v1/status", std::chrono::seconds(options.timeout_seconds));
    if (reply.status != 200) {
        std::fprintf(
            stderr, "s1pilot: status: %s\n",
            reply.status == 0 ? reply.error.c_str() : fmt::format("HTTP {}: {}", reply.status, reply.body).c_str());
        return exit_failure;
    }
    if (options.json) {
        std::fputs(reply.body.c_str(), stdout);
        return exit_ok;
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(reply.body, ec);
    const auto s = ec ? std::nullopt : engine::status_from_json(v);
    if (!s) {
        std::fprintf(stderr, "s1pilot: status: the admin listener's answer is not a status (a different version?)\n");
        return exit_failure;
    }
    print_status(*s);
    return exit_ok;
}

void add_probe_options(CLI::App* command, probe_options& options) {
    command->add_option("--address", options.address, "The admin listener, HOST:PORT (default: admin.listen)");
    command->add_option("--timeout", options.timeout_seconds, "Seconds to wait for the answer")
        ->capture_default_str()
        ->check(CLI::Range(1, 300));
}

}  // namespace

void add_admin_commands(CLI::App& app, const common_options& common, int& exit) {
    auto health_options = std::make_shared<probe_options>();
    auto* h = app.add_subcommand("health",
                                 "Ask the daemon's admin listener whether it is ready (GET /readyz): exit 0 when it "
                                 "is, 1 when it is not or does not answer. The container's HEALTHCHECK.");
    add_probe_options(h, *health_options);
    h->callback([&common, &exit, health_options] { exit = health(common, *health_options); });

    auto status_options = std::make_shared<probe_options>();
    auto* s = app.add_subcommand("status",
                                 "Show what the daemon is doing (GET /v1/status): per playbook the last and next "
                                 "run, matched/acted/held and failures; per console the rate limits now and the "
                                 "last error.");
    add_probe_options(s, *status_options);
    s->add_flag("--json", status_options->json, "Print the JSON as the listener answers it");
    s->callback([&common, &exit, status_options] { exit = status(common, *status_options); });
}

}  // namespace s1pilot::app
