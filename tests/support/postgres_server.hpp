#pragma once
// A PostgreSQL server of the test binary's own (DESIGN §9): Debian's postgresql-15 `initdb` and
// `postgres` in a temporary directory, listening on a Unix socket in that directory only (no TCP
// port), `fsync=on`. It starts at the first test that asks for it and is stopped, and its
// directory removed, when the binary ends: by the GoogleTest environment's TearDown, or, if the
// binary dies first (a crash, a kill), by a small watchdog process that sees the binary's end of
// a pipe close.
//
// The server refuses to run as root, so a root test binary (CI) runs initdb and postgres as the
// `postgres` user that the Debian package creates (or `nobody`), owning the directory.
//
// A test may stop the server and start it again (a database that goes away during a run); the
// watchdog does both, so that it still owns the server it must stop at the end.
//
// Each test takes a fresh database, owned by a role `s1pilot` that logs in with a password
// (scram-sha-256), so the ledger's password path is the one exercised. The superuser `postgres`
// logs in without one (trust, on the socket only) for the tests' own set-up.

#include <memory>
#include <string>

namespace s1pilot::test {

class postgres_server {
public:
    /// The server, started at the first call; nullptr when it cannot run, with `reason` saying why
    /// (the PostgreSQL tests then skip with it).
    static postgres_server* get(std::string& reason);
    /// Stops the server and removes its directory; called by the environment at the end.
    static void stop();

    /// A new empty database owned by the `s1pilot` role: its name.
    std::string create_database();
    /// The libpq URI of `database` for the `s1pilot` role, without the password.
    std::string uri(const std::string& database) const;
    /// The same for the superuser (no password needed).
    std::string admin_uri(const std::string& database) const;
    /// The `s1pilot` role's password.
    static const std::string& password();
    /// Runs SQL as the superuser in `database`; returns the server's message, empty on success.
    std::string exec(const std::string& database, const std::string& sql) const;

    /// Stops the server at once (immediate shutdown, as a crash: every session ends), keeping its
    /// data, and waits (bounded) until it no longer answers. False when it still answers.
    bool stop_server();
    /// Starts it again on the same data and waits (at most 30 s) until it answers.
    bool start_server();

    struct impl;
    explicit postgres_server(std::unique_ptr<impl> state);
    ~postgres_server();

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace s1pilot::test
