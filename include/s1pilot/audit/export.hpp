#pragma once
// Exporting audit records to a SIEM (`s1pilot audit export --format ocsf|ecs FILE…`): each record
// becomes one OCSF 1.1.0 API Activity event or one Elastic Common Schema 8.11 document. The
// mappings are pure functions of one record, so that every field a SOC engineer queries is unit
// tested; docs/audit.md ("Exporting to a SIEM") lists them as tables.
//
// Nothing is dropped: a record field with no home in the target schema goes under `unmapped`
// (OCSF) or `s1pilot` (ECS) under its own name, so a field the engine adds later is exported too.

#include <boost/json/object.hpp>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace s1pilot::audit {

/// The OCSF schema version the events follow (`metadata.version`).
inline constexpr std::string_view ocsf_schema_version = "1.1.0";
/// The ECS version the documents follow (`ecs.version`).
inline constexpr std::string_view ecs_schema_version = "8.11.0";

enum class export_format { ocsf, ecs };

/// `ocsf` or `ecs`; nullopt for anything else.
std::optional<export_format> parse_export_format(std::string_view name) noexcept;

/// What an event needs beyond its record.
struct export_context {
    /// The version of the s1pilot that wrote the record: the `version` of the latest
    /// `daemon.start` before it in the log. Empty when none has been seen (the log's start was
    /// rotated away); the event then carries no product version rather than a guessed one.
    std::string product_version;
};

/// One verified audit record as an OCSF API Activity event (class_uid 6003).
boost::json::object to_ocsf(const boost::json::object& record, const export_context& context);

/// One verified audit record as an ECS document.
boost::json::object to_ecs(const boost::json::object& record, const export_context& context);

/// Either of the two.
boost::json::object to_format(export_format format, const boost::json::object& record, const export_context& context);

/// What `s1pilot audit export` needs to run.
struct export_request {
    std::vector<std::string> files{};  ///< audit log files, rotated ones in any order
    export_format format = export_format::ocsf;
    std::string output_name = "standard output";  ///< how `out` is named in messages
    std::optional<std::string> hmac_key{};        ///< verifies a keyed log; never printed
};

/// `s1pilot audit export`: orders the files (oldest_first), verifies the chain while it reads
/// and writes one event per line to `out` as soon as its record has verified. A broken chain is
/// refused: nothing from the first bad record on is written, and `err` names the bad record
/// (`file:line`, the expected seq) and how many records were exported before it. The records
/// before the break verified, so they are left exported. Returns the exit code: 0 when every
/// record was exported, 1 when the chain is broken or `out` fails, 2 when no file is given.
int export_command(const export_request& request, std::ostream& out, std::ostream& err);

/// export_command() into the file `output`, created (mode 0640, like the log) or truncated. An
/// `output` that is one of the logs is refused before anything is opened (exit 2).
int export_to_file(export_request request, const std::filesystem::path& output, std::ostream& err);

}  // namespace s1pilot::audit
