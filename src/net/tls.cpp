// TLS settings and certificate error reporting. OpenSSL's C API is used where Asio has no
// wrapper (minimum protocol version, SNI, verify results).

#include "tls.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace s1pilot::net::detail {

namespace ssl = boost::asio::ssl;

result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& ca_file) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
        return failure{failure_kind::local_error, "TLS: cannot set the minimum protocol version to TLS 1.2"};
    }
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    boost::system::error_code ec;
    if (ca_file.empty()) {
        context->set_default_verify_paths(ec);
        if (ec) return failure{failure_kind::local_error, "TLS: cannot load the system trust store: " + ec.message()};
    } else {
        context->load_verify_file(ca_file, ec);
        if (ec) {
            return failure{failure_kind::local_error, "TLS: cannot load CA file '" + ca_file + "': " + ec.message() +
                                                          " (expected PEM certificates)"};
        }
    }
    return context;
}

result<void> prepare_handshake(SSL* ssl, const endpoint& origin) {
    // RFC 6066 forbids IP literals in SNI; the certificate must then carry an IP SAN.
    if (!origin.host_is_ip && SSL_set_tlsext_host_name(ssl, origin.host.c_str()) != 1) {
        return failure{failure_kind::local_error, "TLS: cannot set SNI host name '" + origin.host + "'"};
    }
    return {};
}

bool peer_verifier::operator()(bool preverified, ssl::verify_context& context) const {
    X509_STORE_CTX* store = context.native_handle();
    // Only the leaf carries the name; the chain above it is OpenSSL's judgement alone.
    if (!preverified || X509_STORE_CTX_get_error_depth(store) != 0) return preverified;
    if (ssl::host_name_verification(host_)(preverified, context)) return true;
    X509_STORE_CTX_set_error(store, host_is_ip_ ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
    return false;
}

failure describe_handshake_failure(SSL* ssl, const boost::system::error_code& ec, const std::string& where,
                                   bool timed_out) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
        return {failure_kind::certificate, "TLS: the certificate of " + where +
                                               " did not verify: " + X509_verify_cert_error_string(verify) +
                                               " (OpenSSL verify error " + std::to_string(verify) + ")"};
    }
    if (timed_out) return {failure_kind::not_sent, "TLS handshake with " + where + " timed out"};
    return {failure_kind::not_sent, "TLS handshake with " + where + " failed: " + ec.message()};
}

}  // namespace s1pilot::net::detail
