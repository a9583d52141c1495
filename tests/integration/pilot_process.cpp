#include "pilot_process.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <sstream>

namespace s1pilot::integration {

namespace json = boost::json;

namespace {

void write_secret(const fs::path& file, const std::string& value) {
    write_text(file, value);
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace

std::string canary() {
    auto hex = random_hex(32);
    hex[12] = '4';                                                    // version 4
    hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) % 4];  // RFC 4122 variant
    return "CANARY-" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) +
           "-" + hex.substr(20);
}

pilot::pilot(const fs::path& dir) : pilot(dir, canary()) {}

pilot::pilot(const fs::path& dir, std::string token)
    : dir_(dir), token_(std::move(token)), admin_token_(canary()), audit_key_(canary()) {
    fs::create_directories(dir_ / "playbooks");
    // Written now, so that whatever a test runs (validate, audit verify, a configuration of its
    // own) can name them; read from files, as credentials are in production (LoadCredential=).
    write_secret(token_file(), token_);
    write_secret(admin_token_file(), admin_token_);
    write_secret(audit_key_file(), audit_key_);
}

pilot::~pilot() {
    expect_token_never_written();
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
    if (console.ca_file) y << "    ca_file: " << console.ca_file->string() << "\n";
    if (!console.proxy.empty()) y << "    proxy: " << console.proxy << "\n";
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
    y << "state: " << (console.state.empty() ? state_path().string() : console.state) << "\n";
    if (console.state_password_file) y << "state_password: {file: " << console.state_password_file->string() << "}\n";
    y << "audit:\n"
      << "  path: " << audit_path().string() << "\n"
      << "  hmac_key: {file: " << audit_key_file().string() << "}\n"
      << "admin:\n"
      << "  listen: 127.0.0.1:0\n"
      << "  token: {file: " << admin_token_file().string() << "}\n";
    y << "retry: " << console.retry
      << "\n"
      // debug: the more s1pilot says, the more places the canary could leak into.
      << "log: {level: debug, format: text}\n"
      << console.extra_yaml;
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
    o.working_dir = dir_;
    return o;
}

run_result pilot::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    return run_to_end(spawn(args), timeout);
}

run_result pilot::run_under(const std::vector<std::string>& wrapper, const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout, const std::map<std::string, std::string>& env) const {
    auto options = spawn(args);
    options.argv.insert(options.argv.begin(), wrapper.begin(), wrapper.end());
    for (const auto& [name, value] : env) options.env[name] = value;
    return run_to_end(std::move(options), timeout);
}

run_result pilot::audit(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"audit"};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), {"--key-file", audit_key_file().string()});
    return run(all);
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

std::unique_ptr<child_process> pilot::start_under(const std::vector<std::string>& wrapper,
                                                  const std::vector<std::string>& args,
                                                  const std::map<std::string, std::string>& env) const {
    auto options = spawn(args);
    options.argv.insert(options.argv.begin(), wrapper.begin(), wrapper.end());
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

std::vector<secret_leak> pilot::secrets_written() const {
    const std::pair<const char*, const std::string*> secrets[] = {
        {"console token", &token_}, {"admin token", &admin_token_}, {"audit HMAC key", &audit_key_}};
    std::vector<secret_leak> leaks;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const auto& path = it->path();
        if (!it->is_regular_file(ec)) continue;
        // s1sim's own files are the harness's, not s1pilot's.
        if (path.filename().string().starts_with("s1sim-") || path == token_file() || path == admin_token_file() ||
            path == audit_key_file())
            continue;
        const auto text = read_text(path);
        for (const auto& [name, value] : secrets)
            if (contains(text, *value)) leaks.push_back({name, path});
    }
    return leaks;
}

void pilot::expect_token_never_written() const {
    for (const auto& leak : secrets_written()) ADD_FAILURE() << "the " << leak.secret << " appears in " << leak.file;
}

std::uint16_t admin_port_of(child_process& daemon, std::chrono::milliseconds timeout) {
    const std::regex listening("admin listener ready.*listen=127\\.0\\.0\\.1:([0-9]+)");
    std::uint16_t port = 0;
    wait_until(
        [&] {
            std::smatch m;
            const auto err = daemon.stderr_text();
            if (std::regex_search(err, m, listening)) port = static_cast<std::uint16_t>(std::stoi(m[1]));
            return port != 0 || !daemon.running();
        },
        timeout);
    return port;
}

std::string text_of(const json::object& record, std::string_view field) {
    const auto* v = record.if_contains(field);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

}  // namespace s1pilot::integration
