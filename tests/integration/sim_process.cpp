#include "sim_process.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>

namespace s1pilot::integration {
namespace {

namespace json = boost::json;

std::string string_or_empty(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

std::int64_t number_or_zero(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

}  // namespace

std::int64_t monotonic_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

sim_process::sim_process(const fs::path& dir, std::string token, sim_options options) {
    static std::atomic<int> counter{0};
    const std::string stem = "s1sim-" + std::to_string(++counter);
    spawn_options spawn;
    spawn.argv = {S1PILOT_BINARY_DIR "/s1sim",
                  "--listen",
                  "127.0.0.1:" + std::to_string(options.port),
                  "--threats",
                  std::to_string(options.threats),
                  "--seed",
                  std::to_string(options.seed)};
    if (!options.now.empty()) spawn.argv.insert(spawn.argv.end(), {"--now", options.now});
    if (options.cert_file.empty()) {
        ca_file_ = dir / (stem + "-ca.pem");
        spawn.argv.insert(spawn.argv.end(), {"--write-ca", ca_file_.string()});
    } else {
        ca_file_ = options.ca_file;
        spawn.argv.insert(spawn.argv.end(), {"--cert", options.cert_file.string(), "--key", options.key_file.string()});
    }
    spawn.argv.insert(spawn.argv.end(), options.extra_args.begin(), options.extra_args.end());
    // The token travels in the environment, not on a command line other users can read.
    spawn.env["S1SIM_TOKEN"] = token;
    spawn.stdout_file = dir / (stem + ".out");
    spawn.stderr_file = dir / (stem + ".err");
    child_ = std::make_unique<child_process>(spawn);

    std::string line;
    wait_until(
        [&] {
            auto out = child_->stdout_text();
            auto end = out.find('\n');
            if (end == std::string::npos) return !child_->running();
            line = out.substr(0, end);
            return true;
        },
        60s);
    const std::string prefix = "listening on 127.0.0.1:";
    if (!line.starts_with(prefix)) {
        ADD_FAILURE() << "s1sim did not start: first line '" << line << "'\n" << child_->stderr_text();
        return;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
    admin_ = std::make_unique<admin_client>(port_, read_text(ca_file_), token, options.host_name,
                                            options.admin_accepts_outdated);
}

sim_process::~sim_process() {
    if (child_) child_->stop(SIGTERM);
}

json::object sim_process::dump() const {
    auto r = admin_->get("/_sim/threats");
    EXPECT_EQ(r.status, 200) << "GET /_sim/threats: " << r.error << r.body.substr(0, 500);
    auto v = r.json();
    return v.is_object() ? v.get_object() : json::object{};
}

std::vector<journal_entry> sim_process::requests() const {
    std::vector<journal_entry> out;
    auto r = admin_->get("/_sim/requests");
    EXPECT_EQ(r.status, 200) << "GET /_sim/requests: " << r.error << r.body.substr(0, 500);
    auto v = r.json();
    if (!v.is_object() || !v.get_object().contains("requests")) return out;
    for (const auto& item : v.at("requests").as_array()) {
        const auto& o = item.as_object();
        journal_entry e;
        e.seq = static_cast<std::uint64_t>(o.at("seq").to_number<std::int64_t>());
        e.method = string_or_empty(o, "method");
        e.path = string_or_empty(o, "path");
        e.query = string_or_empty(o, "query");
        e.body = string_or_empty(o, "body");
        e.status = static_cast<int>(o.at("status").to_number<std::int64_t>());
        e.fault = string_or_empty(o, "fault");
        e.tls = string_or_empty(o, "tls");
        e.received_ns = number_or_zero(o, "receivedNs");
        e.delay_ms = number_or_zero(o, "delayMs");
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<journal_entry> sim_process::posts() const {
    std::vector<journal_entry> out;
    for (auto& e : requests())
        if (e.method == "POST") out.push_back(std::move(e));
    return out;
}

std::int64_t sim_process::handshakes_failed() const {
    auto r = admin_->get("/_sim/stats");
    EXPECT_EQ(r.status, 200) << "GET /_sim/stats: " << r.error << r.body.substr(0, 500);
    auto v = r.json();
    const auto* count = v.is_object() ? v.get_object().if_contains("tlsHandshakesFailed") : nullptr;
    return count != nullptr && count->is_int64() ? count->get_int64() : -1;
}

void sim_process::set_faults(const std::string& spec) const {
    auto r =
        admin_->put("/_sim/faults", spec.empty() ? std::string("{}") : json::serialize(json::object{{"spec", spec}}));
    EXPECT_EQ(r.status, 200) << "PUT /_sim/faults " << spec << ": " << r.error << r.body;
}

void sim_process::set_rate_limits(const std::string& spec) const {
    auto r = admin_->put("/_sim/rate-limits", json::serialize(json::object{{"spec", spec}}));
    EXPECT_EQ(r.status, 200) << "PUT /_sim/rate-limits " << spec << ": " << r.error << r.body;
}

std::vector<std::string> sim_process::add_threats(const json::array& threats) const {
    std::vector<std::string> ids;
    auto r = admin_->post("/_sim/threats", json::serialize(threats));
    EXPECT_EQ(r.status, 200) << "POST /_sim/threats: " << r.error << r.body;
    auto v = r.json();
    if (v.is_object() && v.get_object().contains("ids"))
        for (const auto& id : v.at("ids").as_array()) ids.emplace_back(id.as_string());
    return ids;
}

}  // namespace s1pilot::integration
