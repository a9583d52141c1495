#pragma once
// A failure that an operator must understand from one line: a code to branch on (any module's
// errc) and a complete message naming the file, database or console and the system's reason,
// which an error_code alone cannot carry.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace s1pilot::core {

struct error {
    boost::system::error_code code;
    std::string message;
};

/// `.value()` on an error throws std::runtime_error carrying the message.
template <class T>
using result = boost::system::result<T, error>;

/// Called by `result::value()` on an error (found by argument-dependent lookup).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& location);

}  // namespace s1pilot::core
