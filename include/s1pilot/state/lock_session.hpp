#pragma once
// What leadership among instances that share one ledger needs from it (DESIGN §9): a lock that
// lives exactly as long as the ledger's own session, a bounded check that the session still
// answers, and a new session when it is lost. The PostgreSQL ledger provides it; SQLite needs
// none (one process per file, by its file lock).
//
// The lock and the ledger's writes share one session: a write that commits proves the lock was
// held when it did. So the session is never replaced behind its caller's back: after a loss every
// call fails until the caller asks for reconnect(), and the new session holds no lock.
//
// Thread model: as the ledger's (one thread at a time; the engine's worker).

#include "s1pilot/state/error.hpp"

#include <chrono>
#include <cstdint>

namespace s1pilot::state {

class lock_session {
public:
    virtual ~lock_session() = default;

    /// Takes the lock `key` on the ledger's session without waiting: true when the session holds
    /// it (also when it already did), false when another session does. An error means the session
    /// is lost or unusable.
    [[nodiscard]] virtual result<bool> try_lock(std::int64_t key) = 0;
    /// Whether the session answers a trivial query within `timeout`. A failure or a timeout
    /// closes the session (the server then drops its locks) and it stays lost until reconnect().
    [[nodiscard]] virtual result<void> check_session(std::chrono::milliseconds timeout) = 0;
    /// Closes the session, if still open, and opens a new one, which holds no lock. On failure the
    /// ledger stays without a session (every call fails) and the caller tries again later.
    [[nodiscard]] virtual result<void> reconnect() = 0;
    /// Whether a session is open and not known lost (no round trip).
    [[nodiscard]] virtual bool connected() const noexcept = 0;
};

}  // namespace s1pilot::state
