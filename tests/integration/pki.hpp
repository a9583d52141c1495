#pragma once
// A CA of the test's own and server certificates it signed, made with the openssl command line
// for black-box TLS tests (RELIABILITY #15, #16): s1sim serves one with --cert/--key, s1pilot
// trusts the CA through `ca_file`. Each certificate has exactly one defect, or none.

#include <optional>

#include "process.hpp"

namespace s1pilot::integration {

struct server_certificate {
    fs::path cert, key;
};

struct test_pki {
    fs::path ca;
    server_certificate good;       ///< 127.0.0.1 and localhost, valid for 3 days
    server_certificate wrong;      ///< wrong.example only
    server_certificate expired;    ///< 127.0.0.1 and localhost, expired a day ago
    server_certificate name_only;  ///< localhost only: no IP address, so only the name verifies
};

/// Makes the CA and the certificates in `dir`; nullopt (after a test failure naming the openssl
/// command) when openssl fails.
std::optional<test_pki> make_pki(const fs::path& dir);

}  // namespace s1pilot::integration
