#include "s1pilot/state/error.hpp"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace s1pilot::state {
namespace {

class state_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "s1pilot.state"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::open_failed: return "the state database could not be opened";
            case errc::not_a_database: return "the state file is not an SQLite database";
            case errc::not_a_ledger: return "the SQLite database is not an s1pilot ledger";
            case errc::newer_schema: return "the state database was written by a newer s1pilot";
            case errc::older_schema: return "the state database needs a migration";
            case errc::in_use: return "the state database is in use by another process";
            case errc::database_error: return "the state database reported an error";
            case errc::integrity_failed: return "the state database failed its integrity check";
        }
        return "unknown state error";
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const state_category instance;
    return instance;
}

}  // namespace s1pilot::state
