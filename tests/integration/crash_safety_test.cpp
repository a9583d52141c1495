// Crash safety (DESIGN §4, RELIABILITY #7, #8): s1pilot is SIGKILLed after the ledger's `pending`
// write and the audit's `action.intent` and before the POST's answer, three times, and restarted
// each time. Reconciliation must mark an effect already present as done without sending it
// again, send what never took effect, and never post a note twice, even though the note's text
// names the run (a restart renders a different text).
//
// Kills: (1) during `mitigate:kill`, once s1sim has it (journaled, applied) and before its
// answer, delayed by a latency fault: applied, answer lost; (2) during `note`, the same way;
// (3) during `mitigate:quarantine` while s1sim refuses every write with 429: never applied. Then
// a clean run finishes and a last one sends nothing. A second test checks that an older entry of
// the same mitigation on a threat is not taken for the effect of the request that was refused.

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <functional>

#include "scenario.hpp"

namespace s1pilot::integration {
namespace {

const std::string kill_path = std::string(api_prefix) + "/threats/mitigate/kill";
const std::string quarantine_path = std::string(api_prefix) + "/threats/mitigate/quarantine";
const std::string notes_path = std::string(api_prefix) + "/threats/notes";
const std::string incident_path = std::string(api_prefix) + "/threats/incident";

// A record of `event` for `action` is in the audit file. Plain text search: the file is read
// while s1pilot writes it, so its last line may be incomplete.
bool audit_has(const fs::path& audit, std::string_view event, std::string_view action) {
    std::istringstream lines(read_text(audit));
    for (std::string line; std::getline(lines, line);)
        if (contains(line, "\"event\":\"" + std::string(event) + "\"") &&
            contains(line, "\"action\":\"" + std::string(action) + "\""))
            return true;
    return false;
}

// s1sim's journal holds a POST to `path` (answered `status`, or any when 0).
bool posted(const scenario& s, const std::string& path, int status = 0) {
    for (const auto& p : s.sim->posts())
        if (p.path == path && (status == 0 || p.status == status)) return true;
    return false;
}

std::size_t mitigations(const json::object& threat, std::string_view action) {
    std::size_t n = 0;
    for (const auto& m : threat.at("mitigationStatus").as_array())
        if (m.at("action") == action.data()) ++n;
    return n;
}

// Starts `once`, waits (bounded) until `moment` holds, then SIGKILLs it.
void kill_when(const scenario& s, const std::function<bool()>& moment, const std::string& what) {
    auto child = s.s1pilot.start({"once", "-c", s.s1pilot.config_path().string()});
    const bool reached = wait_until([&] { return moment() || !child->running(); }, 180s) && moment();
    if (!reached) {
        std::string journal;
        for (const auto& r : s.sim->requests())
            journal +=
                r.method + " " + r.path + "?" + r.query.substr(0, 200) + " -> " + std::to_string(r.status) + "\n";
        FAIL() << "s1pilot ended, or took too long, before " << what << "\n--- stderr:\n"
               << child->stderr_text() << "--- s1sim's journal:\n"
               << journal;
    }
    ASSERT_TRUE(child->running()) << "s1pilot exited before it could be killed " << what;
    EXPECT_EQ(child->stop(SIGKILL), 128 + SIGKILL);
}

TEST(CrashSafety, KilledBetweenIntentAndAnswerNeitherLosesNorRepeatsAnAction) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const dataset before(s.sim->dump());
    const auto ids = unmitigated_ids(before, 20);
    ASSERT_EQ(ids.size(), 20u);
    const auto file = s.fixture("crash.yaml");
    ASSERT_NO_FATAL_FAILURE(fill_ids(file, ids));
    auto p = load_playbook(file);
    ASSERT_TRUE(p);
    ASSERT_EQ(expect_run(*p, before, pinned_instant()).acted.size(), ids.size());
    auto console = s.console();
    console.retry = "{max_attempts: 5, base: 200ms, cap: 30s}";  // a 429 keeps the row pending a while
    s.s1pilot.write_config(console, {file});
    const auto audit = s.s1pilot.audit_path();

    // 1. Applied, answer lost: s1sim applies a request as it arrives and answers 5 s later; the
    // kill comes once the POST is in s1sim's journal (so it was applied) and before the answer.
    s.sim->set_faults("latency=5s");
    ASSERT_NO_FATAL_FAILURE(kill_when(
        s, [&] { return posted(s, kill_path); }, "mitigate:kill reached s1sim"));
    EXPECT_TRUE(audit_has(audit, "action.intent", "mitigate:kill")) << "a POST without its intent on disk";
    ASSERT_FALSE(audit_has(audit, "action.result", "mitigate:kill")) << "killed after the answer: the test is void";
    // 2. The same for the note: after the restart has reconciled the kill.
    ASSERT_NO_FATAL_FAILURE(kill_when(
        s, [&] { return posted(s, notes_path); }, "the note reached s1sim"));
    EXPECT_TRUE(audit_has(audit, "action.intent", "note")) << "a POST without its intent on disk";
    ASSERT_FALSE(audit_has(audit, "action.result", "note")) << "killed after the answer: the test is void";
    // 3. Never applied: every write is refused with 429 (a bucket that never holds a whole token,
    // Retry-After far away); the kill comes while s1pilot waits to try again.
    s.sim->set_faults("");
    s.sim->set_rate_limits("write=0.001/s:burst=0.5");
    ASSERT_NO_FATAL_FAILURE(kill_when(
        s, [&] { return posted(s, quarantine_path, 429); }, "mitigate:quarantine was refused"));
    EXPECT_TRUE(audit_has(audit, "action.intent", "mitigate:quarantine")) << "a POST without its intent on disk";
    // 4. A clean restart finishes; 5. one more sends nothing.
    s.sim->set_rate_limits("read=1000/s:burst=1000");
    auto finish = s.s1pilot.once();
    EXPECT_EQ(finish.code, 0) << finish.describe();
    const auto posts_before_last = s.sim->posts().size();
    auto last = s.s1pilot.once();
    EXPECT_EQ(last.code, 0) << last.describe();

    const auto posts = s.sim->posts();
    EXPECT_EQ(posts.size(), posts_before_last) << "the last once sent POSTs: " << posts.back().path;
    const dataset after(s.sim->dump());
    for (const auto& id : ids) {
        SCOPED_TRACE("threat " + id);
        // Applied before a kill: reconciled, never sent again.
        EXPECT_EQ(posts_for(posts, kill_path, id), 1u);
        EXPECT_EQ(posts_for(posts, notes_path, id), 1u);
        // Refused before a kill: sent again, and applied once.
        EXPECT_GE(posts_for(posts, quarantine_path, id, 429), 1u);
        EXPECT_EQ(posts_for(posts, quarantine_path, id, 200), 1u);
        EXPECT_EQ(posts_for(posts, incident_path, id, 200), 1u);
        const auto* threat = after.find(id);
        ASSERT_NE(threat, nullptr);
        EXPECT_EQ(mitigations(*threat, "kill"), 1u);
        EXPECT_EQ(mitigations(*threat, "quarantine"), 1u);
        EXPECT_EQ(field(*threat, {"threatInfo", "incidentStatus"}), "in_progress");
        EXPECT_EQ(field(*threat, {"threatInfo", "analystVerdict"}), "true_positive");
        auto notes = after.notes(id);
        ASSERT_EQ(notes.size(), 1u) << "a note posted twice, or lost";
        EXPECT_TRUE(notes.front().starts_with("Contained by it-crash in run ")) << notes.front();
    }
    auto records = s.s1pilot.audit_records();
    for (const char* action : {"mitigate:kill", "note", "mitigate:quarantine"})
        EXPECT_GE(count_events(records, "action.reconciled", "it-crash", action), 1u)
            << "no action.reconciled record for " << action;
    // The chain holds across five processes, two of them killed mid-write; `audit verify` agrees,
    // and notices a single changed byte.
    expect_audit_verifies(audit, s.s1pilot.audit_key());
    auto verify = s.s1pilot.audit({"verify", audit.string()});
    EXPECT_EQ(verify.code, 0) << verify.describe();
    auto tampered_text = read_text(audit);
    auto at = tampered_text.find("\"note\"");
    ASSERT_NE(at, std::string::npos);
    tampered_text[at + 1] = 'N';
    const auto tampered = s.dir / "tampered.jsonl";
    write_text(tampered, tampered_text);
    EXPECT_EQ(s.s1pilot.audit({"verify", tampered.string()}).code, 1);
    // The SIEM export of the same log: one OCSF event per record; the tampered copy stops at the
    // altered record and says where.
    auto exported = s.s1pilot.audit({"export", "--format", "ocsf", audit.string()});
    EXPECT_EQ(exported.code, 0) << exported.describe();
    EXPECT_EQ(std::count(exported.out.begin(), exported.out.end(), '\n'),
              std::count(tampered_text.begin(), tampered_text.end(), '\n'));
    auto refused = s.s1pilot.audit({"export", "--format", "ecs", tampered.string()});
    EXPECT_EQ(refused.code, 1) << refused.describe();
    EXPECT_NE(refused.err.find(tampered.string() + ":"), std::string::npos) << refused.describe();
    EXPECT_NE(refused.err.find("record(s) exported before the break"), std::string::npos) << refused.describe();
}

// A mitigation entry from before the intent is not this action's effect: the threat was
// quarantined, then un-quarantined; s1pilot's quarantine is refused (429) and s1pilot killed while
// it waits. After the restart the file must be quarantined again, not marked done on the strength
// of the old entry.
TEST(CrashSafety, AnOlderEntryOfTheSameMitigationIsNotTakenForThisOne) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const auto ids = unmitigated_ids(dataset(s.sim->dump()), 5);
    ASSERT_EQ(ids.size(), 5u);
    json::array id_list;
    for (const auto& id : ids) id_list.emplace_back(id);
    for (const char* action : {"quarantine", "un-quarantine"}) {
        auto r = s.sim->admin().post(
            std::string(api_prefix) + "/threats/mitigate/" + action,
            json::serialize(json::object{{"filter", {{"ids", id_list}}}, {"data", json::object{}}}));
        ASSERT_EQ(r.status, 200) << r.error << r.body;
    }
    const auto harness_requests = s.sim->requests().size();
    const auto file = s.fixture("requarantine.yaml");
    ASSERT_NO_FATAL_FAILURE(fill_ids(file, ids));
    auto console = s.console();
    console.retry = "{max_attempts: 5, base: 200ms, cap: 30s}";
    s.s1pilot.write_config(console, {file});

    s.sim->set_rate_limits("write=0.001/s:burst=0.5");
    ASSERT_NO_FATAL_FAILURE(kill_when(
        s, [&] { return posted(s, quarantine_path, 429); }, "mitigate:quarantine was refused"));
    s.sim->set_rate_limits("read=1000/s:burst=1000");
    auto finish = s.s1pilot.once();
    EXPECT_EQ(finish.code, 0) << finish.describe();

    auto requests = s.sim->requests();
    std::vector<journal_entry> posts;
    for (std::size_t i = harness_requests; i < requests.size(); ++i)
        if (requests[i].method == "POST") posts.push_back(requests[i]);
    const dataset after(s.sim->dump());
    for (const auto& id : ids) {
        SCOPED_TRACE("threat " + id);
        EXPECT_EQ(posts_for(posts, quarantine_path, id, 200), 1u) << "the refused quarantine was never sent again";
        EXPECT_EQ(mitigations(*after.find(id), "quarantine"), 2u);
    }
}

// RELIABILITY #7: s1sim applies every write, then drops the connection without answering. Each
// outcome is unknown to s1pilot, which must learn by reading the threats (the notes by their
// text) that every action took effect: one POST per action and threat, no second note, each
// effect once, a run that ends ok, and a next run that sends nothing.
TEST(AmbiguousPost, AppliedThenDroppedIsReconciledByReadingNeverResent) {
    scenario s;
    ASSERT_TRUE(s.sim->started());
    const auto ids = unmitigated_ids(dataset(s.sim->dump()), 6);
    ASSERT_EQ(ids.size(), 6u);
    const auto file = s.fixture("crash.yaml");
    ASSERT_NO_FATAL_FAILURE(fill_ids(file, ids));
    s.s1pilot.write_config(s.console(), {file});

    s.sim->set_faults("drop_after_apply=1");
    auto run = s.s1pilot.once();
    EXPECT_EQ(run.code, 0) << run.describe();
    s.sim->set_faults("");
    const auto posts = s.sim->posts();
    for (const auto& p : posts) EXPECT_EQ(p.fault, "drop_after_apply") << p.path << ": a write answered";
    auto again = s.s1pilot.once();
    EXPECT_EQ(again.code, 0) << again.describe();
    EXPECT_EQ(s.sim->posts().size(), posts.size()) << "the next run sent POSTs";

    const dataset after(s.sim->dump());
    for (const auto& id : ids) {
        SCOPED_TRACE("threat " + id);
        for (const auto* path : {&kill_path, &notes_path, &quarantine_path, &incident_path})
            EXPECT_EQ(posts_for(posts, *path, id), 1u) << *path;
        const auto* threat = after.find(id);
        ASSERT_NE(threat, nullptr);
        EXPECT_EQ(mitigations(*threat, "kill"), 1u);
        EXPECT_EQ(mitigations(*threat, "quarantine"), 1u);
        EXPECT_EQ(field(*threat, {"threatInfo", "incidentStatus"}), "in_progress");
        EXPECT_EQ(after.notes(id).size(), 1u) << "a note posted twice, or lost";
    }
    auto records = s.s1pilot.audit_records();
    for (const char* action : {"mitigate:kill", "note", "mitigate:quarantine", "incident:in_progress:true_positive"})
        EXPECT_GE(count_events(records, "action.reconciled", "it-crash", action), 1u)
            << "no action.reconciled record for " << action;
    expect_audit_verifies(s.s1pilot.audit_path(), s.s1pilot.audit_key());
}

}  // namespace
}  // namespace s1pilot::integration
