// `s1pilot audit verify FILE... [--key-file F]`: checks the hash chain and seq across files
// (rotated ones in any order) and names the first bad record. Exit 0 ok, 1 bad, 2 usage.

#include "s1pilot/audit/verify.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "commands.hpp"

namespace s1pilot::app {
namespace {

struct verify_options {
    std::vector<std::string> files;
    std::string key_file;
};

int run_verify(const verify_options& options) {
    std::optional<std::string> key;
    if (!options.key_file.empty()) {
        std::ifstream in(options.key_file, std::ios::binary);
        if (!in) {
            std::cerr << "s1pilot: cannot read the key file " << options.key_file << "\n";
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
            std::cerr << "s1pilot: the key file " << options.key_file << " is empty\n";
            return exit_failure;
        }
        key = std::move(bytes);
    }
    return audit::verify_command(options.files, std::cout, std::cerr, key);
}

}  // namespace

void add_audit_command(CLI::App& app, int& exit) {
    auto* audit = app.add_subcommand("audit", "Audit log tools");
    audit->require_subcommand(1);
    auto options = std::make_shared<verify_options>();
    auto* verify = audit->add_subcommand(
        "verify",
        "Verify audit log files as one chain (contiguous seq, hashes; HMAC with --key-file). Names the first bad "
        "record as file:line. Exit 0 when it verifies, 1 when not.");
    verify->add_option("files", options->files, "Audit log files (rotated ones in any order)")->required();
    verify->add_option("--key-file", options->key_file,
                       "The audit HMAC key (one trailing newline, \\n or \\r\\n, is ignored)");
    verify->callback([&exit, options] { exit = run_verify(*options); });
}

}  // namespace s1pilot::app
