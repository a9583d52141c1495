#include "https_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <cctype>
#include <optional>

namespace s1sim::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

boost::json::value client_response::json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value{} : v;
}

std::string client_response::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
}

struct https_client::impl {
    asio::io_context io;
    ssl::context tls{ssl::context::tls_client};
    std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
    beast::flat_buffer buffer;
    std::uint16_t port;
    std::string token, host_name;
    int opened = 0;

    asio::awaitable<void> exchange(http::request<http::string_body> request, client_response& out) {
        if (!stream) {
            stream.emplace(io, tls);
            stream->set_verify_mode(ssl::verify_peer);
            stream->set_verify_callback(ssl::host_name_verification(host_name));
            tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
            auto [connect_error] = co_await beast::get_lowest_layer(*stream).async_connect(endpoint, use_tuple);
            if (connect_error) {
                out.error = "connect: " + connect_error.message();
                stream.reset();
                co_return;
            }
            ++opened;
            auto [handshake_error] = co_await stream->async_handshake(ssl::stream_base::client, use_tuple);
            if (handshake_error) {
                out.error = "handshake: " + handshake_error.message();
                stream.reset();
                co_return;
            }
            buffer.clear();
        }
        auto [write_error, written] = co_await http::async_write(*stream, request, use_tuple);
        http::response_parser<http::string_body> parser;
        parser.body_limit(1ULL << 32);
        parser.header_limit(1U << 20);  // the huge_header fault sends more than Beast's default 8 KiB
        beast::error_code read_error = write_error;
        if (!write_error)
            std::tie(read_error, std::ignore) = co_await http::async_read(*stream, buffer, parser, use_tuple);
        if (read_error) {
            out.error = read_error.message();
            out.reset = read_error == asio::error::connection_reset;
            out.closed = !out.reset;
            stream.reset();
            co_return;
        }
        auto& response = parser.get();
        out.status = static_cast<int>(response.result_int());
        out.tls_version = SSL_get_version(stream->native_handle());
        out.body = std::move(response.body());
        for (const auto& field : response) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            out.headers[name] = std::string(field.value());
        }
        if (!response.keep_alive()) stream.reset();
    }
};

https_client::https_client(std::uint16_t port, std::string ca_pem, std::string token, std::string host_name)
    : impl_(std::make_unique<impl>()) {
    impl_->port = port;
    impl_->token = std::move(token);
    impl_->host_name = std::move(host_name);
    impl_->tls.add_certificate_authority(asio::buffer(ca_pem));
}

https_client::~https_client() = default;

int https_client::connections_opened() const noexcept {
    return impl_->opened;
}

client_response https_client::request(const std::string& method, const std::string& target, const std::string& body,
                                      const std::string& authorization) {
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::accept, "application/json");
    if (authorization != "-")
        request.set(http::field::authorization, authorization.empty() ? "ApiToken " + impl_->token : authorization);
    if (!body.empty() || method == "POST" || method == "PUT") {
        request.set(http::field::content_type, "application/json");
        request.body() = body;
    }
    request.keep_alive(true);
    request.prepare_payload();
    client_response out;
    bool done = false;
    impl_->io.restart();
    asio::co_spawn(impl_->io, impl_->exchange(std::move(request), out), [&](std::exception_ptr e) {
        done = true;
        if (e) out.error = "exception";
    });
    impl_->io.run_for(timeout);
    if (!done) {
        // The deadline passed: drop the connection, let the coroutine see the cancellation.
        out.error = "timeout";
        if (impl_->stream) beast::get_lowest_layer(*impl_->stream).close();
        impl_->io.run_for(std::chrono::seconds(5));
        impl_->stream.reset();
    }
    return out;
}

std::string url_encode(const std::string& value) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace s1sim::test
