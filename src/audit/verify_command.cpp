// `s1pilot audit verify FILE…`, as a function the command line calls: ordering, output, exit code.

#include "s1pilot/audit/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace s1pilot::audit {
namespace {

// `audit.jsonl.12` → 12; names without a numeric suffix → 0 (the live file, newest).
unsigned rotation_index(const std::filesystem::path& path) {
    auto name = path.filename().string();
    auto dot = name.rfind('.');
    if (dot == std::string::npos || dot + 1 == name.size()) return 0;
    unsigned index = 0;
    auto [end, ec] = std::from_chars(name.data() + dot + 1, name.data() + name.size(), index);
    if (ec != std::errc{} || end != name.data() + name.size()) return 0;
    return index;
}

}  // namespace

std::vector<std::filesystem::path> oldest_first(std::vector<std::filesystem::path> files) {
    std::stable_sort(files.begin(), files.end(),
                     [](const auto& a, const auto& b) { return rotation_index(a) > rotation_index(b); });
    return files;
}

int verify_command(const std::vector<std::string>& files, std::ostream& out, std::ostream& err,
                   const std::optional<std::string>& hmac_key) {
    if (files.empty()) {
        err << "audit verify: no file given (usage: s1pilot audit verify FILE...)\n";
        return 2;
    }
    auto ordered = oldest_first(std::vector<std::filesystem::path>(files.begin(), files.end()));
    auto report = verify(ordered, hmac_key);
    if (!report.ok()) {
        err << report.problem->to_string() << '\n';
        err << fmt::format("audit verify: FAILED ({} record(s) verified before the problem)\n", report.records);
        return 1;
    }
    if (report.records == 0) {
        out << fmt::format("ok: no records in {} file(s)\n", ordered.size());
        return 0;
    }
    std::string start_note =
        *report.first_seq == 1 ? "" : " (the chain starts after older records that were rotated away)";
    out << fmt::format("ok: {} record(s), seq {}-{}, {} file(s), {}; last hash {}{}\n", report.records,
                       *report.first_seq, *report.last_seq, ordered.size(), hmac_key ? "HMAC-SHA-256" : "SHA-256",
                       report.last_hash, start_note);
    return 0;
}

}  // namespace s1pilot::audit
