// The HTTPS test server and CONNECT proxy. Test code: simple on purpose, and stopped with
// io_context::stop() because each runs alone on its own thread and owns nothing else.

#include "test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <thread>

namespace s1pilot::net::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

tcp::acceptor listen_on_loopback(asio::io_context& ioc) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor;
}

}  // namespace

struct test_server::impl {
    explicit impl(const server_options& options) {
        tls.use_certificate_chain(asio::buffer(options.certificate.certificate_pem));
        tls.use_private_key(asio::buffer(options.certificate.private_key_pem), asio::ssl::context::pem);
        if (options.tls_1_1_only) {
            SSL_CTX_set_security_level(tls.native_handle(), 0);
            SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_1_VERSION);
            SSL_CTX_set_max_proto_version(tls.native_handle(), TLS1_1_VERSION);
        }
    }

    asio::awaitable<void> accept_loop(test_server& owner) {
        for (int index = 1;; ++index) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (ec) co_return;
            ++owner.connections_;
            asio::co_spawn(ioc, serve(owner, std::move(socket), index), asio::detached);
        }
    }

    asio::awaitable<void> serve(test_server& owner, tcp::socket socket, int index) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
        beast::get_lowest_layer(stream).expires_after(10s);
        auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
        if (handshake_ec) {
            ++owner.handshakes_failed_;
            co_return;
        }
        beast::flat_buffer buffer;
        for (int sequence = 1;; ++sequence) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(16 * 1024 * 1024);
            beast::get_lowest_layer(stream).expires_after(30s);
            auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
            if (read_ec) co_return;
            const auto& message = parser.get();
            received_request got{std::string(message.method_string()),
                                 std::string(message.target()),
                                 message.body(),
                                 {},
                                 index,
                                 sequence};
            for (const auto& field : message) got.headers[lower(field.name_string())] = std::string(field.value());
            request_handler current;
            {
                std::lock_guard lock(mutex);
                requests.push_back(got);
                current = handler;
            }
            const reply answer = current ? current(got) : reply{};
            switch (answer.how) {
                case reply::behaviour::drop: co_return;
                case reply::behaviour::stall: {
                    asio::steady_timer timer(ioc, 1h);
                    co_await timer.async_wait(use_tuple);
                    co_return;
                }
                case reply::behaviour::drip: {
                    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                             std::to_string(answer.body.size()) + "\r\n\r\n";
                    beast::get_lowest_layer(stream).expires_never();
                    auto [ec, w] = co_await asio::async_write(stream, asio::buffer(head), use_tuple);
                    for (char c : answer.body) {
                        if (ec) co_return;
                        asio::steady_timer timer(ioc, 10ms);
                        co_await timer.async_wait(use_tuple);
                        std::tie(ec, w) = co_await asio::async_write(stream, asio::buffer(&c, 1), use_tuple);
                    }
                    co_return;
                }
                case reply::behaviour::normal: break;
            }
            http::response<http::string_body> out{static_cast<http::status>(answer.status), 11};
            out.set(http::field::content_type, "application/json");
            for (const auto& [name, value] : answer.headers) out.set(name, value);
            out.body() = answer.body;
            out.keep_alive(answer.keep_alive);
            out.prepare_payload();
            auto [write_ec, w] = co_await http::async_write(stream, out, use_tuple);
            if (write_ec || !answer.keep_alive) co_return;
        }
    }

    // Declaration order matters: the io_context (and the coroutine frames it owns) goes before
    // the TLS context and the recorded data they use.
    asio::ssl::context tls{asio::ssl::context::tls_server};
    mutable std::mutex mutex;
    request_handler handler;
    std::vector<received_request> requests;
    asio::io_context ioc{1};
    tcp::acceptor acceptor = listen_on_loopback(ioc);
    std::thread thread;
};

test_server::test_server(server_options options) : impl_(std::make_unique<impl>(options)) {
    port_ = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->ioc, impl_->accept_loop(*this), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

test_server::~test_server() {
    impl_->ioc.stop();
    impl_->thread.join();
}

void test_server::set_handler(request_handler handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->handler = std::move(handler);
}

std::vector<received_request> test_server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

struct test_proxy::impl {
    explicit impl(unsigned answer) : status(answer) {}

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (ec) co_return;
            asio::co_spawn(ioc, handle(std::move(socket)), asio::detached);
        }
    }

    static asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to) {
        std::array<char, 16384> data;
        for (;;) {
            auto [ec, n] = co_await from.async_read_some(asio::buffer(data), use_tuple);
            if (ec) co_return;
            auto [write_ec, w] = co_await asio::async_write(to, asio::buffer(data.data(), n), use_tuple);
            if (write_ec) co_return;
        }
    }

    asio::awaitable<void> handle(tcp::socket client) {
        beast::flat_buffer buffer;
        http::request_parser<http::empty_body> parser;
        auto [ec, n] = co_await http::async_read(client, buffer, parser, use_tuple);
        if (ec) co_return;
        const std::string target(parser.get().target());
        {
            std::lock_guard lock(mutex);
            targets.push_back(target);
        }
        if (status != 200) {
            const std::string answer = "HTTP/1.1 " + std::to_string(status) + " " +
                                       std::string(http::obsolete_reason(http::int_to_status(status))) +
                                       "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            co_await asio::async_write(client, asio::buffer(answer), use_tuple);
            co_return;
        }
        const auto colon = target.rfind(':');
        tcp::resolver resolver(ioc);
        auto [resolve_ec, results] =
            co_await resolver.async_resolve(target.substr(0, colon), target.substr(colon + 1), use_tuple);
        if (resolve_ec) co_return;
        tcp::socket upstream(ioc);
        auto [connect_ec, peer] = co_await asio::async_connect(upstream, results, use_tuple);
        if (connect_ec) co_return;
        const std::string established = "HTTP/1.1 200 Connection established\r\n\r\n";
        co_await asio::async_write(client, asio::buffer(established), use_tuple);
        using namespace asio::experimental::awaitable_operators;
        co_await (pump(client, upstream) || pump(upstream, client));
    }

    unsigned status;
    mutable std::mutex mutex;
    std::vector<std::string> targets;
    asio::io_context ioc{1};
    tcp::acceptor acceptor = listen_on_loopback(ioc);
    std::thread thread;
};

test_proxy::test_proxy(unsigned status) : impl_(std::make_unique<impl>(status)) {
    port_ = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

test_proxy::~test_proxy() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::vector<std::string> test_proxy::connect_targets() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->targets;
}

std::uint16_t unused_port() {
    asio::io_context ioc;
    tcp::acceptor acceptor = listen_on_loopback(ioc);
    return acceptor.local_endpoint().port();
}

}  // namespace s1pilot::net::test
