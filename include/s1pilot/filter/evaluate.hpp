#pragma once
// Evaluating a filter against one threat: what the console does when it selects threats.
// s1sim uses it to answer GET /threats and actions; tests use it to compute expected results.

#include "s1pilot/filter/filter.hpp"

#include <boost/json/fwd.hpp>

#include <string_view>
#include <vector>

namespace s1pilot::filter {

/// Read access to one threat's attributes, however it is stored.
class threat_view {
public:
    virtual ~threat_view() = default;
    /// Appends every value of `a` to `out` (nothing when absent or null). Booleans are
    /// `true`/`false`; times are as the API writes them.
    virtual void values(attribute a, std::vector<std::string_view>& out) const = 0;
};

/// A threat_view over a threat object as the API returns it (see attribute_path). Notes and
/// agent tags are not part of that object: pass them in when known.
class json_threat_view final : public threat_view {
public:
    explicit json_threat_view(const boost::json::object& threat,
                              const std::vector<std::string>* notes = nullptr,
                              const std::vector<std::string>* agent_tags = nullptr);
    void values(attribute a, std::vector<std::string_view>& out) const override;

private:
    const boost::json::object& threat_;
    const std::vector<std::string>* notes_;
    const std::vector<std::string>* agent_tags_;
};

/// Does the threat satisfy every term? `limit`, `countsFor` and `tenant` select nothing here
/// (the caller applies `limit`). Precondition: no relative times (resolve first).
bool matches(const threat_filter& f, const threat_view& threat);

}  // namespace s1pilot::filter
