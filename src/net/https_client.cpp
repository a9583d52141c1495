// The connection pool and the one transparent retry: a GET whose pooled connection turns out
// to be dead before any byte of the response arrives is resent once on a fresh connection.
// A POST never is: once its bytes may have left, only the caller can decide (reconcile).

#include "s1pilot/net/https_client.hpp"

#include <algorithm>
#include <deque>

#include "connection.hpp"
#include "tls.hpp"

namespace s1pilot::net {

namespace asio = boost::asio;
using detail::connection;
using detail::steady_clock;

struct https_client::impl {
    asio::any_io_executor executor;
    detail::origin_settings settings;
    std::deque<std::unique_ptr<connection>> idle;  // most recently used at the back
    client_statistics stats;

    std::unique_ptr<connection> take_idle() {
        const auto now = steady_clock::now();
        while (!idle.empty()) {
            auto candidate = std::move(idle.back());
            idle.pop_back();
            if (candidate->reusable(now, settings.config.timeouts.idle)) return candidate;
        }
        return nullptr;
    }

    void give_back(std::unique_ptr<connection> c) {
        if (!c->reusable(steady_clock::now(), settings.config.timeouts.idle)) return;
        if (idle.size() >= settings.config.pool_size) return;
        idle.push_back(std::move(c));
    }

    asio::awaitable<result<response>> finish(std::unique_ptr<connection> c, detail::exchange_result r, bool reused) {
        if (!r.answer) co_return r.error;
        r.answer->reused_connection = reused;
        give_back(std::move(c));
        co_return std::move(*r.answer);
    }
};

https_client::https_client(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
https_client::~https_client() = default;

result<std::unique_ptr<https_client>> https_client::create(asio::any_io_executor executor, client_config config) {
    auto origin = parse_origin(config.origin);
    if (!origin) return origin.error();
    std::optional<endpoint> proxy;
    if (!config.proxy.empty()) {
        auto parsed = parse_proxy(config.proxy);
        if (!parsed) return parsed.error();
        proxy = *parsed;
    }
    if (config.max_body_size == 0 || config.max_header_size == 0) {
        return failure{failure_kind::local_error, "HTTPS client: size limits must be positive"};
    }
    auto tls = detail::make_tls_context(config.ca_file);
    if (!tls) return tls.error();
    auto state = std::make_unique<impl>();
    state->executor = std::move(executor);
    state->settings = {*origin, proxy, std::move(config), *tls};
    return std::unique_ptr<https_client>(new https_client(std::move(state)));
}

asio::awaitable<result<response>> https_client::send(request req) {
    impl& self = *impl_;
    auto deadline = steady_clock::now() + self.settings.config.timeouts.call;
    if (req.deadline) deadline = std::min(deadline, *req.deadline);

    if (auto pooled = self.take_idle()) {
        ++self.stats.requests_sent;
        ++self.stats.reused_connections;
        auto r = co_await pooled->exchange(req, self.settings, deadline);
        const bool stale = !r.answer && r.nothing_received && req.method == http_method::get &&
                           r.error.kind == failure_kind::lost_after_send;
        if (!stale) co_return co_await self.finish(std::move(pooled), std::move(r), true);
        ++self.stats.stale_retries;
    }

    auto opened = co_await connection::open(self.executor, self.settings, deadline);
    if (!opened) co_return opened.error();
    ++self.stats.connections_opened;
    ++self.stats.requests_sent;
    auto fresh = std::move(*opened);
    auto r = co_await fresh->exchange(req, self.settings, deadline);
    co_return co_await self.finish(std::move(fresh), std::move(r), false);
}

void https_client::close_idle() noexcept {
    impl_->idle.clear();
}

client_statistics https_client::statistics() const noexcept {
    return impl_->stats;
}

const client_config& https_client::config() const noexcept {
    return impl_->settings.config;
}

}  // namespace s1pilot::net
