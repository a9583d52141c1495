// `s1pilot audit verify FILE... [--key-file F]`: checks the hash chain and seq across files
// (rotated ones in any order) and names the first bad record. Exit 0 ok, 1 bad, 2 usage.
// `s1pilot audit export --format ocsf|ecs [--output F] [--key-file F] FILE...`: the same check
// while it streams the records as SIEM events; a broken chain stops it (exit 1).

#include "s1pilot/audit/export.hpp"
#include "s1pilot/audit/verify.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <variant>

#include "commands.hpp"

namespace s1pilot::app {
namespace {

struct verify_options {
    std::vector<std::string> files;
    std::string key_file;
};

struct export_options {
    std::vector<std::string> files;
    std::string key_file;
    std::string format;
    std::string output;
};

// The key file's bytes, or an exit code after saying what is wrong. Only the file's name is ever
// printed, never its content.
std::variant<std::optional<std::string>, int> read_key(const std::string& key_file) {
    if (key_file.empty()) return std::optional<std::string>{};
    std::ifstream in(key_file, std::ios::binary);
    if (!in) {
        std::cerr << "s1pilot: cannot read the key file " << key_file << "\n";
        return exit_failure;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Written by `echo` or an editor (on Windows too): one trailing `\n` or `\r\n` is not part of
    // the key, exactly as the daemon reads its secrets.
    if (bytes.ends_with("\r\n"))
        bytes.resize(bytes.size() - 2);
    else if (bytes.ends_with('\n'))
        bytes.pop_back();
    if (bytes.empty()) {
        std::cerr << "s1pilot: the key file " << key_file << " is empty\n";
        return exit_failure;
    }
    return std::optional<std::string>(std::move(bytes));
}

int run_verify(const verify_options& options) {
    auto key = read_key(options.key_file);
    if (const int* failed = std::get_if<int>(&key)) return *failed;
    return audit::verify_command(options.files, std::cout, std::cerr, std::get<std::optional<std::string>>(key));
}

int run_export(const export_options& options) {
    auto key = read_key(options.key_file);
    if (const int* failed = std::get_if<int>(&key)) return *failed;
    audit::export_request request{
        .files = options.files,
        // CLI11 accepted only ocsf or ecs.
        .format = audit::parse_export_format(options.format).value_or(audit::export_format::ocsf),
        .hmac_key = std::move(std::get<std::optional<std::string>>(key))};
    if (!options.output.empty()) return audit::export_to_file(std::move(request), options.output, std::cerr);
    return audit::export_command(request, std::cout, std::cerr);
}

void add_verify(CLI::App& audit, int& exit) {
    auto options = std::make_shared<verify_options>();
    auto* verify = audit.add_subcommand(
        "verify",
        "Verify audit log files as one chain (contiguous seq, hashes; HMAC with --key-file). Names the first bad "
        "record as file:line. Exit 0 when it verifies, 1 when not.");
    verify->add_option("files", options->files, "Audit log files (rotated ones in any order)")->required();
    verify->add_option("--key-file", options->key_file,
                       "The audit HMAC key (one trailing newline, \\n or \\r\\n, is ignored)");
    verify->callback([&exit, options] { exit = run_verify(*options); });
}

void add_export(CLI::App& audit, int& exit) {
    auto options = std::make_shared<export_options>();
    auto* command = audit.add_subcommand(
        "export",
        "Export audit log files as SIEM events, one JSON object per line (OCSF API Activity or ECS), verifying the "
        "chain as it goes: a broken chain stops the export at the first bad record (exit 1).");
    command->add_option("files", options->files, "Audit log files (rotated ones in any order)")->required();
    command->add_option("--format", options->format, "ocsf (OCSF 1.1.0 API Activity) or ecs (ECS 8.11)")
        ->required()
        ->check(CLI::IsMember({"ocsf", "ecs"}));
    command->add_option("-o,--output", options->output,
                        "Write the events to this file (created mode 0640, or truncated) instead of standard output");
    command->add_option("--key-file", options->key_file,
                        "The audit HMAC key (one trailing newline, \\n or \\r\\n, is ignored)");
    command->callback([&exit, options] { exit = run_export(*options); });
}

}  // namespace

void add_audit_command(CLI::App& app, int& exit) {
    auto* audit = app.add_subcommand("audit", "Audit log tools");
    audit->require_subcommand(1);
    add_verify(*audit, exit);
    add_export(*audit, exit);
}

}  // namespace s1pilot::app
