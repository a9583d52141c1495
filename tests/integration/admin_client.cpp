#include "admin_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <openssl/ssl.h>

namespace s1pilot::integration {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> exchange(beast::ssl_stream<beast::tcp_stream>& stream, std::uint16_t port,
                               const std::string& host_name, http::request<http::string_body> request,
                               http_reply& out) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    auto [connect_error] = co_await beast::get_lowest_layer(stream).async_connect(endpoint, use_tuple);
    if (connect_error) {
        out.error = "connect: " + connect_error.message();
        co_return;
    }
    // SNI only for a DNS name: RFC 6066 forbids an IP address there.
    boost::system::error_code parse_error;
    asio::ip::make_address(host_name, parse_error);
    if (parse_error) SSL_set_tlsext_host_name(stream.native_handle(), host_name.c_str());
    auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (handshake_error) {
        out.error = "handshake: " + handshake_error.message();
        co_return;
    }
    auto [write_error, written] = co_await http::async_write(stream, request, use_tuple);
    if (write_error) {
        out.error = "write: " + write_error.message();
        co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 31);  // the dump of a large dataset is big
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) {
        out.error = "read: " + read_error.message();
        co_return;
    }
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
}

}  // namespace

boost::json::value http_reply::json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value{} : v;
}

admin_client::admin_client(std::uint16_t port, std::string ca_pem, std::string token, std::string host_name,
                           bool accept_outdated)
    : port_(port),
      ca_pem_(std::move(ca_pem)),
      token_(std::move(token)),
      host_name_(std::move(host_name)),
      accept_outdated_(accept_outdated) {}

http_reply admin_client::request(const std::string& method, const std::string& target, const std::string& body) const {
    asio::io_context io;
    ssl::context tls{ssl::context::tls_client};
    http_reply out;
    boost::system::error_code ec;
    tls.add_certificate_authority(asio::buffer(ca_pem_), ec);
    if (ec) {
        out.error = "bad CA: " + ec.message();
        return out;
    }
    if (accept_outdated_) {
        X509_STORE_set_flags(SSL_CTX_get_cert_store(tls.native_handle()), X509_V_FLAG_NO_CHECK_TIME);
        SSL_CTX_set_security_level(tls.native_handle(), 0);  // TLS 1.1 signs with SHA-1
        SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_1_VERSION);
    }
    beast::ssl_stream<beast::tcp_stream> stream(io, tls);
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(host_name_));

    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_name_);
    req.set(http::field::authorization, "ApiToken " + token_);
    req.set(http::field::accept, "application/json");
    if (!body.empty() || method != "GET") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.keep_alive(false);
    req.prepare_payload();

    bool done = false;
    asio::co_spawn(io, exchange(stream, port_, host_name_, std::move(req), out), [&](std::exception_ptr e) {
        done = true;
        if (e) out.error = "exception in the exchange";
    });
    io.run_for(timeout);
    if (!done) {
        out = {};
        out.error = "timeout after " + std::to_string(timeout.count()) + " ms";
        beast::get_lowest_layer(stream).close();
        io.run_for(std::chrono::seconds(5));
    }
    return out;
}

}  // namespace s1pilot::integration
