#include "pilot_process.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>

namespace s1pilot::integration {

namespace json = boost::json;

pilot::pilot(const fs::path& dir) : dir_(dir), token_("CANARY-" + random_hex(32)) {
    fs::create_directories(dir_ / "playbooks");
}

fs::path pilot::copy_playbook(const fs::path& source) const {
    auto target = dir_ / "playbooks" / source.filename();
    fs::copy_file(source, target, fs::copy_options::overwrite_existing);
    return target;
}

void pilot::write_config(const console_settings& console, const std::vector<fs::path>& playbooks) const {
    audit_path_ = console.audit_file.value_or(dir_ / "audit.jsonl");
    std::ostringstream y;
    y << "consoles:\n"
      << "  sim:\n"
      << "    url: " << console.url << "\n"
      << "    token: {file: " << token_file().string() << "}\n";
    // The canary is read from a file, as credentials are in production (LoadCredential=).
    write_text(token_file(), token_);
    fs::permissions(token_file(), fs::perms::owner_read | fs::perms::owner_write);
    if (console.ca_file) y << "    ca_file: " << console.ca_file->string() << "\n";
    y << "    rate_limits:\n"
      << "      read: " << console.read_limit << "\n"
      << "      write: " << console.write_limit << "\n"
      << "    timeouts: {connect: 5s, request: " << console.request_timeout << ", call: " << console.call_timeout
      << "}\n"
      << "    batch_size: " << console.batch_size << "\n"
      << "playbooks:";
    if (console.playbook_dir) y << " " << console.playbook_dir->string();
    y << "\n";
    for (const auto& p : playbooks) y << "  - " << p.string() << "\n";
    y << "state: " << state_path().string() << "\n"
      << "audit:\n"
      << "  path: " << audit_path().string() << "\n"
      << "admin:\n"
      << "  listen: 127.0.0.1:0\n";
    if (console.admin_token_file) y << "  token: {file: " << console.admin_token_file->string() << "}\n";
    y << "retry: " << console.retry
      << "\n"
      // debug: the more s1pilot says, the more places the canary could leak into.
      << "log: {level: debug, format: text}\n";
    write_text(config_path(), y.str());
}

spawn_options pilot::spawn(const std::vector<std::string>& args) const {
    static std::atomic<int> counter{0};
    const std::string stem = "s1pilot-run-" + std::to_string(++counter);
    spawn_options o;
    o.argv = {S1PILOT_BINARY_DIR "/s1pilot"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.unset_env = {"S1PILOT_CONFIG"};
    o.stdout_file = dir_ / (stem + ".out");
    o.stderr_file = dir_ / (stem + ".err");
    return o;
}

run_result pilot::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    return run_to_end(spawn(args), timeout);
}

run_result pilot::run_under(const std::vector<std::string>& wrapper, const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout) const {
    auto options = spawn(args);
    options.argv.insert(options.argv.begin(), wrapper.begin(), wrapper.end());
    return run_to_end(std::move(options), timeout);
}

run_result pilot::once(const std::vector<std::string>& extra) const {
    std::vector<std::string> args{"once", "-c", config_path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
}

std::unique_ptr<child_process> pilot::start(const std::vector<std::string>& args,
                                            const std::map<std::string, std::string>& env) const {
    auto options = spawn(args);
    for (const auto& [name, value] : env) options.env[name] = value;
    return std::make_unique<child_process>(std::move(options));
}

std::vector<json::object> pilot::audit_records() const {
    std::vector<json::object> out;
    std::istringstream lines(read_text(audit_path()));
    int number = 0;
    for (std::string line; std::getline(lines, line);) {
        ++number;
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) {
            ADD_FAILURE() << audit_path() << ":" << number << ": not a JSON object: " << line;
            continue;
        }
        out.push_back(std::move(v.get_object()));
    }
    return out;
}

std::vector<json::object> pilot::audit_events(std::string_view event) const {
    std::vector<json::object> out;
    for (auto& r : audit_records())
        if (text_of(r, "event") == event) out.push_back(std::move(r));
    return out;
}

void pilot::expect_token_never_written() const {
    int scanned = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
        if (!entry.is_regular_file()) continue;
        // s1sim's own files are the harness's, not s1pilot's.
        if (entry.path().filename().string().starts_with("s1sim-") || entry.path() == token_file()) continue;
        ++scanned;
        EXPECT_EQ(read_text(entry.path()).find(token_), std::string::npos)
            << "the console token appears in " << entry.path();
    }
    EXPECT_GT(scanned, 0);
}

std::string text_of(const json::object& record, std::string_view field) {
    const auto* v = record.if_contains(field);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

}  // namespace s1pilot::integration
