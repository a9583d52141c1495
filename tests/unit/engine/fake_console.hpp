#pragma once
// An in-memory console behind net::transport for the engine's async tests: a threat store that
// answers GET /threats (filters by the shared filter table, oldest first, cursor pages), the
// notes list and the action POSTs with their effects, plus scripted faults — including "apply,
// then lose the answer", the ambiguous case. No sockets, no sleeps.

#include "s1pilot/filter/evaluate.hpp"
#include "s1pilot/filter/wire.hpp"
#include "s1pilot/net/transport.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace s1pilot::engine::test {

namespace json = boost::json;

enum class fault {
    apply_then_drop,  ///< the action takes effect, then the connection is lost (effect unknown)
    server_error,     ///< 500 without applying
    bad_request,      ///< 400 without applying
    not_applied,      ///< 200 `{"data":{"affected":0}}` without applying (no details, like the console)
};

class fake_console final : public net::transport {
public:
    std::vector<json::object> threats;  ///< oldest first
    std::map<std::string, std::vector<std::string>> notes;
    std::vector<net::request> requests;               ///< every request, in order
    std::map<std::string, std::deque<fault>> faults;  ///< by path (no query), consumed in order
    std::size_t page_size = 3;                        ///< small pages: the cursor is exercised
    /// 2xx bodies by path, consumed in order, replacing the default answer of an applied action
    /// (details with `skipped`, per-threat results, top-level errors).
    std::map<std::string, std::deque<std::string>> answers;
    /// Called after an action is applied, before it is answered (the console changes meanwhile).
    std::function<void(fake_console&)> after_post;

    /// Adds `n` ransomware threats on site 7, account 3, agents 500+i/2, created a second apart.
    void add_threats(std::size_t n, std::uint64_t first_id = 101) {
        for (std::size_t i = 0; i < n; ++i) {
            const std::string id = std::to_string(first_id + i);
            const std::size_t k = threats.size();
            char created[40];
            std::snprintf(created, sizeof created, "2026-01-01T12:%02zu:%02zu.000000Z", k / 60 % 60, k % 60);
            json::object t;
            t["id"] = id;
            t["threatInfo"] = {{"threatId", id},
                               {"createdAt", created},
                               {"classification", "Ransomware"},
                               {"threatName", "evil-" + id + ".exe"},
                               {"mitigationStatus", "not_mitigated"},
                               {"incidentStatus", "unresolved"},
                               {"analystVerdict", "undefined"}};
            t["agentRealtimeInfo"] = {{"agentId", std::to_string(500 + i / 2)},
                                      {"siteId", "7"},
                                      {"accountId", "3"},
                                      {"agentComputerName", "host-" + id},
                                      {"agentNetworkStatus", "connected"}};
            t["mitigationStatus"] = json::array();
            threats.push_back(std::move(t));
        }
    }

    std::vector<const net::request*> posts(std::string_view path_suffix = {}) const {
        std::vector<const net::request*> out;
        for (const auto& r : requests) {
            if (r.method == net::http_method::post && r.target.ends_with(path_suffix)) out.push_back(&r);
        }
        return out;
    }

    boost::asio::awaitable<net::result<net::response>> send(net::request req) override {
        requests.push_back(req);
        // Yield like a real network call, so that other coroutines (a second trigger) interleave.
        co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
        co_return handle(req);
    }

private:
    static net::response answer(unsigned status, std::string body) {
        net::response r;
        r.status = status;
        r.body = std::move(body);
        r.request_id = "rq-fake";
        return r;
    }

    std::vector<json::object*> select(const filter::threat_filter& f) {
        std::vector<json::object*> out;
        for (auto& t : threats) {
            const auto found = notes.find(std::string(t["id"].as_string()));
            filter::json_threat_view view(t, found == notes.end() ? nullptr : &found->second);
            if (filter::matches(f, view)) out.push_back(&t);
        }
        return out;
    }

    net::result<net::response> list(std::string_view query) {
        std::vector<core::diagnostic> problems;
        auto parsed = filter::parse_query(query, problems);
        if (!parsed) return answer(400, R"({"errors":[{"code":4000010,"title":"Validation Error"}]})");
        auto selected = select(parsed->filter);
        if (parsed->params.count_only)
            return answer(200, R"({"data":[],"pagination":{"nextCursor":null,"totalItems":)" +
                                   std::to_string(selected.size()) + "}}");
        const std::size_t from = parsed->params.cursor.empty() ? 0 : std::stoul(parsed->params.cursor.substr(1));
        const std::size_t size = std::min<std::size_t>(page_size, static_cast<std::size_t>(parsed->params.limit));
        json::array data;
        for (std::size_t i = from; i < selected.size() && i < from + size; ++i) data.push_back(*selected[i]);
        json::object body;
        body["data"] = std::move(data);
        json::value cursor = nullptr;
        if (from + size < selected.size()) cursor = "c" + std::to_string(from + size) + "=";
        body["pagination"] = {{"nextCursor", cursor}, {"totalItems", selected.size()}};
        return answer(200, json::serialize(body));
    }

    std::size_t apply(std::string_view path, const json::object& body) {
        const auto& f = body.at("filter").as_object();
        const auto& data = body.at("data").as_object();
        if (path == "/agents/actions/disconnect") {
            std::size_t affected = 0;
            for (const auto& agent : f.at("ids").as_array()) {
                bool any = false;
                for (auto& t : threats) {
                    auto& info = t["agentRealtimeInfo"].as_object();
                    if (info["agentId"] == agent) {
                        info["agentNetworkStatus"] = "disconnecting";
                        any = true;
                    }
                }
                affected += any;
            }
            return affected;
        }
        std::vector<core::diagnostic> problems;
        auto parsed = filter::from_json(f, problems);
        if (!parsed) return 0;
        auto selected = select(*parsed);
        for (auto* t : selected) {
            auto& info = (*t)["threatInfo"].as_object();
            if (path.starts_with("/threats/mitigate/")) {
                std::string action(path.substr(std::string_view("/threats/mitigate/").size()));
                (*t)["mitigationStatus"].as_array().push_back({{"action", action}, {"status", "success"}});
                info["mitigationStatus"] = "mitigated";
            } else if (path == "/threats/incident") {
                info["incidentStatus"] = data.at("incidentStatus");
                if (data.contains("analystVerdict")) info["analystVerdict"] = data.at("analystVerdict");
            } else if (path == "/threats/analyst-verdict") {
                info["analystVerdict"] = data.at("analystVerdict");
            } else if (path == "/threats/notes") {
                notes[std::string((*t)["id"].as_string())].push_back(std::string(data.at("text").as_string()));
            }
        }
        return selected.size();
    }

    net::result<net::response> handle(const net::request& req) {
        constexpr std::string_view base = "/web/api/v2.1";
        std::string_view target = req.target;
        if (!target.starts_with(base)) return answer(404, "{}");
        target.remove_prefix(base.size());
        const auto question = target.find('?');
        const std::string_view path = target.substr(0, question);
        const std::string_view query = question == std::string_view::npos ? "" : target.substr(question + 1);
        if (req.method == net::http_method::get) {
            // GET faults: server_error only (a read that fails, for reconciliation tests).
            if (auto found = faults.find(std::string(path)); found != faults.end() && !found->second.empty()) {
                found->second.pop_front();
                return answer(500, R"({"errors":[{"code":5000010,"title":"Internal server error"}]})");
            }
            if (path == "/threats") return list(query);
            if (path.starts_with("/threats/") && path.ends_with("/notes")) {
                const std::string id(path.substr(9, path.size() - 9 - 6));
                json::array data;
                for (const auto& text : notes[id]) data.push_back(json::object{{"text", text}});
                json::object body{{"data", data}, {"pagination", {{"nextCursor", nullptr}}}};
                return answer(200, json::serialize(body));
            }
            return answer(404, "{}");
        }
        std::optional<fault> scripted;
        if (auto found = faults.find(std::string(path)); found != faults.end() && !found->second.empty()) {
            scripted = found->second.front();
            found->second.pop_front();
        }
        if (scripted == fault::server_error)
            return answer(500, R"({"errors":[{"code":5000010,"title":"Internal server error"}]})");
        if (scripted == fault::bad_request)
            return answer(400, R"({"errors":[{"code":4000010,"title":"Validation Error","detail":"scripted"}]})");
        if (scripted == fault::not_applied) return answer(200, R"({"data":{"affected":0}})");
        const auto affected = apply(path, json::parse(req.body).as_object());
        if (after_post) after_post(*this);
        if (scripted == fault::apply_then_drop) {
            return net::failure{net::failure_kind::lost_after_send, "connection reset after the request was sent",
                                true};
        }
        if (auto found = answers.find(std::string(path)); found != answers.end() && !found->second.empty()) {
            auto body = std::move(found->second.front());
            found->second.pop_front();
            return answer(200, std::move(body));
        }
        return answer(200, R"({"data":{"affected":)" + std::to_string(affected) + "}}");
    }
};

}  // namespace s1pilot::engine::test
