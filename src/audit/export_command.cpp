// `s1pilot audit export`, as functions the command line calls: verifying while streaming, the
// messages, the exit code, and an output file that can never be one of the logs it reads.

#include "s1pilot/audit/export.hpp"
#include "s1pilot/audit/verify.hpp"

#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <fstream>
#include <system_error>

#include "export_fields.hpp"

namespace s1pilot::audit {
namespace {

std::string_view format_name(export_format format) {
    return format == export_format::ocsf ? "ocsf" : "ecs";
}

std::string seq_range(const verify_report& report) {
    if (!report.first_seq) return "";
    return fmt::format(" (seq {}-{})", *report.first_seq, *report.last_seq);
}

// The records before the break verified and are already out (a shipper may have sent them):
// the message says how many, and that nothing from the bad record on was written.
void explain_break(const verify_report& report, std::ostream& err) {
    const auto& problem = *report.problem;
    err << problem.to_string() << '\n';
    std::string where = problem.line == 0 ? problem.file : fmt::format("{}:{}", problem.file, problem.line);
    std::string expected = report.last_seq ? fmt::format(" (seq {})", *report.last_seq + 1) : "";
    err << fmt::format(
        "audit export: FAILED: the chain is broken; {} record(s) exported before the break{}, nothing from {}{} on\n",
        report.records, seq_range(report), where, expected);
}

}  // namespace

int export_command(const export_request& request, std::ostream& out, std::ostream& err) {
    if (request.files.empty()) {
        err << "audit export: no file given (usage: s1pilot audit export --format ocsf|ecs FILE...)\n";
        return 2;
    }
    auto ordered = oldest_first(std::vector<std::filesystem::path>(request.files.begin(), request.files.end()));
    export_context context;
    bool write_failed = false;
    auto report = verify(ordered, request.hmac_key, [&](const boost::json::object& record, const record_location&) {
        // The version travels with the daemon that wrote the records after its start.
        if (detail::text_of(record, "event") == "daemon.start")
            context.product_version = std::string(detail::text_of(record, "version").value_or(""));
        out << boost::json::serialize(to_format(request.format, record, context)) << '\n';
        write_failed = !out;
        return !write_failed;
    });
    out.flush();
    if (write_failed || !out) {
        // The record that could not be written counted as verified; it was not exported.
        auto exported = report.records - (write_failed ? 1 : 0);
        err << fmt::format("audit export: cannot write to {}: stopped after {} record(s)\n", request.output_name,
                           exported);
        return 1;
    }
    if (!report.ok()) {
        explain_break(report, err);
        return 1;
    }
    err << fmt::format("audit export: ok: {} record(s){} from {} file(s) as {} to {}\n", report.records,
                       seq_range(report), ordered.size(), format_name(request.format), request.output_name);
    return 0;
}

int export_to_file(export_request request, const std::filesystem::path& output, std::ostream& err) {
    if (request.files.empty()) return export_command(request, err, err);  // the usage message, before any truncation
    // Truncating a log to write its export over it would destroy the evidence being exported.
    for (const auto& file : request.files) {
        std::error_code ec;
        if (std::filesystem::equivalent(file, output, ec)) {
            err << fmt::format(
                "audit export: --output {} is one of the audit logs being exported; choose another file\n",
                output.string());
            return 2;
        }
    }
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    if (!out) {
        err << fmt::format("audit export: cannot open {} for writing: {}\n", output.string(),
                           std::generic_category().message(errno));
        return 1;
    }
    // The events carry what the log carries: readable by the owner and the group, as the log is.
    std::error_code ec;
    std::filesystem::permissions(
        output,
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write | std::filesystem::perms::group_read,
        ec);
    request.output_name = output.string();
    return export_command(request, out, err);
}

}  // namespace s1pilot::audit
