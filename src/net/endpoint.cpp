// Origin and proxy URLs: strict, because a surprising part of a URL (a path that would be
// ignored, credentials that would leak into messages) is a configuration mistake.

#include "s1pilot/net/endpoint.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <stdexcept>

namespace s1pilot::net {
namespace {

failure bad_url(std::string_view what, std::string_view url, std::string_view why) {
    // A URL with an '@' may carry credentials: it is not repeated in the message.
    const std::string shown = url.find('@') == std::string_view::npos ? " '" + std::string(url) + "'" : "";
    return {failure_kind::local_error, std::string(what) + " URL" + shown + ": " + std::string(why)};
}

result<endpoint> parse(std::string_view what, std::string_view url, std::string_view scheme,
                       std::uint16_t default_port) {
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) return bad_url(what, url, "not an absolute URL");
    const boost::urls::url_view& u = *parsed;
    if (u.scheme() != scheme) return bad_url(what, url, "the scheme must be " + std::string(scheme));
    if (u.has_userinfo()) return bad_url(what, url, "user info is not allowed");
    if (u.has_query() || u.has_fragment()) return bad_url(what, url, "a query or fragment is not allowed");
    if (!u.encoded_path().empty() && u.encoded_path() != "/") return bad_url(what, url, "a path is not allowed");

    endpoint e;
    switch (u.host_type()) {
        case boost::urls::host_type::name: e.host = u.host(); break;
        case boost::urls::host_type::ipv4:
        case boost::urls::host_type::ipv6:
            e.host = u.host_address();
            e.host_is_ip = true;
            break;
        default: return bad_url(what, url, "unsupported host");
    }
    if (e.host.empty()) return bad_url(what, url, "no host");
    e.port = default_port;
    if (u.has_port()) {
        const auto text = u.port();
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
            return bad_url(what, url, "invalid port");
        }
        e.port = static_cast<std::uint16_t>(value);
    }
    return e;
}

}  // namespace

std::string endpoint::authority() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    std::string out = ipv6 ? "[" + host + "]" : host;
    out += ':';
    out += std::to_string(port);
    return out;
}

result<endpoint> parse_origin(std::string_view url) {
    return parse("origin", url, "https", 443);
}

result<endpoint> parse_proxy(std::string_view url) {
    return parse("proxy", url, "http", 80);
}

std::string_view to_string(http_method m) noexcept {
    return m == http_method::get ? "GET" : "POST";
}

std::string_view to_string(failure_kind k) noexcept {
    switch (k) {
        case failure_kind::not_sent: return "not_sent";
        case failure_kind::certificate: return "certificate";
        case failure_kind::lost_after_send: return "lost_after_send";
        case failure_kind::local_error: return "local_error";
    }
    return "unknown";
}

void throw_exception_from_error(const failure& f, const boost::source_location&) {
    throw std::runtime_error(f.message);
}

}  // namespace s1pilot::net
