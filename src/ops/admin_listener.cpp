#include "s1pilot/ops/admin_listener.hpp"

#include "s1pilot/engine/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <set>

namespace s1pilot::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

struct admin_listener::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, admin_handler h, admin_limits l)
        : executor(ex), acceptor(ex), handler(std::move(h)), limits(l) {}

    asio::any_io_executor executor;
    tcp::acceptor acceptor;
    admin_handler handler;
    admin_limits limits;
    std::set<beast::tcp_stream*> connections;  ///< open ones: stop() closes them
    bool stopped = false;

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(tcp::socket socket);
    asio::awaitable<void> refuse_busy(tcp::socket socket);
};

namespace {

http::response<http::string_body> to_http(const admin_response& r, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "s1pilot");
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : r.headers) res.set(name, value);
    res.body() = r.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

/// The refusal for a request the limits or the parser stopped; nullopt: close without a word
/// (the client went away, or was too slow to deserve an answer).
std::optional<admin_response> refusal_for(const boost::system::error_code& ec, const admin_limits& limits) {
    if (ec == http::error::body_limit)
        return json_error(413, "the body is larger than " + std::to_string(limits.body_bytes) + " bytes");
    if (ec == http::error::header_limit) {
        auto r = json_error(431, "the headers are larger than " + std::to_string(limits.header_bytes) + " bytes");
        return r;
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof)
        return std::nullopt;
    return json_error(400, "not a valid HTTP/1.1 request: " + ec.message());
}

/// After refusing a request whose body is still coming: stop sending, then read and drop what
/// the client still sends for a moment, so that closing does not reset the connection before
/// the client has read the refusal.
asio::awaitable<void> linger(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream.expires_after(std::chrono::seconds(1));
    std::array<char, 16384> sink{};
    std::size_t dropped = 0;
    while (dropped < 4 * 1024 * 1024) {
        auto [read_error, n] = co_await stream.async_read_some(asio::buffer(sink), nothrow);
        if (read_error) break;
        dropped += n;
    }
}

}  // namespace

asio::awaitable<void> admin_listener::impl::accept_loop() {
    auto keep = shared_from_this();
    asio::steady_timer pause(executor);
    while (!stopped) {
        auto [ec, socket] = co_await acceptor.async_accept(nothrow);
        if (stopped || ec == asio::error::operation_aborted) break;
        if (ec) {
            // Out of descriptors, most likely: wait a little rather than spin.
            engine::log_warn("admin listener: accept failed", {{"error", ec.message()}});
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(nothrow);
            continue;
        }
        if (connections.size() >= limits.max_connections)
            asio::co_spawn(executor, refuse_busy(std::move(socket)), asio::detached);
        else
            asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> admin_listener::impl::refuse_busy(tcp::socket socket) {
    auto keep = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(limits.write_deadline);
    auto res = to_http(json_error(503, "too many connections to the admin listener"), 11, false);
    co_await http::async_write(stream, res, nothrow);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> admin_listener::impl::serve(tcp::socket socket) {
    auto keep = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    connections.insert(&stream);
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
        parser.body_limit(limits.body_bytes);
        // One deadline for the whole request: a client dribbling bytes cannot hold the connection.
        stream.expires_after(limits.read_deadline);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow);
        if (!ec && parser.get()[http::field::expect] == "100-continue") {
            http::response<http::empty_body> go_on{http::status::continue_, 11};
            std::tie(ec, n) = co_await http::async_write(stream, go_on, nothrow);
        }
        if (!ec && !parser.is_done()) std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, nothrow);
        if (stopped) break;
        if (ec) {
            if (auto refusal = refusal_for(ec, limits)) {
                stream.expires_after(limits.write_deadline);
                auto res = to_http(*refusal, 11, false);
                co_await http::async_write(stream, res, nothrow);
                co_await linger(stream);
            }
            break;
        }
        auto& req = parser.get();
        admin_request request{std::string(req.method_string()), std::string(req.target()),
                              std::string(req[http::field::authorization]),
                              std::string(req[http::field::content_type]), std::move(req.body())};
        const bool keep_alive = req.keep_alive();
        const unsigned version = req.version();
        admin_response answer = co_await handler(std::move(request));
        if (stopped) break;
        stream.expires_after(limits.write_deadline);
        auto res = to_http(answer, version, keep_alive);
        auto [write_error, written] = co_await http::async_write(stream, res, nothrow);
        if (write_error || !keep_alive) break;
    }
    connections.erase(&stream);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

std::variant<std::unique_ptr<admin_listener>, std::string> admin_listener::start(asio::any_io_executor executor,
                                                                                 const std::string& host,
                                                                                 std::uint16_t port,
                                                                                 admin_handler handler,
                                                                                 admin_limits limits) {
    auto state = std::make_shared<impl>(executor, std::move(handler), limits);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return "admin.listen: '" + host + "' is not an IP address";
    const tcp::endpoint where(address, port);
    const auto where_text = (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
    state->acceptor.open(where.protocol(), ec);
    if (!ec) state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) state->acceptor.bind(where, ec);
    if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "admin listener: cannot listen on " + where_text + ": " + ec.message();
    asio::co_spawn(executor, state->accept_loop(), asio::detached);
    return std::unique_ptr<admin_listener>(new admin_listener(std::move(state)));
}

admin_listener::admin_listener(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

admin_listener::~admin_listener() {
    stop();
}

std::uint16_t admin_listener::port() const noexcept {
    boost::system::error_code ec;
    const auto at = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : at.port();
}

void admin_listener::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    for (auto* stream : impl_->connections) stream->socket().close(ignored);
}

}  // namespace s1pilot::ops
