#pragma once
// The simulator's TLS identity when no --cert/--key is given: a throwaway CA and a server
// certificate it signs for localhost, 127.0.0.1 and ::1. Clients trust the CA (written with
// --write-ca), so they verify the peer and the host name exactly as against a real console.
// Plain OpenSSL, no Asio: this file costs no Asio compile time.

#include <string>

namespace s1sim {

struct tls_identity {
    std::string certificate_chain_pem;  ///< server certificate, then the CA
    std::string private_key_pem;
    std::string ca_pem;  ///< empty when loaded from files
};

/// Generates a P-256 CA (valid 10 days) and a server certificate signed by it. Throws
/// std::runtime_error with OpenSSL's reason on failure.
tls_identity generate_identity();

/// Reads a PEM certificate chain and key. Throws std::runtime_error naming the unreadable file.
tls_identity load_identity(const std::string& cert_file, const std::string& key_file);

/// Writes `pem` to `path` (mode 0644: a CA certificate is public). Throws on failure.
void write_file(const std::string& path, const std::string& pem);

}  // namespace s1sim
