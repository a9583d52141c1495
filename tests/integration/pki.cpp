#include "pki.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace s1pilot::integration {
namespace {

bool openssl(const fs::path& dir, std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    auto r = run_to_end({.argv = args, .stdout_file = dir / "openssl.out", .stderr_file = dir / "openssl.err"}, 60s);
    EXPECT_EQ(r.code, 0) << r.describe();
    return r.code == 0;
}

}  // namespace

std::optional<test_pki> make_pki(const fs::path& dir) {
    test_pki pki{dir / "ca.pem", dir / "good.pem", dir / "good.key", dir / "wrong.pem", dir / "wrong.key"};
    const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
    auto ca_args = std::vector<std::string>{"req", "-x509"};
    ca_args.insert(ca_args.end(), ec_key.begin(), ec_key.end());
    ca_args.insert(ca_args.end(), {"-keyout", (dir / "ca.key").string(), "-out", pki.ca.string(), "-days", "3", "-subj",
                                   "/CN=s1pilot integration test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    if (!openssl(dir, ca_args)) return std::nullopt;
    int serial = 1;
    for (auto [cert, key, name, san] : {std::tuple{pki.good_cert, pki.good_key, "good", "IP:127.0.0.1,DNS:localhost"},
                                        std::tuple{pki.wrong_cert, pki.wrong_key, "wrong", "DNS:wrong.example"}}) {
        const auto csr = dir / (std::string(name) + ".csr"), ext = dir / (std::string(name) + ".ext");
        write_text(
            ext, "subjectAltName=" + std::string(san) +
                     "\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
        auto csr_args = std::vector<std::string>{"req", "-new"};
        csr_args.insert(csr_args.end(), ec_key.begin(), ec_key.end());
        csr_args.insert(csr_args.end(),
                        {"-keyout", key.string(), "-out", csr.string(), "-subj", "/CN=" + std::string(name)});
        if (!openssl(dir, csr_args)) return std::nullopt;
        if (!openssl(dir, {"x509", "-req", "-in", csr.string(), "-CA", pki.ca.string(), "-CAkey",
                           (dir / "ca.key").string(), "-set_serial", std::to_string(++serial), "-days", "3", "-extfile",
                           ext.string(), "-out", cert.string()}))
            return std::nullopt;
    }
    return pki;
}

}  // namespace s1pilot::integration
