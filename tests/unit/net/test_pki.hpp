#pragma once
// Certificates made at test start with OpenSSL: no key material is checked in, and each test
// gets exactly the defect it needs (wrong name, expired, unknown issuer).

#include <filesystem>
#include <string>
#include <vector>

namespace s1pilot::net::test {

struct certificate_spec {
    std::string common_name = "localhost";
    std::vector<std::string> dns_names{"localhost"};
    std::vector<std::string> ip_addresses{"127.0.0.1"};
    bool expired = false;
};

/// A self-signed certificate (it is its own trust anchor) and its private key, as PEM.
struct test_certificate {
    std::string certificate_pem;
    std::string private_key_pem;
};

test_certificate make_certificate(const certificate_spec& spec = {});

/// A fresh directory under the system temp directory, removed on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }
    /// Writes `content` to `name` inside the directory and returns the full path.
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path path_;
};

}  // namespace s1pilot::net::test
