#pragma once
// The simulator's HTTPS server: Beast on Asio coroutines, HTTP/1.1 keep-alive, one thread. This
// header has no Asio in it, so tests and main can start a simulator without paying for Asio.
//
//     s1sim::simulator sim(options);
//     s1sim::server server(sim, {.port = 0});
//     server.start();                      // listening; server.port() is the bound port
//     ... talk HTTPS to 127.0.0.1:server.port(), trusting server.ca_pem() ...
//     server.stop();                       // cancels every connection, joins the thread

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "simulator.hpp"

namespace s1sim {

/// The TLS versions the server accepts. Anything but the default is for testing clients: a
/// client that requires TLS 1.2 or later must refuse a server that offers only TLS 1.1.
enum class tls_versions : std::uint8_t { tls_1_2_and_1_3, only_1_1, only_1_2, only_1_3 };

/// `1.1`, `1.2`, `1.3` (only that version) or `1.2+` (the default); nullopt for anything else.
std::optional<tls_versions> parse_tls_versions(std::string_view text);

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;           ///< 0: the system picks one
    std::string cert_file, key_file;  ///< both empty: a generated CA and certificate (certificate.hpp)
    std::string write_ca;             ///< where to write the generated CA's PEM (optional)
    tls_versions tls = tls_versions::tls_1_2_and_1_3;
    std::chrono::milliseconds handshake_timeout{10000};
    std::chrono::milliseconds idle_timeout{60000};  ///< a keep-alive connection idle this long is closed
    std::chrono::milliseconds write_timeout{30000};
    bool handle_signals = false;  ///< run(): SIGTERM/SIGINT shut the server down
};

class server {
public:
    /// Prepares TLS (generating or loading the certificate, writing --write-ca) and binds the
    /// listening socket. Throws std::runtime_error with a readable reason.
    server(simulator& sim, server_options options);
    ~server();  ///< stops (see stop)
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    std::uint16_t port() const noexcept;
    const std::string& ca_pem() const noexcept;

    /// Serves on a background thread until stop().
    void start();
    /// Serves on the calling thread until stop() or, with handle_signals, SIGTERM/SIGINT.
    void run();
    /// Stops accepting, cancels every connection and waits for them to end. Thread-safe;
    /// idempotent. Connections in the middle of a request are closed, not answered.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace s1sim
