#include "certificate.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace s1sim {
namespace {

template <auto free_fn>
struct deleter {
    template <typename T>
    void operator()(T* p) const noexcept {
        free_fn(p);
    }
};
using key_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using cert_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free>>;

[[noreturn]] void fail(const char* what) {
    char reason[256] = "unknown reason";
    if (unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, reason, sizeof reason);
    throw std::runtime_error(std::string("s1sim: cannot ") + what + ": " + reason);
}

key_ptr make_key() {
    key_ptr key(EVP_EC_gen("P-256"));
    if (!key) fail("generate an EC key");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) fail("add a certificate extension");
    X509_EXTENSION_free(ext);
}

cert_ptr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
    cert_ptr cert(X509_new());
    if (!cert) fail("allocate a certificate");
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;  // a positive serial number
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate a little clock skew
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("s1sim"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
    if (ca) {
        add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_extension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
    } else {
        add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature");
        add_extension(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth");
        add_extension(cert.get(), issuer_cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
        add_extension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) fail("sign a certificate");
    return cert;
}

std::string to_pem(X509* cert) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("encode a certificate");
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string to_pem(EVP_PKEY* key) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("encode a private key");
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("s1sim: cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

tls_identity generate_identity() {
    key_ptr ca_key = make_key();
    cert_ptr ca = make_certificate(ca_key.get(), "s1sim test CA", nullptr, ca_key.get(), true);
    key_ptr server_key = make_key();
    cert_ptr server = make_certificate(server_key.get(), "localhost", ca.get(), ca_key.get(), false);
    tls_identity id;
    id.ca_pem = to_pem(ca.get());
    id.certificate_chain_pem = to_pem(server.get()) + id.ca_pem;
    id.private_key_pem = to_pem(server_key.get());
    return id;
}

tls_identity load_identity(const std::string& cert_file, const std::string& key_file) {
    return {read_file(cert_file), read_file(key_file), {}};
}

void write_file(const std::string& path, const std::string& pem) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << pem;
    out.flush();
    if (!out) throw std::runtime_error("s1sim: cannot write " + path);
}

}  // namespace s1sim
