#pragma once
// Expected failures of the audit log: a code to branch on and a message naming the file and the
// operating system's reason, because an operator must learn from one line why s1pilot stopped.

#include "s1pilot/core/failure.hpp"

#include <boost/system/error_code.hpp>

#include <string>
#include <type_traits>

namespace s1pilot::audit {

enum class errc {
    ok = 0,
    invalid_options,  ///< the writer's options are not usable (e.g. rotation keeping no file)
    io_error,         ///< open, write, fdatasync, rename or read failed
    closed,           ///< refused: an earlier append failed, and the writer fails closed
    invalid_record,   ///< the record given to append uses a field the writer owns
    invalid_log,      ///< the existing log cannot be continued (last record unreadable or altered)
};

const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

using core::error;
template <class T>
using result = core::result<T>;

}  // namespace s1pilot::audit

template <>
struct boost::system::is_error_code_enum<s1pilot::audit::errc> : std::true_type {};
