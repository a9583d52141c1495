#include "s1pilot/ops/admin_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace s1pilot::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> fetch(tcp::endpoint at, std::string host, std::string target, std::chrono::milliseconds timeout,
                            admin_reply& out) {
    constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(timeout);  // one deadline for connect, write and read together
    auto [connect_error] = co_await stream.async_connect(at, nothrow);
    if (connect_error) {
        out.error = "cannot connect to the admin listener at " + host + ": " + connect_error.message();
        co_return;
    }
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "s1pilot");
    req.keep_alive(false);
    auto [write_error, written] = co_await http::async_write(stream, req, nothrow);
    if (write_error) {
        out.error = "sending to the admin listener at " + host + ": " + write_error.message();
        co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, nothrow);
    if (read_error) {
        out.error = "reading the admin listener's answer at " + host + ": " + read_error.message();
        co_return;
    }
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
}

}  // namespace

admin_reply admin_get(const std::string& host, std::uint16_t port, const std::string& target,
                      std::chrono::milliseconds timeout) {
    admin_reply out;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) {
        out.error = "admin.listen: '" + host + "' is not an IP address";
        return out;
    }
    const std::string where = (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
    asio::io_context ioc{1};
    asio::co_spawn(ioc, fetch(tcp::endpoint(address, port), where, target, timeout, out), asio::detached);
    ioc.run();
    return out;
}

}  // namespace s1pilot::ops
