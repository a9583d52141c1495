#pragma once
// A CA of the test's own and two server certificates it signed, made with the openssl command
// line: for a server whose CA must be known before it starts (the TLS tests, a console that comes
// up after s1pilot), where s1sim's own CA, new at every start, will not do.

#include <optional>

#include "process.hpp"

namespace s1pilot::integration {

struct test_pki {
    fs::path ca;                     ///< the CA certificate (PEM), for `ca_file`
    fs::path good_cert, good_key;    ///< for 127.0.0.1 and localhost
    fs::path wrong_cert, wrong_key;  ///< for wrong.example only
};

/// Writes the files into `dir`; nullopt (and a test failure naming the openssl error) when a step failed.
std::optional<test_pki> make_pki(const fs::path& dir);

}  // namespace s1pilot::integration
