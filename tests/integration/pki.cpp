#include "pki.hpp"

#include <gtest/gtest.h>

namespace s1pilot::integration {
namespace {

bool openssl(const fs::path& dir, std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    auto r = run_to_end({.argv = args, .stdout_file = dir / "openssl.out", .stderr_file = dir / "openssl.err"}, 60s);
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.code == 0;
}

const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};

// A server certificate for `san`, signed by the CA, valid for `days` from now. A negative count
// makes one that expired that many days ago (notAfter before now; openssl 3.0 has no
// -not_before/-not_after, and the verifier checks notAfter on its own).
bool issue(const fs::path& dir, const fs::path& ca, const server_certificate& out, const std::string& name,
           const std::string& san, int days, int serial) {
    const auto csr = dir / (name + ".csr"), ext = dir / (name + ".ext");
    write_text(ext,
               "subjectAltName=" + san +
                   "\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
    auto csr_args = std::vector<std::string>{"req", "-new"};
    csr_args.insert(csr_args.end(), ec_key.begin(), ec_key.end());
    csr_args.insert(csr_args.end(), {"-keyout", out.key.string(), "-out", csr.string(), "-subj", "/CN=" + name});
    return openssl(dir, csr_args) &&
           openssl(dir, {"x509", "-req", "-in", csr.string(), "-CA", ca.string(), "-CAkey", (dir / "ca.key").string(),
                         "-set_serial", std::to_string(serial), "-days", std::to_string(days), "-extfile", ext.string(),
                         "-out", out.cert.string()});
}

}  // namespace

std::optional<test_pki> make_pki(const fs::path& dir) {
    const auto pair = [&](const std::string& name) {
        return server_certificate{dir / (name + ".pem"), dir / (name + ".key")};
    };
    test_pki pki{dir / "ca.pem", pair("good"), pair("wrong"), pair("expired"), pair("name-only")};
    auto ca_args = std::vector<std::string>{"req", "-x509"};
    ca_args.insert(ca_args.end(), ec_key.begin(), ec_key.end());
    ca_args.insert(ca_args.end(), {"-keyout", (dir / "ca.key").string(), "-out", pki.ca.string(), "-days", "3", "-subj",
                                   "/CN=s1pilot integration test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    if (!openssl(dir, ca_args)) return std::nullopt;
    const bool issued = issue(dir, pki.ca, pki.good, "good", "IP:127.0.0.1,DNS:localhost", 3, 2) &&
                        issue(dir, pki.ca, pki.wrong, "wrong", "DNS:wrong.example", 3, 3) &&
                        issue(dir, pki.ca, pki.expired, "expired", "IP:127.0.0.1,DNS:localhost", -1, 4) &&
                        issue(dir, pki.ca, pki.name_only, "name-only", "DNS:localhost", 3, 5);
    if (!issued) return std::nullopt;
    return pki;
}

}  // namespace s1pilot::integration
