#pragma once
// Expected failures of the ledger. An error_code alone cannot say which database or what SQLite
// reported, and the daemon must tell an operator exactly that, so each failure carries both a code
// to branch on and a complete message for a person.

#include "s1pilot/core/failure.hpp"

#include <boost/system/error_code.hpp>

#include <string>
#include <type_traits>

namespace s1pilot::state {

enum class errc {
    ok = 0,
    open_failed,       ///< the database file could not be opened or created
    not_a_database,    ///< the file exists but is not an SQLite database (or is corrupt)
    not_a_ledger,      ///< a valid SQLite database that belongs to something else
    newer_schema,      ///< written by a newer s1pilot; this one refuses to touch it
    older_schema,      ///< needs a migration, but was opened read-only
    in_use,            ///< another process holds the ledger for writing
    database_error,    ///< SQLite reported an error during an operation
    integrity_failed,  ///< `PRAGMA integrity_check` found problems
};

const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

using core::error;
template <class T>
using result = core::result<T>;

}  // namespace s1pilot::state

template <>
struct boost::system::is_error_code_enum<s1pilot::state::errc> : std::true_type {};
