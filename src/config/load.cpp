// Files → load_result: reading with a size limit, the file's SHA-256, directories of playbooks,
// the checks that need the whole set (unique names, consoles) and reading the secrets.
#include "s1pilot/config/load.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <system_error>
#include <tuple>

#include "playbook_parts.hpp"

namespace s1pilot::config {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const fs::path& path, detail::reader& r) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        r.file_error("cannot read: " + (ec ? ec.message() : std::string("No such file or directory")));
        return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
        r.file_error("cannot read: not a regular file");
        return std::nullopt;
    }
    const auto size = fs::file_size(path, ec);
    if (ec) {
        r.file_error("cannot read: " + ec.message());
        return std::nullopt;
    }
    if (size > defaults::max_file_size) {
        r.file_error("file is larger than 1 MiB: refused");
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) {
        r.file_error("cannot read: I/O error");
        return std::nullopt;
    }
    if (text.size() > defaults::max_file_size) {  // it grew while we looked
        r.file_error("file is larger than 1 MiB: refused");
        return std::nullopt;
    }
    return text;
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

// A file's diagnostics in reading order (file-level ones first), whatever order the checks ran in.
void sort_from(std::vector<core::diagnostic>& diagnostics, std::size_t first) {
    std::stable_sort(diagnostics.begin() + static_cast<std::ptrdiff_t>(first), diagnostics.end(),
                     [](const core::diagnostic& a, const core::diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
}

// A directory stands for its *.yaml/*.yml files, sorted so that runs and messages are stable.
std::vector<fs::path> expand(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return {path};
    std::vector<fs::path> files;
    for (const auto& item : fs::directory_iterator(path, ec))
        if (is_playbook_file(item.path()) && item.is_regular_file(ec)) files.push_back(item.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string location(const std::string& file, const YAML::Mark& mark) {
    return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

void check_console(detail::reader& r, playbook& p, const detail::playbook_positions& where,
                   const daemon_config& config) {
    std::vector<std::string_view> names;
    for (const auto& [name, console] : config.consoles) names.push_back(name);
    if (p.console.empty()) {
        if (config.consoles.size() == 1) {
            p.console = config.consoles.begin()->first;
        } else {
            r.error(where.top, "console: the configuration defines " + std::to_string(names.size()) + " consoles (" +
                                   detail::join(names) + "): name one with \"console:\"");
        }
        return;
    }
    if (config.consoles.contains(p.console)) return;
    std::string message = "console: unknown console \"" + p.console + "\"";
    std::string_view suggestion = detail::nearest(p.console, names);
    if (!suggestion.empty())
        message += "; did you mean \"" + std::string(suggestion) + "\"?";
    else
        message += "; the configuration defines " + detail::join(names);
    r.error(where.console.value_or(where.top), std::move(message));
}

void load_playbook_set(const std::vector<fs::path>& files, const daemon_config* config, load_result& out) {
    struct first_seen {
        std::string location;
    };
    std::map<std::string, first_seen> names;
    for (const fs::path& listed : files) {
        for (const fs::path& file : expand(listed)) {
            const std::size_t first = out.diagnostics.size();
            detail::reader r(file.string(), out.diagnostics);
            auto text = read_file(file, r);
            if (!text) continue;
            detail::playbook_positions where;
            auto p = detail::parse_playbook_text(r, *text, &where);
            if (!p) {
                sort_from(out.diagnostics, first);
                continue;
            }
            p->file = file;
            p->sha256 = sha256_hex(*text);
            const int errors_before = r.errors();
            if (config != nullptr) check_console(r, *p, where, *config);
            auto [it, inserted] = names.emplace(p->name, first_seen{location(r.file(), where.name)});
            if (!inserted)
                r.error(where.name, "name: duplicate playbook name \"" + p->name + "\" (also defined at " +
                                        it->second.location + ")");
            sort_from(out.diagnostics, first);
            if (r.errors() == errors_before) out.playbooks.push_back(std::move(*p));
        }
    }
}

void read_secrets(detail::reader& r, daemon_config& config, const detail::config_positions& where) {
    auto store = [&](std::variant<secret, secret_error> value, secret& into, const std::string& path,
                     const YAML::Mark& at) {
        if (auto* error = std::get_if<secret_error>(&value))
            r.error(at, path + ": " + error->message);
        else
            into = std::move(std::get<secret>(value));
    };
    // Tokens go into HTTP headers (read_token checks they can); the HMAC key is any bytes.
    for (auto& [name, console] : config.consoles)
        store(read_token(console.token_source), console.token, "consoles." + name + ".token",
              where.console_token.at(name));
    if (config.audit.hmac_key_source)
        store(read_secret(*config.audit.hmac_key_source, "key"), config.audit.hmac_key, "audit.hmac_key",
              where.hmac_key.value());
    if (config.admin.token_source)
        store(read_token(*config.admin.token_source), config.admin.token, "admin.token", where.admin_token.value());
    if (config.state_password_source)
        store(read_secret(*config.state_password_source, "password"), config.state_password, "state_password",
              where.state_password.value());
}

void check_files(detail::reader& r, daemon_config& config, const detail::config_positions& where) {
    std::error_code ec;
    for (const auto& [name, console] : config.consoles)
        if (console.ca_file && !fs::is_regular_file(*console.ca_file, ec))
            r.error(where.console_ca.at(name), "consoles." + name + ".ca_file: " + console.ca_file->string() +
                                                   " is not a readable file: correct the path or remove ca_file "
                                                   "to use the system trust store");
    if (config.playbook_dir.empty()) return;
    const YAML::Mark at = where.playbooks.value_or(where.top);
    if (fs::is_regular_file(config.playbook_dir, ec)) {
        config.playbook_files.push_back(config.playbook_dir);
    } else if (!fs::is_directory(config.playbook_dir, ec)) {
        r.error(at, "playbooks: " + config.playbook_dir.string() + " is not a directory");
    } else {
        config.playbook_files = expand(config.playbook_dir);
        if (config.playbook_files.empty())
            r.warning(at, "playbooks: no *.yaml files in " + config.playbook_dir.string());
    }
}

load_result load(const fs::path& path, const std::vector<fs::path>* playbook_files, const load_options& options) {
    load_result out;
    detail::reader r(path.string(), out.diagnostics);
    auto text = read_file(path, r);
    if (!text) return out;
    detail::config_positions where;
    std::error_code ec;
    const fs::path base = fs::absolute(path, ec).parent_path();
    auto config = detail::parse_config_text(r, *text, base, &where);
    if (!config) return out;
    config->file = path;
    check_files(r, *config, where);
    const bool config_valid = r.errors() == 0;
    if (config_valid && options.read_secrets) read_secrets(r, *config, where);
    sort_from(out.diagnostics, 0);
    // A configuration with errors still has its playbooks checked, but not against its consoles.
    load_playbook_set(playbook_files != nullptr ? *playbook_files : config->playbook_files,
                      config_valid ? &*config : nullptr, out);
    if (r.errors() == 0) out.config = std::move(*config);
    return out;
}

}  // namespace

bool is_playbook_file(const fs::path& p) {
    return p.extension() == ".yaml" || p.extension() == ".yml";
}

load_result load_playbooks(const std::vector<fs::path>& files, const daemon_config* config) {
    load_result out;
    load_playbook_set(files, config, out);
    return out;
}

load_result load_config(const fs::path& path, const load_options& options) {
    return load(path, nullptr, options);
}

load_result load_config(const fs::path& path, const std::vector<fs::path>& playbook_files,
                        const load_options& options) {
    return load(path, &playbook_files, options);
}

std::optional<playbook> parse_playbook(std::string_view text, const fs::path& file,
                                       std::vector<core::diagnostic>& diagnostics) {
    detail::reader r(file.string(), diagnostics);
    const std::size_t first = diagnostics.size();
    auto p = detail::parse_playbook_text(r, text);
    sort_from(diagnostics, first);
    if (p) {
        p->file = file;
        p->sha256 = sha256_hex(text);
    }
    return p;
}

std::optional<daemon_config> parse_config(std::string_view text, const fs::path& file,
                                          std::vector<core::diagnostic>& diagnostics) {
    detail::reader r(file.string(), diagnostics);
    std::error_code ec;
    const std::size_t first = diagnostics.size();
    auto config = detail::parse_config_text(r, text, fs::absolute(file, ec).parent_path());
    sort_from(diagnostics, first);
    if (!config || r.errors() != 0) return std::nullopt;
    config->file = file;
    return config;
}

}  // namespace s1pilot::config
