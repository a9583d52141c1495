#pragma once
// A problem found in user input (a playbook, a configuration, a filter), with where it is.
// Every validator appends diagnostics rather than stopping at the first, so that a user sees
// every problem in every file at once.

#include <string>
#include <vector>

namespace s1pilot::core {

enum class severity { warning, error };

struct diagnostic {
    severity level = severity::error;
    std::string file;  ///< empty when not from a file
    int line = 0;      ///< 1-based; 0 when unknown
    int column = 0;    ///< 1-based; 0 when unknown
    std::string message;
};

/// `file:line:col: message` (warnings say `warning: ` before the message), the form editors
/// and compilers use; parts that are unknown are left out.
std::string to_string(const diagnostic& d);

bool has_errors(const std::vector<diagnostic>& diagnostics) noexcept;

}  // namespace s1pilot::core
