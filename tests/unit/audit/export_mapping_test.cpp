// The SIEM mappings, record by record: each kind of record the engine writes becomes exactly the
// OCSF event and the ECS document docs/audit.md promises, every field compared. The records are
// written out here as the engine writes them (engine/events.cpp), seq, time, prev and hash included.

#include "s1pilot/audit/export.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

using namespace s1pilot;

namespace {

namespace json = boost::json;

// `fields` completed with what the writer adds around them.
json::object record(std::string_view fields) {
    auto object = json::parse(fields).as_object();
    json::object out{{"seq", 42}, {"time", "2026-11-21T09:14:03.120394Z"}};
    for (const auto& f : object) out[f.key()] = f.value();
    out["prev"] = std::string(64, 'a');
    out["hash"] = std::string(64, 'b');
    return out;
}

// Objects compare whatever the order of their keys; the message shows both sides in full.
void expect_json(const json::object& actual, std::string_view expected) {
    const auto wanted = json::parse(expected);
    EXPECT_EQ(json::value(actual), wanted)
        << "actual:   " << json::serialize(actual) << "\nexpected: " << json::serialize(wanted);
}

constexpr std::string_view run_head =
    R"("run":"r-000123","playbook":"contain-ransomware","playbook_sha256":"5e1f","console":"prod")";
// What every OCSF event and ECS document repeats for a record with seq 42 at the time above.
constexpr std::string_view hash_b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr std::string_view chain_fields =
    R"("seq":42,"prev":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","hash":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")";

std::string with(std::string_view a, std::string_view b) {
    return std::string(a) + "," + std::string(b);
}

std::string ocsf_metadata(std::string_view run) {
    std::string out = R"("metadata":{"version":"1.1.0","product":{"name":"s1pilot","vendor_name":"s1pilot"},)"
                      R"("log_name":"audit","uid":")" +
                      std::string(hash_b) + R"(","sequence":42,"original_time":"2026-11-21T09:14:03.120394Z")";
    if (!run.empty()) out += R"(,"correlation_uid":")" + std::string(run) + "\"";
    return out + "}";
}

constexpr std::string_view ocsf_class =
    R"("class_uid":6003,"class_name":"API Activity","category_uid":6,"category_name":"Application Activity",)"
    R"("time":1795252443120,"actor":{"app_name":"s1pilot"},"src_endpoint":{"svc_name":"s1pilot"})";

constexpr std::string_view kill_call =
    R"("action":"mitigate:kill","method":"POST","path":"/web/api/v2.1/threats/mitigate/kill","batch":"b-1",)"
    R"("threat_ids":["1001","1002"])";

const std::string intent_record =
    "{" + with(with(R"("event":"action.intent")", run_head), kill_call) + R"(,"attempt":1,"dry_run":false})";

std::string result_record(std::string_view outcome, int status, std::string_view extra) {
    return "{" + with(with(R"("event":"action.result")", run_head), kill_call) + R"(,"outcome":")" +
           std::string(outcome) + R"(","http_status":)" + std::to_string(status) + std::string(extra) +
           R"(,"attempt":1,"duration_ms":84,"dry_run":false})";
}

constexpr std::string_view ocsf_kill_http =
    R"("http_request":{"http_method":"POST","url":{"path":"/web/api/v2.1/threats/mitigate/kill"}},)"
    R"("resources":[{"uid":"1001","type":"threat"},{"uid":"1002","type":"threat"}])";

constexpr std::string_view ecs_fixed =
    R"("@timestamp":"2026-11-21T09:14:03.120394Z","service":{"name":"s1pilot"},"ecs":{"version":"8.11.0"})";

}  // namespace

// ---------------------------------------------------------------------------------------- OCSF

TEST(AuditExportOcsf, AnIntentIsACreateCallNotYetAnswered) {
    auto event = audit::to_ocsf(record(intent_record), {});
    expect_json(event, "{" + with(with(ocsf_class, ocsf_metadata("r-000123")), ocsf_kill_http) + R"(,
        "activity_id":1,"activity_name":"Create","type_uid":600301,"type_name":"API Activity: Create",
        "severity_id":1,"severity":"Informational","message":"action.intent mitigate:kill",
        "api":{"operation":"mitigate:kill"},
        "unmapped":{"event":"action.intent","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                    "console":"prod","batch":"b-1","attempt":1,"dry_run":false,)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, ASuccessfulResultCarriesTheResponseAndTheRequestId) {
    auto event = audit::to_ocsf(record(result_record("success", 200, R"(,"affected":2,"s1_request_id":"rq-9")")), {});
    expect_json(event, "{" + with(with(ocsf_class, ocsf_metadata("r-000123")), ocsf_kill_http) + R"(,
        "activity_id":1,"activity_name":"Create","type_uid":600301,"type_name":"API Activity: Create",
        "severity_id":1,"severity":"Informational","status_id":1,"status":"Success",
        "message":"action.result mitigate:kill: success","duration":84,
        "api":{"operation":"mitigate:kill","request":{"uid":"rq-9"}},"http_response":{"code":200},
        "unmapped":{"event":"action.result","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                    "console":"prod","batch":"b-1","affected":2,"attempt":1,"dry_run":false,)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, AFailureWithoutAnswerHasItsErrorAndNoResponseCode) {
    auto event = audit::to_ocsf(
        record(result_record("failure", 0, R"(,"affected":null,"s1_request_id":"","error":"connect: refused")")), {});
    expect_json(event, "{" + with(with(ocsf_class, ocsf_metadata("r-000123")), ocsf_kill_http) + R"(,
        "activity_id":1,"activity_name":"Create","type_uid":600301,"type_name":"API Activity: Create",
        "severity_id":3,"severity":"Medium","status_id":2,"status":"Failure","status_detail":"connect: refused",
        "message":"action.result mitigate:kill: failure","duration":84,
        "api":{"operation":"mitigate:kill","response":{"error_message":"connect: refused"}},
        "unmapped":{"event":"action.result","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                    "console":"prod","batch":"b-1","affected":null,"attempt":1,"dry_run":false,)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, AnUnknownOutcomeIsStatusUnknownAndMedium) {
    auto event =
        audit::to_ocsf(record(result_record("unknown", 503, R"(,"affected":null,"s1_request_id":"rq-7")")), {});
    EXPECT_EQ(event.at("status_id"), 0);
    EXPECT_EQ(event.at("status"), "Unknown");
    EXPECT_EQ(event.at("severity_id"), 3);
    EXPECT_EQ(event.at("severity"), "Medium");
    EXPECT_EQ(event.at("http_response"), (json::object{{"code", 503}}));
    EXPECT_EQ(event.at("activity_id"), 1);
}

TEST(AuditExportOcsf, RunStartIsOtherNamedByItsEvent) {
    auto event = audit::to_ocsf(record("{" + with(R"("event":"run.start")", run_head) +
                                       R"(,"trigger":"schedule","mode":"act","dry_run":false})"),
                                {});
    expect_json(event, "{" + with(ocsf_class, ocsf_metadata("r-000123")) + R"(,
        "activity_id":99,"activity_name":"run.start","type_uid":600399,"type_name":"API Activity: Other",
        "severity_id":1,"severity":"Informational","message":"run.start","api":{"operation":"run.start"},
        "unmapped":{"event":"run.start","playbook":"contain-ransomware","playbook_sha256":"5e1f","console":"prod",
                    "trigger":"schedule","mode":"act","dry_run":false,)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, RunEndKeepsItsCountsUnmapped) {
    auto event = audit::to_ocsf(record("{" + with(R"("event":"run.end")", run_head) +
                                       R"(,"outcome":"success","result":"completed","matched":3,"acted":3,)"
                                       R"("actions":[{"action":"mitigate:kill","done":3}],"dry_run":false})"),
                                {});
    expect_json(event, "{" + with(ocsf_class, ocsf_metadata("r-000123")) + R"(,
        "activity_id":99,"activity_name":"run.end","type_uid":600399,"type_name":"API Activity: Other",
        "severity_id":1,"severity":"Informational","status_id":1,"status":"Success","message":"run.end: success",
        "api":{"operation":"run.end"},
        "unmapped":{"event":"run.end","playbook":"contain-ransomware","playbook_sha256":"5e1f","console":"prod",
                    "result":"completed","matched":3,"acted":3,"actions":[{"action":"mitigate:kill","done":3}],
                    "dry_run":false,)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, ARejectedConfigurationIsAFailureOutsideAnyRun) {
    auto event = audit::to_ocsf(
        record(
            R"({"event":"config.rejected","trigger":"SIGHUP","problems":["a.yaml:4:3: unknown key"],"outcome":"failure"})"),
        {});
    expect_json(event, "{" + with(ocsf_class, ocsf_metadata("")) + R"(,
        "activity_id":99,"activity_name":"config.rejected","type_uid":600399,"type_name":"API Activity: Other",
        "severity_id":3,"severity":"Medium","status_id":2,"status":"Failure","message":"config.rejected: failure",
        "api":{"operation":"config.rejected"},
        "unmapped":{"event":"config.rejected","trigger":"SIGHUP","problems":["a.yaml:4:3: unknown key"],)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, DaemonStartNamesTheProductVersion) {
    auto event = audit::to_ocsf(record(R"({"event":"daemon.start","command":"run","version":"0.9.0","dry_run":false})"),
                                {.product_version = "0.9.0"});
    expect_json(event, "{" + std::string(ocsf_class) + R"(,
        "metadata":{"version":"1.1.0","product":{"name":"s1pilot","vendor_name":"s1pilot","version":"0.9.0"},
                    "log_name":"audit","uid":")" +
                           std::string(hash_b) + R"(","sequence":42,
                    "original_time":"2026-11-21T09:14:03.120394Z"},
        "activity_id":99,"activity_name":"daemon.start","type_uid":600399,"type_name":"API Activity: Other",
        "severity_id":1,"severity":"Informational","message":"daemon.start","api":{"operation":"daemon.start"},
        "unmapped":{"event":"daemon.start","command":"run","version":"0.9.0","dry_run":false,)" +
                           std::string(chain_fields) + "}}");
}

TEST(AuditExportOcsf, SkippedAndDryRunAreOtherStatusesInTheirOwnWords) {
    auto skipped = audit::to_ocsf(record("{" + with(R"("event":"action.result")", run_head) +
                                         R"(,"action":"isolate:agents","threat_ids":["7"],"outcome":"skipped",)"
                                         R"("reason":"no agent","dry_run":false})"),
                                  {});
    EXPECT_EQ(skipped.at("status_id"), 99);
    EXPECT_EQ(skipped.at("status"), "skipped");
    EXPECT_EQ(skipped.at("status_detail"), "no agent");
    EXPECT_EQ(skipped.at("activity_id"), 99);  // nothing was sent
    EXPECT_EQ(skipped.at("activity_name"), "action.result");
    EXPECT_EQ(skipped.at("severity_id"), 1);
    EXPECT_EQ(skipped.at("unmapped").at("reason"), "no agent");
    auto dry = audit::to_ocsf(record(result_record("dry_run", 0, "")), {});
    EXPECT_EQ(dry.at("status_id"), 99);
    EXPECT_EQ(dry.at("status"), "dry_run");
    EXPECT_FALSE(dry.contains("http_response"));
}

TEST(AuditExportOcsf, AgentsOfAnIsolationAreResourcesToo) {
    auto event = audit::to_ocsf(record(R"({"event":"action.intent","action":"isolate:agents","method":"POST",)"
                                       R"("path":"/web/api/v2.1/agents/actions/disconnect","threat_ids":["7"],)"
                                       R"("agent_ids":["a-1"]})"),
                                {});
    EXPECT_EQ(event.at("resources"), (json::array{json::object{{"uid", "7"}, {"type", "threat"}},
                                                  json::object{{"uid", "a-1"}, {"type", "agent"}}}));
}

TEST(AuditExportOcsf, ReconcilingAndConfirmingAreReads) {
    for (const char* name : {"action.reconciled", "action.confirmed", "action.unconfirmed"}) {
        auto event = audit::to_ocsf(record(std::string(R"({"event":")") + name + R"(","action":"mitigate:kill"})"), {});
        EXPECT_EQ(event.at("activity_id"), 2) << name;
        EXPECT_EQ(event.at("type_uid"), 600302) << name;
        EXPECT_EQ(event.at("api").at("operation"), "mitigate:kill") << name;
    }
}

// ----------------------------------------------------------------------------------------- ECS

TEST(AuditExportEcs, AnIntentStartsAnApiEventWithoutOutcome) {
    auto document = audit::to_ecs(record(intent_record), {});
    expect_json(document, "{" + std::string(ecs_fixed) + R"(,
        "event":{"kind":"event","category":["api"],"type":["start"],"action":"mitigate:kill","sequence":42,
                 "id":")" + std::string(hash_b) +
                              R"(","severity":1,"module":"s1pilot","dataset":"s1pilot.audit"},
        "http":{"request":{"method":"POST"}},"url":{"path":"/web/api/v2.1/threats/mitigate/kill"},
        "s1pilot":{"event":"action.intent","run":"r-000123","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                   "console":"prod","action":"mitigate:kill","batch":"b-1","threat_ids":["1001","1002"],
                   "attempt":1,"dry_run":false,)" +
                              std::string(chain_fields) + "}}");
}

TEST(AuditExportEcs, ASuccessfulResultIsAChangeWithStatusAndDuration) {
    auto document = audit::to_ecs(record(result_record("success", 200, R"(,"affected":2,"s1_request_id":"rq-9")")), {});
    expect_json(document, "{" + std::string(ecs_fixed) + R"(,
        "event":{"kind":"event","category":["api"],"type":["change"],"action":"mitigate:kill","outcome":"success",
                 "sequence":42,"id":")" +
                              std::string(hash_b) + R"(","duration":84000000,"severity":1,
                 "module":"s1pilot","dataset":"s1pilot.audit"},
        "http":{"request":{"method":"POST"},"response":{"status_code":200}},
        "url":{"path":"/web/api/v2.1/threats/mitigate/kill"},
        "s1pilot":{"event":"action.result","run":"r-000123","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                   "console":"prod","action":"mitigate:kill","batch":"b-1","threat_ids":["1001","1002"],
                   "outcome":"success","affected":2,"s1_request_id":"rq-9","attempt":1,"dry_run":false,)" +
                              std::string(chain_fields) + "}}");
}

TEST(AuditExportEcs, AFailureCarriesItsErrorMessage) {
    auto document = audit::to_ecs(
        record(result_record("failure", 0, R"(,"affected":null,"s1_request_id":"","error":"connect: refused")")), {});
    expect_json(document, "{" + std::string(ecs_fixed) + R"(,
        "event":{"kind":"event","category":["api"],"type":["change"],"action":"mitigate:kill","outcome":"failure",
                 "sequence":42,"id":")" +
                              std::string(hash_b) + R"(","duration":84000000,"severity":3,
                 "module":"s1pilot","dataset":"s1pilot.audit"},
        "error":{"message":"connect: refused"},
        "http":{"request":{"method":"POST"}},"url":{"path":"/web/api/v2.1/threats/mitigate/kill"},
        "s1pilot":{"event":"action.result","run":"r-000123","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                   "console":"prod","action":"mitigate:kill","batch":"b-1","threat_ids":["1001","1002"],
                   "outcome":"failure","affected":null,"s1_request_id":"","attempt":1,"dry_run":false,)" +
                              std::string(chain_fields) + "}}");
}

TEST(AuditExportEcs, AnUnknownOutcomeStaysUnknown) {
    auto document = audit::to_ecs(record(result_record("unknown", 503, R"(,"affected":null)")), {});
    EXPECT_EQ(document.at("event").at("outcome"), "unknown");
    EXPECT_EQ(document.at("event").at("severity"), 3);
    EXPECT_EQ(document.at("http").at("response").at("status_code"), 503);
}

TEST(AuditExportEcs, RunStartAndEndBracketTheRun) {
    auto start = audit::to_ecs(record("{" + with(R"("event":"run.start")", run_head) +
                                      R"(,"trigger":"schedule","mode":"act","dry_run":false})"),
                               {});
    expect_json(start, "{" + std::string(ecs_fixed) + R"(,
        "event":{"kind":"event","category":["api"],"type":["start"],"action":"run.start","sequence":42,
                 "id":")" + std::string(hash_b) +
                           R"(","severity":1,"module":"s1pilot","dataset":"s1pilot.audit"},
        "s1pilot":{"event":"run.start","run":"r-000123","playbook":"contain-ransomware","playbook_sha256":"5e1f",
                   "console":"prod","trigger":"schedule","mode":"act","dry_run":false,)" +
                           std::string(chain_fields) + "}}");
    auto end = audit::to_ecs(
        record("{" + with(R"("event":"run.end")", run_head) + R"(,"outcome":"failure","failures":1,"dry_run":false})"),
        {});
    EXPECT_EQ(end.at("event").at("type"), json::array{"end"});
    EXPECT_EQ(end.at("event").at("outcome"), "failure");
    auto held = audit::to_ecs(
        record("{" + with(R"("event":"run.held")", run_head) + R"(,"outcome":"skipped","reason":"too many"})"), {});
    EXPECT_EQ(held.at("event").at("type"), json::array{"denied"});
    EXPECT_FALSE(held.at("event").as_object().contains("outcome"));  // ECS knows no "skipped"
    EXPECT_EQ(held.at("event").at("reason"), "too many");
    EXPECT_EQ(held.at("event").at("severity"), 3);
    EXPECT_EQ(held.at("s1pilot").at("outcome"), "skipped");
}

TEST(AuditExportEcs, ARejectedConfigurationIsAFailedConfigurationChange) {
    auto document = audit::to_ecs(
        record(
            R"({"event":"config.rejected","trigger":"SIGHUP","problems":["a.yaml:4:3: unknown key"],"outcome":"failure"})"),
        {});
    expect_json(document, "{" + std::string(ecs_fixed) + R"(,
        "event":{"kind":"event","category":["configuration"],"type":["change"],"action":"config.rejected",
                 "outcome":"failure","sequence":42,"id":")" +
                              std::string(hash_b) + R"(","severity":3,
                 "module":"s1pilot","dataset":"s1pilot.audit"},
        "s1pilot":{"event":"config.rejected","trigger":"SIGHUP","problems":["a.yaml:4:3: unknown key"],
                   "outcome":"failure",)" +
                              std::string(chain_fields) + "}}");
}

TEST(AuditExportEcs, DaemonStartAndStopAreProcessLifecycle) {
    auto start = audit::to_ecs(record(R"({"event":"daemon.start","command":"run","version":"0.9.0","dry_run":false})"),
                               {.product_version = "0.9.0"});
    expect_json(start, R"({"@timestamp":"2026-11-21T09:14:03.120394Z","ecs":{"version":"8.11.0"},
        "service":{"name":"s1pilot","version":"0.9.0"},
        "event":{"kind":"event","category":["process"],"type":["start"],"action":"daemon.start","sequence":42,
                 "id":")" + std::string(hash_b) +
                           R"(","severity":1,"module":"s1pilot","dataset":"s1pilot.audit"},
        "s1pilot":{"event":"daemon.start","command":"run","version":"0.9.0","dry_run":false,)" +
                           std::string(chain_fields) + "}}");
    auto stop = audit::to_ecs(record(R"({"event":"daemon.stop","command":"run","drained":true})"), {});
    EXPECT_EQ(stop.at("event").at("category"), json::array{"process"});
    EXPECT_EQ(stop.at("event").at("type"), json::array{"end"});
}

TEST(AuditExportEcs, SkippedAndDryRunResultsChangedNothing) {
    auto dry = audit::to_ecs(record(result_record("dry_run", 0, "")), {});
    EXPECT_EQ(dry.at("event").at("type"), json::array{"info"});
    EXPECT_FALSE(dry.at("event").as_object().contains("outcome"));
    EXPECT_FALSE(dry.at("http").as_object().contains("response"));
    EXPECT_EQ(dry.at("s1pilot").at("outcome"), "dry_run");
}

TEST(AuditExport, FormatNames) {
    EXPECT_EQ(audit::parse_export_format("ocsf"), audit::export_format::ocsf);
    EXPECT_EQ(audit::parse_export_format("ecs"), audit::export_format::ecs);
    EXPECT_EQ(audit::parse_export_format("OCSF"), std::nullopt);
    EXPECT_EQ(audit::parse_export_format(""), std::nullopt);
}
