// The only simulator source that includes Asio and Beast: accept, TLS, read a request, hand it to
// the simulator, carry out what it says (answer, trickle, pad, reset, drop), repeat on keep-alive.

#include "server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <iostream>
#include <set>
#include <thread>
#include <tuple>

#include "certificate.hpp"

namespace s1sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct connection {
    connection(tcp::socket socket, ssl::context& tls) : stream(std::move(socket), tls), timer(stream.get_executor()) {}

    tcp::socket& socket() { return beast::get_lowest_layer(stream).socket(); }
    // Cancels whatever the session awaits; the session then ends.
    void close() {
        beast::error_code ignored;
        timer.cancel();
        socket().close(ignored);
    }
    // A TCP reset: the client sees ECONNRESET, as when a load balancer kills a connection.
    void reset() {
        beast::error_code ignored;
        socket().set_option(asio::socket_base::linger(true, 0), ignored);
        close();
    }

    beast::ssl_stream<beast::tcp_stream> stream;
    asio::steady_timer timer;
};

http_request to_plain(const http::request<http::string_body>& request, const std::string& tls_version,
                      std::int64_t received_ns = 0) {
    http_request out;
    out.received_ns = received_ns;
    out.tls_version = tls_version;
    out.method = std::string(request.method_string());
    std::string_view target = request.target();
    auto question = target.find('?');
    out.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) out.query = std::string(target.substr(question + 1));
    out.body = request.body();
    out.authorization = std::string(request[http::field::authorization]);
    return out;
}

template <typename Body>
void set_headers(http::response<Body>& message, const http_response& r, bool keep_alive) {
    message.set(http::field::server, "s1sim");
    message.set(http::field::content_type, r.content_type);
    message.set("X-RQID", r.rqid);
    for (const auto& [name, value] : r.headers) message.set(name, value);
    message.keep_alive(keep_alive);
}

// The protocol range of `versions` as OpenSSL numbers.
std::pair<int, int> protocol_range(tls_versions versions) {
    switch (versions) {
        case tls_versions::only_1_1: return {TLS1_1_VERSION, TLS1_1_VERSION};
        case tls_versions::only_1_2: return {TLS1_2_VERSION, TLS1_2_VERSION};
        case tls_versions::only_1_3: return {TLS1_3_VERSION, TLS1_3_VERSION};
        case tls_versions::tls_1_2_and_1_3: break;
    }
    return {TLS1_2_VERSION, TLS1_3_VERSION};
}

// Spaces to pad a body with (JSON whitespace, so the padded answer is still the same document).
constexpr std::size_t padding_piece = 64 * 1024;
const std::string& padding() {
    static const std::string spaces(padding_piece, ' ');
    return spaces;
}

}  // namespace

std::optional<tls_versions> parse_tls_versions(std::string_view text) {
    if (text == "1.2+") return tls_versions::tls_1_2_and_1_3;
    if (text == "1.1") return tls_versions::only_1_1;
    if (text == "1.2") return tls_versions::only_1_2;
    if (text == "1.3") return tls_versions::only_1_3;
    return std::nullopt;
}

struct server::impl {
    impl(simulator& s, server_options o)
        : sim(s), options(std::move(o)), tls(ssl::context::tls_server), acceptor(io), signals(io) {}

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> session(std::shared_ptr<connection> c);
    asio::awaitable<bool> answer(connection& c, http_response r, unsigned version, bool keep_alive);
    asio::awaitable<void> drain(connection& c);
    void shutdown();

    simulator& sim;
    server_options options;
    tls_identity identity;
    asio::io_context io{1};
    ssl::context tls;
    tcp::acceptor acceptor;
    asio::signal_set signals;
    std::set<std::shared_ptr<connection>> connections;  // owned by the io thread
    std::thread thread;
    bool stopping = false;
    std::uint16_t port = 0;
};

server::server(simulator& sim, server_options options) : impl_(std::make_unique<impl>(sim, std::move(options))) {
    auto& i = *impl_;
    i.identity =
        i.options.cert_file.empty() ? generate_identity() : load_identity(i.options.cert_file, i.options.key_file);
    if (!i.options.write_ca.empty() && !i.identity.ca_pem.empty()) write_file(i.options.write_ca, i.identity.ca_pem);
    const auto [min_version, max_version] = protocol_range(i.options.tls);
    i.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1);
    SSL_CTX_set_min_proto_version(i.tls.native_handle(), min_version);
    SSL_CTX_set_max_proto_version(i.tls.native_handle(), max_version);
    // OpenSSL's default security level refuses TLS 1.1 outright (its signatures use SHA-1); a
    // server that is to offer it must lower the level, or no client could ever connect.
    if (min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(i.tls.native_handle(), 0);
    try {
        i.tls.use_certificate_chain(asio::buffer(i.identity.certificate_chain_pem));
        i.tls.use_private_key(asio::buffer(i.identity.private_key_pem), ssl::context::pem);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("s1sim: the TLS certificate or key is not usable: ") + e.what());
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(i.options.host, ec);
    if (ec) throw std::runtime_error("s1sim: --listen: '" + i.options.host + "' is not an IP address");
    tcp::endpoint endpoint(address, i.options.port);
    i.acceptor.open(endpoint.protocol(), ec);
    if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) i.acceptor.bind(endpoint, ec);
    if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("s1sim: cannot listen on " + i.options.host + ":" + std::to_string(i.options.port) +
                                 ": " + ec.message());
    i.port = i.acceptor.local_endpoint().port();
}

server::~server() {
    stop();
}

std::uint16_t server::port() const noexcept {
    return impl_->port;
}
const std::string& server::ca_pem() const noexcept {
    return impl_->identity.ca_pem;
}

void server::run() {
    auto& i = *impl_;
    if (i.options.handle_signals) {
        i.signals.add(SIGINT);
        i.signals.add(SIGTERM);
        i.signals.async_wait([&i](const beast::error_code& ec, int) {
            if (!ec) i.shutdown();
        });
    }
    // The accept loop owns every session; its end (after shutdown) is collected here.
    asio::co_spawn(i.io, i.accept_loop(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    i.io.run();
}

void server::start() {
    impl_->thread = std::thread([this] { run(); });
}

void server::stop() {
    auto& i = *impl_;
    asio::post(i.io, [&i] { i.shutdown(); });
    if (i.thread.joinable() && i.thread.get_id() != std::this_thread::get_id()) i.thread.join();
}

void server::impl::shutdown() {
    if (stopping) return;
    stopping = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    for (const auto& c : connections) c->close();
}

asio::awaitable<void> server::impl::accept_loop() {
    while (!stopping) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec) {
            if (stopping || ec == asio::error::operation_aborted) break;
            continue;  // e.g. too many open files: keep serving the connections we have
        }
        socket.set_option(tcp::no_delay(true), ec);
        auto c = std::make_shared<connection>(std::move(socket), tls);
        connections.insert(c);
        asio::co_spawn(io, session(c), [this, c](std::exception_ptr) { connections.erase(c); });
    }
}

asio::awaitable<void> server::impl::session(std::shared_ptr<connection> c) {
    auto& tcp_layer = beast::get_lowest_layer(c->stream);
    tcp_layer.expires_after(options.handshake_timeout);
    auto [handshake_error] = co_await c->stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (handshake_error) {
        if (!stopping) sim.handshake_failed();
        co_return;
    }
    const std::string tls_version = SSL_get_version(c->stream.native_handle());
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(sim.options().max_body);
        parser.header_limit(16 * 1024);
        tcp_layer.expires_after(options.idle_timeout);
        // Header and body apart, to journal when the headers were in: a benchmark times a client
        // up to the moment s1sim received its request, on the same monotonic clock.
        auto [ec, bytes] = co_await http::async_read_header(c->stream, buffer, parser, use_tuple);
        const auto received = std::chrono::steady_clock::now().time_since_epoch();
        if (!ec && !parser.is_done()) {
            auto [body_error, body_bytes] = co_await http::async_read(c->stream, buffer, parser, use_tuple);
            ec = body_error;
            bytes += body_bytes;
        }
        const auto received_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(received).count();
        if (ec == http::error::body_limit || ec == http::error::header_limit) {
            auto plain = to_plain(parser.get(), tls_version, received_ns);
            auto status = ec == http::error::body_limit ? 413U : 431U;
            auto response = sim.reject(plain, status == 431 ? 400 : 413,
                                       status == 431 ? "request header too large" : "request body too large");
            co_await answer(*c, std::move(response), parser.get().version(), false);
            co_await drain(*c);
            break;
        }
        if (ec) {
            if (parser.is_header_done() || bytes > 0) {
                auto response =
                    sim.reject(to_plain(parser.get(), tls_version), 400, "malformed HTTP request: " + ec.message());
                co_await answer(*c, std::move(response), 11, false);
            }
            break;
        }
        const auto& request = parser.get();
        http_response response = sim.handle(to_plain(request, tls_version, received_ns));
        if (response.action == disposition::reset) {
            c->reset();
            co_return;
        }
        if (response.action == disposition::drop_after_apply) {
            c->close();  // no TLS close_notify either: the connection just ends
            co_return;
        }
        if (!co_await answer(*c, std::move(response), request.version(), request.keep_alive())) co_return;
        if (!request.keep_alive() || stopping) break;
    }
    tcp_layer.expires_after(std::chrono::seconds(2));
    co_await c->stream.async_shutdown(use_tuple);
}

// Reads and discards what the client still sends after a refused request (bounded in bytes and
// time): closing a socket with unread data sends a reset, which can destroy the 413 before the
// client reads it.
asio::awaitable<void> server::impl::drain(connection& c) {
    std::array<char, 16384> scratch;
    std::size_t total = 0;
    beast::get_lowest_layer(c.stream).expires_after(std::chrono::seconds(2));
    while (total < 4 * sim.options().max_body + (1 << 20)) {
        auto [ec, n] = co_await c.stream.async_read_some(asio::buffer(scratch), use_tuple);
        if (ec) break;
        total += n;
    }
}

// Writes the response (after the latency fault; trickled under the slow-body fault, padded and
// chunked under the huge-body fault). False when the connection is gone.
asio::awaitable<bool> server::impl::answer(connection& c, http_response r, unsigned version, bool keep_alive) {
    auto& tcp_layer = beast::get_lowest_layer(c.stream);
    if (r.delay.count() > 0) {
        c.timer.expires_after(r.delay);
        auto [ec] = co_await c.timer.async_wait(use_tuple);
        if (ec || stopping) co_return false;
    }
    tcp_layer.expires_after(options.write_timeout);
    const bool padded = r.pad_body_to > r.body.size();
    if (r.slow_body_pause.count() == 0 && !padded) {
        http::response<http::string_body> message{static_cast<http::status>(r.status), version};
        set_headers(message, r, keep_alive);
        message.body() = std::move(r.body);
        message.prepare_payload();
        auto [ec, n] = co_await http::async_write(c.stream, message, use_tuple);
        co_return !ec;
    }
    http::response<http::empty_body> head{static_cast<http::status>(r.status), version};
    set_headers(head, r, keep_alive);
    // A padded body goes chunked: the client learns how big it is only by reading it.
    if (padded)
        head.chunked(true);
    else
        head.content_length(r.body.size());
    http::response_serializer<http::empty_body> serializer{head};
    auto [header_error, header_bytes] = co_await http::async_write_header(c.stream, serializer, use_tuple);
    if (header_error) co_return false;
    const bool slow = r.slow_body_pause.count() > 0;
    const std::size_t piece_size = slow ? std::max<std::size_t>(1, r.slow_body_chunk) : padding_piece;
    const std::size_t total = std::max(r.pad_body_to, r.body.size());
    for (std::size_t pos = 0; pos < total;) {
        // The pause comes first: `slow_body=1h` sends the headers and then no byte of the body.
        if (slow) {
            c.timer.expires_after(r.slow_body_pause);
            auto [wait_error] = co_await c.timer.async_wait(use_tuple);
            if (wait_error || stopping) co_return false;
        }
        // The body's bytes, then the padding's; a piece never straddles the two.
        const bool in_body = pos < r.body.size();
        const std::size_t n = std::min(piece_size, (in_body ? r.body.size() : total) - pos);
        const auto piece = asio::buffer(in_body ? r.body.data() + pos : padding().data(), n);
        tcp_layer.expires_after(options.write_timeout);
        beast::error_code ec;
        if (padded) {
            const auto chunk = http::make_chunk(piece);
            std::tie(ec, std::ignore) = co_await asio::async_write(c.stream, chunk, use_tuple);
        } else {
            std::tie(ec, std::ignore) = co_await asio::async_write(c.stream, piece, use_tuple);
        }
        if (ec) co_return false;
        pos += n;
    }
    if (padded) {
        const auto last = http::make_chunk_last();
        auto [ec, written] = co_await asio::async_write(c.stream, last, use_tuple);
        if (ec) co_return false;
    }
    co_return true;
}

}  // namespace s1sim
