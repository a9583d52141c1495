#pragma once
// Expected failures of the ledger. An error_code alone cannot say which database or what SQLite
// reported, and the daemon must tell an operator exactly that, so each failure carries both a code
// to branch on and a complete message for a person.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

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

/// A failure with a code and a message naming the database and SQLite's own explanation.
struct error {
    boost::system::error_code code;
    std::string message;
};

/// The result of every ledger operation; `.value()` on an error throws `std::runtime_error`.
template <class T>
using result = boost::system::result<T, error>;

/// Called by `result::value()` on an error (found by argument-dependent lookup).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& location);

}  // namespace s1pilot::state

template <>
struct boost::system::is_error_code_enum<s1pilot::state::errc> : std::true_type {};
