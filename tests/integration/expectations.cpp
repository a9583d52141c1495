#include "expectations.hpp"

#include "s1pilot/audit/verify.hpp"
#include "s1pilot/config/load.hpp"
#include "s1pilot/filter/evaluate.hpp"
#include "s1pilot/filter/wire.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "pilot_process.hpp"

namespace s1pilot::integration {
namespace {

// Stands for {{time}} in an expected note: the run's start is known only to s1pilot.
constexpr std::string_view time_marker = "\x01time\x01";

template <class... T>
struct overloaded : T... {
    using T::operator()...;
};
template <class... T>
overloaded(T...) -> overloaded<T...>;

std::string render_note(const config::note_template& text, const json::object* threat, const note_context& c) {
    using config::placeholder;
    return text.render([&](placeholder p) -> std::string {
        switch (p) {
            case placeholder::playbook: return c.playbook;
            case placeholder::run: return c.run_id;
            case placeholder::console: return c.console;
            case placeholder::mode: return c.mode;
            case placeholder::time: return std::string(time_marker);
            case placeholder::matched: return std::to_string(c.matched);
            case placeholder::threat_id: return threat ? field(*threat, {"id"}) : "";
            case placeholder::threat_name: return threat ? field(*threat, {"threatInfo", "threatName"}) : "";
            case placeholder::classification: return threat ? field(*threat, {"threatInfo", "classification"}) : "";
            case placeholder::computer_name:
                return threat ? field(*threat, {"agentRealtimeInfo", "agentComputerName"}) : "";
            case placeholder::agent_id: return threat ? field(*threat, {"agentRealtimeInfo", "agentId"}) : "";
            case placeholder::site_id: return threat ? field(*threat, {"agentRealtimeInfo", "siteId"}) : "";
        }
        return "";
    });
}

// `expected` may hold the time marker once: the text there must be an RFC 3339 time.
bool note_matches(const std::string& expected, const std::string& actual) {
    auto at = expected.find(time_marker);
    if (at == std::string::npos) return expected == actual;
    auto prefix = expected.substr(0, at), suffix = expected.substr(at + time_marker.size());
    if (actual.size() < prefix.size() + suffix.size() || !actual.starts_with(prefix) || !actual.ends_with(suffix))
        return false;
    auto middle = actual.substr(prefix.size(), actual.size() - prefix.size() - suffix.size());
    return core::parse_timestamp(middle).has_value();
}

json::object expected_data(const config::action& a) {
    json::object data;
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, config::incident_action>) {
                data["incidentStatus"] = config::to_string(x.status);
                if (x.verdict) data["analystVerdict"] = config::to_string(*x.verdict);
            } else if constexpr (std::is_same_v<T, config::verdict_action>) {
                data["analystVerdict"] = config::to_string(x.verdict);
            }
        },
        a);
    return data;
}

// The filter keys an action's POST must carry besides ids (DESIGN §4).
json::object expected_scope(const config::playbook& p, bool isolate) {
    auto scope = filter::to_json(p.match.carried_scope());
    if (isolate) scope.erase("agentIds");  // isolate's ids are agent ids already
    return scope;
}

}  // namespace

dataset::dataset(json::object dump) : dump_(std::move(dump)) {
    if (const auto* notes = dump_.if_contains("notes"); notes != nullptr && notes->is_object())
        for (const auto& [id, texts] : notes->get_object())
            for (const auto& t : texts.as_array()) notes_[std::string(id)].emplace_back(t.as_string());
}

const json::array& dataset::threats() const {
    static const json::array none;
    const auto* data = dump_.if_contains("data");
    return data != nullptr && data->is_array() ? data->get_array() : none;
}

std::vector<const json::object*> dataset::select(const filter::threat_filter& f) const {
    filter::compiled_filter compiled(f);
    std::vector<const json::object*> out;
    for (const auto& t : threats()) {
        const auto& threat = t.as_object();
        auto it = notes_.find(field(threat, {"id"}));
        filter::json_threat_view view(threat, it == notes_.end() ? nullptr : &it->second);
        if (compiled.matches(view)) out.push_back(&threat);
    }
    std::stable_sort(out.begin(), out.end(), [](const json::object* a, const json::object* b) {
        auto ka = field(*a, {"threatInfo", "createdAt"}), kb = field(*b, {"threatInfo", "createdAt"});
        return ka != kb ? ka < kb : field(*a, {"id"}) < field(*b, {"id"});
    });
    return out;
}

const json::object* dataset::find(const std::string& id) const {
    for (const auto& t : threats())
        if (field(t.as_object(), {"id"}) == id) return &t.as_object();
    return nullptr;
}

std::vector<std::string> dataset::notes(const std::string& id) const {
    auto it = notes_.find(id);
    return it == notes_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<config::playbook> load_playbook(const fs::path& file) {
    auto result = config::load_playbooks({file});
    std::string problems;
    for (const auto& d : result.diagnostics) problems += d.message + "\n";
    if (!result.ok() || result.playbooks.size() != 1) {
        ADD_FAILURE() << "cannot load " << file << ":\n" << problems;
        return std::nullopt;
    }
    return result.playbooks.front();
}

std::string field(const json::object& threat, std::initializer_list<std::string_view> path) {
    const json::value* v = nullptr;
    const json::object* o = &threat;
    for (auto key : path) {
        if (o == nullptr || (v = o->if_contains(key)) == nullptr) return {};
        o = v->is_object() ? &v->get_object() : nullptr;
    }
    if (v == nullptr || v->is_null()) return {};
    return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

expected_run expect_run(const config::playbook& p, const dataset& data, core::timestamp now) {
    expected_run run;
    run.matched = data.select(p.match.resolved(now));
    const auto max = static_cast<std::size_t>(p.limits.max_threats);
    if (run.matched.size() > max && p.limits.on_exceed == config::exceed_policy::hold) {
        run.held = true;
    } else {
        run.acted.assign(run.matched.begin(), run.matched.begin() + std::min(max, run.matched.size()));
    }
    return run;
}

std::string action_path(const config::action& a) {
    return std::string(api_prefix) +
           std::visit(overloaded{
                          [](const config::mitigate_action& m) {
                              return "/threats/mitigate/" + std::string(config::to_string(m.kind));
                          },
                          [](const config::incident_action&) { return std::string("/threats/incident"); },
                          [](const config::verdict_action&) { return std::string("/threats/analyst-verdict"); },
                          [](const config::note_action&) { return std::string("/threats/notes"); },
                          [](const config::isolate_action&) { return std::string("/agents/actions/disconnect"); },
                      },
                      a);
}

std::vector<std::string> ids_of(const std::vector<const json::object*>& threats) {
    std::vector<std::string> ids;
    for (const auto* t : threats) ids.push_back(field(*t, {"id"}));
    return ids;
}

std::vector<std::string> unmitigated_ids(const dataset& data, std::size_t n) {
    std::vector<std::string> ids;
    for (const auto& t : data.threats())
        if (field(t.as_object(), {"agentRealtimeInfo", "siteId"}) == "1364475734565842020" &&
            t.at("mitigationStatus").as_array().empty() && ids.size() < n)
            ids.push_back(field(t.as_object(), {"id"}));
    return ids;
}

std::size_t posts_for(const std::vector<journal_entry>& posts, const std::string& path, const std::string& id,
                      int status) {
    std::size_t n = 0;
    for (const auto& p : posts)
        if (p.path == path && (status == 0 || p.status == status)) {
            auto ids = body_ids(p);
            n += static_cast<std::size_t>(std::count(ids.begin(), ids.end(), id));
        }
    return n;
}

std::vector<std::string> body_ids(const journal_entry& post) {
    std::vector<std::string> ids;
    boost::system::error_code ec;
    auto body = json::parse(post.body, ec);
    if (ec || !body.is_object()) return ids;
    const auto* f = body.get_object().if_contains("filter");
    const auto* list = f != nullptr && f->is_object() ? f->get_object().if_contains("ids") : nullptr;
    if (list == nullptr || !list->is_array()) return ids;
    for (const auto& id : list->get_array())
        if (id.is_string()) ids.emplace_back(id.get_string());
    return ids;
}

std::optional<core::timestamp> check_resolve_query(const config::playbook& p,
                                                   const std::vector<journal_entry>& requests) {
    const std::string threats_path = std::string(api_prefix) + "/threats";
    for (const auto& r : requests) {
        if (r.method != "GET" || r.path != threats_path) continue;
        std::vector<core::diagnostic> problems;
        auto parsed = filter::parse_query(r.query, problems);
        if (!parsed) {
            ADD_FAILURE() << "s1pilot sent a GET /threats s1sim cannot parse: " << r.query;
            return std::nullopt;
        }
        if (!parsed->params.cursor.empty() || parsed->params.count_only || parsed->filter.find("ids") != nullptr)
            continue;  // a later page, a count or a reconciliation read
        EXPECT_EQ(parsed->params.sort_by, "createdAt") << r.query;
        EXPECT_FALSE(parsed->params.sort_descending) << r.query;
        EXPECT_EQ(parsed->params.limit, 1000) << r.query;
        // The instant relative times were resolved at, from the first relative term.
        core::timestamp at{};
        for (const auto& t : p.match.terms())
            if (const auto* rel = std::get_if<filter::relative_time>(&t.val)) {
                const auto* sent = parsed->filter.find(t.key->name);
                const auto* when = sent ? std::get_if<core::timestamp>(&sent->val) : nullptr;
                if (when == nullptr) {
                    ADD_FAILURE() << "the resolve GET lacks " << t.key->name << ": " << r.query;
                    return std::nullopt;
                }
                at = *when - rel->offset;
                break;
            }
        EXPECT_EQ(filter::to_json(parsed->filter), filter::to_json(p.match.resolved(at)))
            << "the resolve GET's filter is not the match (every relative time resolved at one instant): " << r.query;
        return at;
    }
    ADD_FAILURE() << "no resolve GET /threats in the journal";
    return std::nullopt;
}

namespace {

// One POST of action `a`: its answer, filter, batch size and data; appends its ids to `seen`.
void check_post(const config::playbook& p, const config::action& a, const journal_entry& post,
                const std::vector<const json::object*>& acted, int batch_size, const note_context& context,
                std::vector<std::string>& seen) {
    SCOPED_TRACE("POST " + post.path + " " + post.body.substr(0, 400));
    EXPECT_EQ(post.status, 200);
    EXPECT_EQ(post.fault, "");
    boost::system::error_code ec;
    auto body = json::parse(post.body, ec);
    ASSERT_FALSE(ec) << "the body is not JSON";
    ASSERT_TRUE(body.is_object() && body.as_object().contains("filter") && body.at("filter").is_object());
    const auto* note = std::get_if<config::note_action>(&a);
    auto ids = body_ids(post);
    EXPECT_GE(ids.size(), 1u);
    EXPECT_LE(ids.size(), note && note->text.per_threat() ? 1u : static_cast<std::size_t>(batch_size));
    seen.insert(seen.end(), ids.begin(), ids.end());
    auto carried = body.at("filter").as_object();
    carried.erase("ids");
    EXPECT_EQ(json::value(carried), json::value(expected_scope(p, std::holds_alternative<config::isolate_action>(a))))
        << "the filter besides ids";
    const auto* data = body.as_object().if_contains("data");
    ASSERT_TRUE(data != nullptr && data->is_object()) << "no data object";
    if (!note) {
        EXPECT_EQ(json::value(data->get_object()), json::value(expected_data(a)));
        return;
    }
    const json::object* threat = nullptr;  // the one a per-threat note is about
    if (note->text.per_threat() && ids.size() == 1)
        for (const auto* t : acted)
            if (field(*t, {"id"}) == ids.front()) threat = t;
    auto named = context;
    named.playbook = p.name;
    const auto want = render_note(note->text, threat, named);
    const auto* text = data->get_object().if_contains("text");
    ASSERT_TRUE(text != nullptr && text->is_string()) << "no note text";
    EXPECT_TRUE(note_matches(want, std::string(text->get_string())))
        << "note text: " << text->get_string() << "\nexpected: " << want;
}

}  // namespace

void check_posts(const config::playbook& p, const std::vector<const json::object*>& acted,
                 const std::vector<journal_entry>& posts, int batch_size, const note_context& context) {
    std::map<std::string, std::size_t> index_of;
    for (std::size_t i = 0; i < p.actions.size(); ++i) index_of[action_path(p.actions[i])] = i;
    std::vector<std::vector<const journal_entry*>> per_action(p.actions.size());
    std::size_t last = 0;
    for (const auto& post : posts) {
        auto it = index_of.find(post.path);
        if (it == index_of.end()) {
            ADD_FAILURE() << "a POST to " << post.path << " that playbook " << p.name << " does not do: " << post.body;
            continue;
        }
        EXPECT_GE(it->second, last) << "actions out of order: POST " << post.path << " after a later action";
        last = std::max(last, it->second);
        per_action[it->second].push_back(&post);
    }
    for (std::size_t i = 0; i < p.actions.size(); ++i) {
        const auto& a = p.actions[i];
        SCOPED_TRACE("action " + config::action_name(a) + " of playbook " + p.name);
        // isolate posts the threats' distinct agents; every other action the threats.
        const bool isolate = std::holds_alternative<config::isolate_action>(a);
        std::vector<std::string> expected;
        std::set<std::string> agents;
        for (const auto* t : acted) {
            if (!isolate)
                expected.push_back(field(*t, {"id"}));
            else if (agents.insert(field(*t, {"agentRealtimeInfo", "agentId"})).second)
                expected.push_back(field(*t, {"agentRealtimeInfo", "agentId"}));
        }
        std::vector<std::string> seen;
        for (const auto* post : per_action[i]) check_post(p, a, *post, acted, batch_size, context, seen);
        std::sort(seen.begin(), seen.end());
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "an id was sent twice for one action";
        EXPECT_EQ(seen, expected) << "the ids posted are not the ones the match selects";
    }
}

std::string last_run_id(const audit_records& records, const std::string& playbook) {
    std::string run;
    for (const auto& r : records)
        if (text_of(r, "event") == "run.start" && text_of(r, "playbook") == playbook) run = text_of(r, "run");
    EXPECT_FALSE(run.empty()) << "no run.start record with a run id for playbook " << playbook;
    return run;
}

std::size_t count_events(const audit_records& records, std::string_view event, const std::string& playbook,
                         const std::string& action) {
    return static_cast<std::size_t>(std::count_if(records.begin(), records.end(), [&](const auto& r) {
        return text_of(r, "event") == event && text_of(r, "playbook") == playbook &&
               (action.empty() || text_of(r, "action") == action);
    }));
}

void expect_audit_verifies(const fs::path& audit_file, const std::string& hmac_key) {
    auto report = audit::verify({audit_file}, hmac_key);
    EXPECT_TRUE(report.ok()) << (report.problem ? report.problem->to_string() : std::string());
    EXPECT_GT(report.records, 0u) << "the audit log " << audit_file << " is empty";
}

std::vector<std::string> threat_ids_of(const boost::json::object& record) {
    std::vector<std::string> ids;
    const auto* list = record.if_contains("threat_ids");
    if (list == nullptr || !list->is_array()) return ids;
    for (const auto& id : list->get_array())
        if (id.is_string()) ids.emplace_back(id.get_string());
    return ids;
}

void expect_dry_run_records(const audit_records& records, const config::playbook& p,
                            const std::vector<std::string>& acted_ids) {
    for (const auto& a : p.actions) {
        const auto name = config::action_name(a);
        SCOPED_TRACE("dry run of " + name + " in playbook " + p.name);
        std::vector<std::string> ids;
        std::size_t dry = 0;
        for (const auto& r : records) {
            if (text_of(r, "playbook") != p.name || text_of(r, "action") != name) continue;
            auto outcome = text_of(r, "outcome");
            if (outcome.empty()) continue;  // an intent carries no outcome yet
            EXPECT_EQ(outcome, "dry_run") << boost::json::serialize(r);
            if (outcome != "dry_run") continue;
            ++dry;
            EXPECT_EQ(text_of(r, "path"), action_path(a)) << boost::json::serialize(r);
            const auto* flag = r.if_contains("dry_run");
            EXPECT_TRUE(flag != nullptr && flag->is_bool() && flag->get_bool()) << boost::json::serialize(r);
            auto batch = threat_ids_of(r);
            ids.insert(ids.end(), batch.begin(), batch.end());
        }
        if (acted_ids.empty()) continue;
        EXPECT_GT(dry, 0u) << "no record of the request the dry run would have sent";
        auto expected = acted_ids;
        std::sort(ids.begin(), ids.end());
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(ids, expected) << "the dry run's records name other threats than the match selects";
    }
}

}  // namespace s1pilot::integration
