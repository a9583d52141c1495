#include "s1pilot/core/error.hpp"

#include "s1pilot/core/diagnostic.hpp"
#include "s1pilot/core/failure.hpp"

#include <boost/throw_exception.hpp>

#include <algorithm>
#include <stdexcept>

namespace s1pilot::core {
namespace {

class s1pilot_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "s1pilot"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::invalid_configuration: return "invalid configuration";
            case errc::invalid_filter: return "invalid filter";
            case errc::empty_filter: return "refused to send an empty filter (it would select every threat in scope)";
            case errc::io_error: return "file could not be read or written";
            case errc::secret_unreadable: return "secret could not be read safely";
            case errc::bad_response: return "the console's response is not valid API output";
            case errc::api_error: return "the console answered with an error";
        }
        return "unknown s1pilot error";
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const s1pilot_category instance;
    return instance;
}

std::string to_string(const diagnostic& d) {
    std::string out;
    if (!d.file.empty()) {
        out += d.file;
        if (d.line > 0) {
            out += ':' + std::to_string(d.line);
            if (d.column > 0) out += ':' + std::to_string(d.column);
        }
        out += ": ";
    }
    if (d.level == severity::warning) out += "warning: ";
    out += d.message;
    return out;
}

void throw_exception_from_error(const error& e, const boost::source_location& location) {
    boost::throw_with_location(std::runtime_error(e.message), location);
}

bool has_errors(const std::vector<diagnostic>& diagnostics) noexcept {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const diagnostic& d) { return d.level == severity::error; });
}

}  // namespace s1pilot::core
