#pragma once
// An in-process simulator on 127.0.0.1 port 0 for one test, stopped when the test ends.

#include "s1pilot/core/clock.hpp"
#include "s1pilot/core/time.hpp"

#include <atomic>
#include <memory>

#include "https_client.hpp"
#include "server.hpp"
#include "simulator.hpp"

namespace s1sim::test {

inline constexpr const char* test_token = "test-token";
inline constexpr const char* threats_path = "/web/api/v2.1/threats";

/// A small deterministic dataset dated before a fixed instant.
inline simulator_options test_options(std::uint64_t threats = 400) {
    simulator_options o;
    o.token = test_token;
    o.threats = threats;
    o.seed = 7;
    o.now = s1pilot::core::parse_timestamp("2024-05-01T00:00:00Z");
    return o;
}

/// A clock the test moves and the server thread reads: core::manual_clock with an atomic
/// reading, so that advancing it between requests is no data race.
class test_clock final : public s1pilot::core::clock {
public:
    explicit test_clock(s1pilot::core::timestamp start) : micros_(start.time_since_epoch().count()) {}
    s1pilot::core::timestamp now() const override {
        return s1pilot::core::timestamp{std::chrono::microseconds{micros_.load()}};
    }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::time_point{std::chrono::microseconds{micros_.load()}};
    }
    void advance(std::chrono::microseconds d) { micros_ += d.count(); }

private:
    std::atomic<std::int64_t> micros_;
};

class running_sim {
public:
    explicit running_sim(simulator_options options = test_options(), server_options net = {})
        : sim_(std::make_unique<simulator>(std::move(options))),
          server_(std::make_unique<server>(*sim_, std::move(net))) {
        server_->start();
    }
    ~running_sim() { server_->stop(); }

    std::unique_ptr<https_client> client(const std::string& token = test_token) const {
        return std::make_unique<https_client>(server_->port(), server_->ca_pem(), token);
    }
    simulator& sim() { return *sim_; }
    server& srv() { return *server_; }

private:
    std::unique_ptr<simulator> sim_;
    std::unique_ptr<server> server_;
};

}  // namespace s1sim::test

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace s1sim::test {

/// The ids of a GET /threats page.
inline std::vector<std::string> ids_of(const client_response& r) {
    std::vector<std::string> ids;
    auto body = r.json();
    if (!body.is_object() || !body.as_object().contains("data")) return ids;
    for (const auto& t : body.at("data").as_array()) ids.emplace_back(t.at("id").as_string());
    return ids;
}

/// Every threat a query selects, following nextCursor (at most `max_pages` pages).
inline std::vector<std::string> all_ids(https_client& client, const std::string& query, int page_size = 100,
                                        int max_pages = 1000) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int page = 0; page < max_pages; ++page) {
        std::string target =
            std::string(threats_path) + "?" + query + (query.empty() ? "" : "&") + "limit=" + std::to_string(page_size);
        if (!cursor.empty()) target += "&cursor=" + url_encode(cursor);
        auto r = client.get(target);
        EXPECT_EQ(r.status, 200) << target << "\n" << r.body;
        if (r.status != 200) break;
        auto page_ids = ids_of(r);
        ids.insert(ids.end(), page_ids.begin(), page_ids.end());
        auto body = r.json();
        const auto& next = body.at("pagination").at("nextCursor");
        if (next.is_null()) break;
        cursor = std::string(next.as_string());
    }
    return ids;
}

/// The threats the admin dump holds (optionally filtered by a GET /threats query).
inline boost::json::array dumped(https_client& client, const std::string& query = {}) {
    auto r = client.get("/_sim/threats" + (query.empty() ? std::string() : "?" + query));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return {};
    auto body = r.json();
    return body.at("data").as_array();
}

}  // namespace s1sim::test
