#include "s1pilot/audit/error.hpp"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace s1pilot::audit {
namespace {

class audit_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "s1pilot.audit"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::invalid_options: return "invalid audit log options";
            case errc::io_error: return "the audit log could not be read or written";
            case errc::closed: return "the audit log refuses appends after a failure";
            case errc::invalid_record: return "the audit record uses a field reserved for the writer";
            case errc::invalid_log: return "the existing audit log cannot be continued";
        }
        return "unknown audit error";
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const audit_category instance;
    return instance;
}

}  // namespace s1pilot::audit
