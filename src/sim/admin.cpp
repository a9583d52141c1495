// The simulator's own routes (/_sim/...): what a test or a user needs to set the console up and
// to see what a client did. Same token as the API; never rate-limited, faulted or journaled.

#include "s1pilot/filter/wire.hpp"

#include <boost/json.hpp>

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "generator.hpp"
#include "simulator.hpp"
#include "store_filter.hpp"
#include "threat_json.hpp"

namespace s1sim {
namespace {

namespace json = boost::json;

// The value of `name` in a raw query string (no percent-decoding: the admin parameters are numbers).
std::string_view query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.starts_with(name) && item.size() > name.size() && item[name.size()] == '=')
            return item.substr(name.size() + 1);
    }
    return {};
}

http_response ok_json(std::string body) {
    http_response r;
    r.body = std::move(body);
    return r;
}

// Adds the threats of a GET /threats-shaped document (`{"data":[…]}`), an array of threats, or
// one threat; `agentTags` at the top level sets agent tags. Returns the ids added, or an error.
std::string load_document(threat_store& store, const json::value& doc, s1pilot::core::timestamp now,
                          std::vector<std::uint64_t>& added) {
    const json::array* threats = nullptr;
    json::array single;
    if (doc.is_array()) {
        threats = &doc.get_array();
    } else if (doc.is_object() && doc.get_object().contains("data") && doc.get_object().at("data").is_array()) {
        threats = &doc.get_object().at("data").get_array();
    } else if (doc.is_object()) {
        single.push_back(doc);
        threats = &single;
    } else {
        return "expected {\"data\":[threats…]}, an array of threats or one threat object";
    }
    for (const auto& t : *threats) {
        if (!t.is_object()) return "every threat must be a JSON object";
        json::object threat = t.get_object();
        if (!threat.contains("id")) {
            // A new detection: the simulator names it, and threatInfo.threatId equals id on the console.
            const std::string id = id_text(store.next_object_id());
            threat["id"] = id;
            if (auto* info = threat.if_contains("threatInfo"); info != nullptr && info->is_object())
                info->get_object()["threatId"] = id;
        }
        std::uint64_t id = 0;
        if (auto error = load_threat(store, threat, now, &id); !error.empty()) return error;
        added.push_back(id);
    }
    // Agents are shared: the batch's last word on each is its state, not an action's effect.
    for (auto id : added) settle_loaded_threat(store, *store.find(id));
    if (doc.is_object())
        if (auto* tags = doc.get_object().if_contains("agentTags"); tags != nullptr && tags->is_object())
            load_agent_tags(store, tags->get_object());
    return {};
}

}  // namespace

void simulator::build_store() {
    auto store = std::make_unique<threat_store>();
    if (options_.dataset_file.empty()) {
        generate(*store, {options_.threats, options_.seed, *options_.now});
    } else {
        std::ifstream in(options_.dataset_file, std::ios::binary);
        if (!in) throw std::runtime_error(fmt::format("cannot read the dataset file {}", options_.dataset_file));
        std::stringstream text;
        text << in.rdbuf();
        boost::system::error_code ec;
        auto doc = json::parse(text.str(), ec);
        if (ec) throw std::runtime_error(fmt::format("{}: not JSON: {}", options_.dataset_file, ec.message()));
        std::vector<std::uint64_t> added;
        if (auto error = load_document(*store, doc, *options_.now, added); !error.empty())
            throw std::runtime_error(fmt::format("{}: {}", options_.dataset_file, error));
    }
    agents_.clear();
    agents_.hold_agents(*store, 1, options_.dataset_file.empty());
    store_ = std::move(store);
}

http_response simulator::admin(const http_request& request) {
    const std::string_view path = request.path, method = request.method;
    if (path == "/_sim/threats") {
        if (method == "GET") return dump(request);
        if (method == "POST") return add_threats(request);
        return error_response(405, "use GET or POST");
    }
    if (path == "/_sim/requests") {
        if (method != "GET") return error_response(405, "use GET");
        std::uint64_t since = 0;
        auto text = query_param(request.query, "since");
        std::from_chars(text.data(), text.data() + text.size(), since);
        return ok_json(journal_.to_json(since));
    }
    if (path == "/_sim/reset") {
        if (method != "POST") return error_response(405, "use POST");
        build_store();
        journal_.clear();
        handshakes_failed_ = 0;
        faults_ = options_.faults;
        answers_ = options_.answers;
        fault_rng_ = rng(faults_.seed);
        limiter_ = rate_limiter(options_.rate_limits);
        return ok_json(fmt::format(R"({{"threats":{}}})", store_->threats.size()));
    }
    if (path == "/_sim/faults" || path == "/_sim/rate-limits") {
        const bool faults = path == "/_sim/faults";
        if (method == "GET")
            return ok_json(faults ? faults_to_json(faults_)
                                  : fmt::format(R"({{"read":{},"write":{}}})", limiter_.config().read_rate,
                                                limiter_.config().write_rate));
        if (method != "PUT") return error_response(405, "use GET or PUT");
        boost::system::error_code ec;
        auto body = json::parse(request.body, ec);
        if (ec || !body.is_object()) return error_response(400, "the body must be a JSON object");
        std::string error;
        if (faults) {
            auto* spec = body.get_object().if_contains("spec");
            auto parsed = spec != nullptr && spec->is_string() ? parse_faults(spec->get_string(), error)
                                                               : faults_from_json(body.get_object(), error);
            if (!parsed) return error_response(400, error);
            faults_ = *parsed;
            fault_rng_ = rng(faults_.seed);
            return ok_json(faults_to_json(faults_));
        }
        auto* spec = body.get_object().if_contains("spec");
        auto parsed =
            spec != nullptr && spec->is_string() ? parse_rate_limits(spec->get_string(), error) : std::nullopt;
        if (!parsed) return error_response(400, error.empty() ? "expected {\"spec\":\"read=10/s,write=5/s\"}" : error);
        limiter_ = rate_limiter(*parsed);
        return ok_json("{}");
    }
    if (path == "/_sim/answers") {
        if (method == "PUT") {
            boost::system::error_code ec;
            auto body = json::parse(request.body, ec);
            const auto* style = !ec && body.is_object() ? body.get_object().if_contains("answers") : nullptr;
            auto parsed =
                style != nullptr && style->is_string() ? parse_answer_style(style->get_string()) : std::nullopt;
            if (!parsed) return error_response(400, R"(expected {"answers":"detailed"} or {"answers":"minimal"})");
            answers_ = *parsed;
        } else if (method != "GET") {
            return error_response(405, "use GET or PUT");
        }
        return ok_json(fmt::format(R"({{"answers":"{}"}})", to_string(answers_)));
    }
    if (path.starts_with("/_sim/agents/")) return agent_route(request);
    if (path == "/_sim/stats") {
        if (method != "GET") return error_response(405, "use GET");
        return ok_json(
            fmt::format(R"({{"threats":{},"agents":{},"memoryBytes":{},"requests":{},"tlsHandshakesFailed":{}}})",
                        store_->threats.size(), store_->agents.size() - 1, store_->memory_bytes(), journal_.size(),
                        handshakes_failed_));
    }
    return error_response(404, fmt::format("no admin route {}", path));
}

http_response simulator::dump(const http_request& request) {
    std::vector<s1pilot::core::diagnostic> problems;
    auto parsed = s1pilot::filter::parse_query(request.query, problems);
    if (!parsed) return error_response(400, problems.empty() ? std::string("bad query") : problems.front().message);
    store_filter filter(*store_, parsed->filter);
    http_response r;
    json_writer w(r.body);
    std::vector<std::uint32_t> agents_seen;
    w.begin_object().key("data").begin_array();
    std::vector<std::uint32_t> selected;
    for (std::uint32_t i = 0; i < store_->threats.size(); ++i)
        if (filter.matches(i)) {
            selected.push_back(i);
            write_threat(w, *store_, i);
        }
    w.end_array().key("notes").begin_object();
    for (std::uint32_t i : selected)
        if (const auto* notes = store_->notes(i)) {
            w.key(id_text(store_->threats[i].id)).begin_array();
            for (const auto& n : *notes) w.string(n.text);
            w.end_array();
        }
    w.end_object().key("agentTags").begin_object();
    for (std::uint32_t a = 1; a < store_->agents.size(); ++a) {
        const auto& tags = store_->lists.get(store_->agents[a].tags);
        if (tags.empty()) continue;
        w.key(id_text(store_->agents[a].agent_id)).begin_array();
        for (auto tag : tags) w.string(store_->strings.get(tag));
        w.end_array();
    }
    w.end_object().member_number("total", static_cast<std::int64_t>(selected.size())).end_object();
    return r;
}

http_response simulator::add_threats(const http_request& request) {
    boost::system::error_code ec;
    auto doc = json::parse(request.body, ec);
    if (ec) return error_response(400, "the body is not JSON: " + ec.message());
    std::vector<std::uint64_t> added;
    const auto first_new_agent = static_cast<std::uint32_t>(store_->agents.size());
    auto error = load_document(*store_, doc, options_.clock->now(), added);
    // Even a failed batch may have added agents before the bad threat: they are drawn like any.
    agents_.hold_agents(*store_, first_new_agent, false);
    if (!error.empty()) return error_response(400, error);
    http_response r;
    json_writer w(r.body);
    w.begin_object().member_number("added", static_cast<std::int64_t>(added.size())).key("ids").begin_array();
    for (auto id : added) w.string(id_text(id));
    w.end_array().end_object();
    return r;
}

// POST /_sim/agents/<agentId>/online|offline: an agent comes back (what it was sent is carried
// out one --agent-delay later) or goes away (what it was sent waits for it).
http_response simulator::agent_route(const http_request& request) {
    std::string_view rest = std::string_view(request.path).substr(std::string_view("/_sim/agents/").size());
    const auto slash = rest.find('/');
    const std::string_view id_part = rest.substr(0, slash);
    const std::string_view verb = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (verb != "online" && verb != "offline")
        return error_response(
            404, fmt::format("no admin route {} (use /_sim/agents/<agentId>/online or /offline)", request.path));
    if (request.method != "POST") return error_response(405, "use POST");
    std::uint64_t id = 0;
    const std::uint32_t* agent = parse_id(id_part, id) ? store_->find_agent(id) : nullptr;
    if (agent == nullptr) return error_response(404, fmt::format("no agent {}", id_part));
    const bool online = verb == "online";
    agents_.set_online(*store_, *agent, online, now());
    return ok_json(fmt::format(R"({{"agentId":"{}","agentIsActive":{},"pendingTasks":{}}})", id_text(id), online,
                               agents_.pending()));
}

}  // namespace s1sim
