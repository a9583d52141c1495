#pragma once
// Expected failures as values: an `errc` in s1pilot's own error category, so that they travel
// in boost::system::error_code / result<T> next to Asio's and carry a readable message.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace s1pilot::core {

enum class errc {
    ok = 0,
    invalid_configuration,  ///< a configuration or playbook file is not valid
    invalid_filter,         ///< a filter key or value is not valid
    empty_filter,           ///< refused: an empty filter selects every threat in scope
    io_error,               ///< a file could not be read or written
    secret_unreadable,      ///< a token file is missing, unsafe or empty
    bad_response,           ///< the console answered something that is not the API
    api_error,              ///< the console answered with an error status
};

const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

}  // namespace s1pilot::core

template <>
struct boost::system::is_error_code_enum<s1pilot::core::errc> : std::true_type {};
