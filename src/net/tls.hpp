#pragma once
// TLS policy of the client, kept apart from the connection code: the context (TLS 1.2+, trust
// anchors), SNI, peer verification, and telling a certificate failure from other handshake
// failures.

#include "s1pilot/net/endpoint.hpp"
#include "s1pilot/net/http.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

namespace s1pilot::net::detail {

/// A client context: TLS 1.2 minimum (1.3 allowed), peer verification, and either the CA file's
/// anchors or the system trust store. A CA file that cannot be loaded is a local_error.
result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const std::string& ca_file);

/// Prepares one SSL object for a handshake with `origin`: SNI for names (not for IP literals,
/// RFC 6066), and the expected host name or IP address.
result<void> prepare_handshake(SSL* ssl, const endpoint& origin);

/// The verify callback: the chain as OpenSSL judged it, then the host name (or IP address)
/// against the leaf's subjectAltName. A mismatch is recorded as OpenSSL's own host/IP mismatch
/// error so that the failure message says what was wrong.
class peer_verifier {
public:
    explicit peer_verifier(const endpoint& origin) : host_(origin.host), host_is_ip_(origin.host_is_ip) {}
    bool operator()(bool preverified, boost::asio::ssl::verify_context& context) const;

private:
    std::string host_;
    bool host_is_ip_;
};

/// Classifies a failed handshake: `certificate` (with OpenSSL's verify message) when the peer
/// did not verify, `not_sent` otherwise (timeout, protocol mismatch, reset).
failure describe_handshake_failure(SSL* ssl, const boost::system::error_code& ec, const std::string& where,
                                   bool timed_out);

}  // namespace s1pilot::net::detail
