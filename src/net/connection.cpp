// The Beast part of the client: connect, tunnel, handshake, write, read, each under its own
// deadline and never past the call's. Failures are classified by how far the request got,
// because that decides whether a write may be retried (DESIGN.md §5).
//
// The stream is a plain socket and each phase races one timer, armed once for the whole phase
// (`within`). beast::tcp_stream would arm its timer again for every read_some, one
// timerfd_settime per TLS record of a 6 MB page (docs/performance.md, "No spinning").

#include "connection.hpp"

#include "s1pilot/core/time.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <sys/socket.h>
#include <tuple>
#include <utility>
#include <variant>

#include "tls.hpp"

namespace s1pilot::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// What Beast asks the TLS stream for in one read_some. Beast reads at most 64 KiB at a time and
/// otherwise only what the buffer has room for (512 bytes when it is new); anything under a TLS
/// record (16 KiB) splits each record into many SSL reads, every one of which completes through
/// the event loop (a zero-byte read posted "as if" asynchronous) and costs an epoll_wait.
constexpr std::size_t read_chunk = 64 * 1024;

/// The time a phase may take: its own timeout, or what is left of the call if that is less.
struct phase_budget {
    steady_clock::duration time;
    bool call_binds;  ///< the call deadline, not the phase timeout, is the limit
};

phase_budget budget_for(std::chrono::milliseconds phase, steady_clock::time_point call_deadline) {
    const auto left = std::max(call_deadline - steady_clock::now(), steady_clock::duration::zero());
    if (left < phase) return {left, true};
    return {phase, false};
}

std::string timeout_text(const phase_budget& b, std::chrono::milliseconds phase) {
    if (b.call_binds) return "the call deadline passed";
    return "timed out after " + core::format_duration(phase);
}

/// Runs one phase's operation against one timer armed once for the whole phase: the result of
/// the operation, or nullopt when the budget ran out first. The operation is then cancelled and
/// the stream is left in no state to be used again: the caller drops the connection.
template <class Result>
asio::awaitable<std::optional<Result>> within(const phase_budget& budget, asio::awaitable<Result> operation) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, budget.time);
    auto outcome = co_await (std::move(operation) || timer.async_wait(use_tuple));
    if (outcome.index() == 1) co_return std::nullopt;
    co_return std::get<0>(std::move(outcome));
}

std::string transport_name(const origin_settings& s) {
    if (s.proxy) return "proxy " + s.proxy->authority();
    return s.origin.authority();
}

asio::awaitable<result<tcp::resolver::results_type>> resolve(asio::any_io_executor executor, const endpoint& target,
                                                             const phase_budget& budget,
                                                             std::chrono::milliseconds phase) {
    tcp::resolver resolver(executor);
    auto outcome = co_await within(budget, resolver.async_resolve(target.host, std::to_string(target.port), use_tuple));
    if (!outcome) {
        co_return failure{failure_kind::not_sent, "resolving " + target.host + ": " + timeout_text(budget, phase)};
    }
    auto [ec, results] = std::move(*outcome);
    if (ec) co_return failure{failure_kind::not_sent, "resolving " + target.host + " failed: " + ec.message()};
    co_return results;
}

/// The CONNECT request and the head of its answer: one operation, so that one deadline covers
/// both. Says which step failed, if one did.
struct tunnel_answer {
    error_code ec;
    bool sent = false;  ///< the request was written; the failure is in reading the answer
};

asio::awaitable<tunnel_answer> ask_for_tunnel(tcp::socket& socket, const std::string& connect,
                                              beast::flat_buffer& buffer,
                                              http::response_parser<http::empty_body>& parser) {
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(connect), use_tuple);
    if (write_ec) co_return tunnel_answer{write_ec, false};
    auto [read_ec, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
    co_return tunnel_answer{read_ec, true};
}

/// Asks the proxy for a tunnel to the origin. Nothing reaches the origin before it says 200.
asio::awaitable<result<void>> open_tunnel(tcp::socket& socket, const origin_settings& s,
                                          steady_clock::time_point call_deadline) {
    const auto phase = s.config.timeouts.handshake;
    const auto budget = budget_for(phase, call_deadline);
    const std::string proxy = "proxy " + s.proxy->authority();
    const std::string origin = s.origin.authority();

    const std::string connect =
        "CONNECT " + origin + " HTTP/1.1\r\nHost: " + origin + "\r\nUser-Agent: " + s.config.user_agent + "\r\n\r\n";
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.skip(true);  // a CONNECT answer has no body; the tunnel follows the head
    parser.header_limit(static_cast<std::uint32_t>(s.config.max_header_size));
    auto answer = co_await within(budget, ask_for_tunnel(socket, connect, buffer, parser));
    if (!answer) {
        co_return failure{failure_kind::not_sent,
                          proxy + ": no answer to CONNECT " + origin + ": " + timeout_text(budget, phase)};
    }
    if (answer->ec && !answer->sent) {
        co_return failure{failure_kind::not_sent, proxy + ": sending CONNECT failed: " + answer->ec.message()};
    }
    if (answer->ec) {
        co_return failure{failure_kind::not_sent,
                          proxy + ": no answer to CONNECT " + origin + ": " + answer->ec.message()};
    }
    const auto& head = parser.get();
    if (head.result_int() != 200 || buffer.size() != 0) {
        const std::string reason(head.reason());
        std::string message = proxy + " refused CONNECT " + origin + ": HTTP " + std::to_string(head.result_int()) +
                              (reason.empty() ? "" : " " + reason);
        // Authentication will not fix itself on a retry; a gateway error may.
        if (head.result_int() == 407) {
            co_return failure{failure_kind::local_error, message + " (the proxy requires authentication)"};
        }
        co_return failure{failure_kind::not_sent, std::move(message)};
    }
    co_return result<void>{};
}

}  // namespace

struct connection::state {
    state(tcp::socket&& socket, asio::ssl::context& tls) : stream(std::move(socket), tls) {
        buffer.reserve(read_chunk);
    }
    beast::ssl_stream<tcp::socket> stream;
    beast::flat_buffer buffer;
    std::string tls_version;
    steady_clock::time_point idle_since;
    bool keep_alive = true;
};

connection::connection(std::unique_ptr<state> s) : state_(std::move(s)) {}
connection::~connection() = default;

asio::awaitable<result<std::unique_ptr<connection>>> connection::open(asio::any_io_executor executor,
                                                                      const origin_settings& s,
                                                                      steady_clock::time_point call_deadline) {
    const endpoint& target = s.proxy ? *s.proxy : s.origin;
    const std::string where = transport_name(s);
    const auto connect_phase = s.config.timeouts.connect;

    auto resolved = co_await resolve(executor, target, budget_for(connect_phase, call_deadline), connect_phase);
    if (!resolved) co_return resolved.error();

    tcp::socket socket(executor);
    const auto connect_budget = budget_for(connect_phase, call_deadline);
    auto connected = co_await within(connect_budget, asio::async_connect(socket, *resolved, use_tuple));
    if (!connected) {
        co_return failure{failure_kind::not_sent,
                          "connecting to " + where + ": " + timeout_text(connect_budget, connect_phase)};
    }
    if (auto& [connect_ec, peer] = *connected; connect_ec) {
        co_return failure{failure_kind::not_sent, "connecting to " + where + ": " + connect_ec.message()};
    }
    if (s.proxy) {
        auto tunnel = co_await open_tunnel(socket, s, call_deadline);
        if (!tunnel) co_return tunnel.error();
    }

    auto st = std::make_unique<state>(std::move(socket), *s.tls);
    if (auto prepared = prepare_handshake(st->stream.native_handle(), s.origin); !prepared) {
        co_return prepared.error();
    }
    st->stream.set_verify_callback(peer_verifier(s.origin));
    const auto handshake_phase = s.config.timeouts.handshake;
    const auto handshake_budget = budget_for(handshake_phase, call_deadline);
    auto handshake =
        co_await within(handshake_budget, st->stream.async_handshake(asio::ssl::stream_base::client, use_tuple));
    const auto handshake_ec = handshake ? std::get<0>(*handshake) : error_code(asio::error::timed_out);
    if (handshake_ec) {
        auto f = describe_handshake_failure(st->stream.native_handle(), handshake_ec, s.origin.authority(), !handshake);
        if (f.kind == failure_kind::not_sent && !handshake) {
            f.message =
                "TLS handshake with " + s.origin.authority() + ": " + timeout_text(handshake_budget, handshake_phase);
        }
        co_return f;
    }
    st->tls_version = SSL_get_version(st->stream.native_handle());
    co_return std::unique_ptr<connection>(new connection(std::move(st)));
}

asio::awaitable<exchange_result> connection::exchange(const request& req, const origin_settings& s,
                                                      steady_clock::time_point call_deadline) {
    state& st = *state_;
    const std::string where = s.origin.authority();
    const std::string what = std::string(to_string(req.method)) + " " + where;
    exchange_result out;

    http::request<http::string_body> message{req.method == http_method::get ? http::verb::get : http::verb::post,
                                             req.target, 11};
    message.set(http::field::host, s.origin.port == 443 ? s.origin.host : where);
    message.set(http::field::user_agent, s.config.user_agent);
    message.set(http::field::accept, "application/json");
    for (const auto& [name, value] : req.headers) message.set(name, value);
    if (!req.body.empty() || req.method == http_method::post) {
        message.set(http::field::content_type, "application/json");
        message.body() = req.body;
    }
    message.keep_alive(true);
    message.prepare_payload();

    // From here on the origin may see (part of) the request: failures are lost_after_send.
    st.keep_alive = false;
    const auto write_phase = s.config.timeouts.write;
    const auto write_budget = budget_for(write_phase, call_deadline);
    auto written = co_await within(write_budget, http::async_write(st.stream, message, use_tuple));
    if (!written || std::get<0>(*written)) {
        out.nothing_received = true;
        out.error = {failure_kind::lost_after_send,
                     what + ": writing the request failed: " +
                         (written ? std::get<0>(*written).message() : timeout_text(write_budget, write_phase))};
        out.error.request_sent = true;
        co_return out;
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(s.config.max_body_size);
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(s.config.max_header_size, UINT32_MAX)));
    const auto read_phase = s.config.timeouts.read;
    const auto read_budget = budget_for(read_phase, call_deadline);
    // The whole response in one async_read under one deadline: Beast loops over read_some
    // itself, and the size limits are the parser's.
    auto read = co_await within(read_budget, http::async_read(st.stream, st.buffer, parser, use_tuple));
    const auto read_ec = read ? std::get<0>(*read) : error_code(asio::error::timed_out);
    if (read_ec) {
        out.nothing_received = !parser.got_some() && st.buffer.size() == 0;
        if (read_ec == http::error::body_limit) {
            out.error = {failure_kind::local_error, what + ": the response body exceeds the limit of " +
                                                        std::to_string(s.config.max_body_size) + " bytes"};
        } else if (read_ec == http::error::header_limit) {
            out.error = {failure_kind::local_error, what + ": the response header exceeds the limit of " +
                                                        std::to_string(s.config.max_header_size) + " bytes"};
        } else if (!read) {
            out.error = {failure_kind::lost_after_send,
                         what + ": no complete response: " + timeout_text(read_budget, read_phase)};
        } else {
            out.error = {failure_kind::lost_after_send,
                         what + ": connection lost while reading the response: " + read_ec.message()};
        }
        out.error.request_sent = true;
        co_return out;
    }

    auto& head = parser.get();
    response answer;
    answer.status = head.result_int();
    if (auto it = head.find("X-RQID"); it != head.end()) answer.request_id = it->value();
    if (auto it = head.find(http::field::retry_after); it != head.end()) answer.retry_after = it->value();
    answer.tls_version = st.tls_version;
    st.keep_alive = head.keep_alive() && !parser.need_eof();
    answer.body = std::move(head.body());
    st.idle_since = steady_clock::now();
    out.answer = std::move(answer);
    co_return out;
}

bool connection::reusable(steady_clock::time_point now, steady_clock::duration idle_timeout) const {
    const state& st = *state_;
    if (!st.keep_alive || st.buffer.size() != 0 || now - st.idle_since >= idle_timeout) return false;
    // A peer that closed an idle connection (FIN, or a TLS close_notify) makes it readable;
    // peeking catches that before a request is written into a dead socket.
    auto& socket = const_cast<tcp::socket&>(beast::get_lowest_layer(st.stream));
    if (!socket.is_open()) return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace s1pilot::net::detail
