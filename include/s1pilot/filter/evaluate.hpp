#pragma once
// Evaluating a filter against one threat: what the console does when it selects threats.
// s1sim uses it to answer GET /threats and actions; tests use it to compute expected results.

#include "s1pilot/filter/filter.hpp"

#include <boost/json/fwd.hpp>

#include <forward_list>
#include <string>
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
/// agent tags are not part of that object: pass them in when known. Values are views into the
/// object (numbers: into text the view keeps), valid while both live. Not for concurrent use:
/// make one view per thread (they are cheap: three pointers).
class json_threat_view final : public threat_view {
public:
    explicit json_threat_view(const boost::json::object& threat, const std::vector<std::string>* notes = nullptr,
                              const std::vector<std::string>* agent_tags = nullptr);
    void values(attribute a, std::vector<std::string_view>& out) const override;

private:
    const boost::json::object& threat_;
    const std::vector<std::string>* notes_;
    const std::vector<std::string>* agent_tags_;
    mutable std::forward_list<std::string> number_text_;  // decimal text of numeric values seen
};

/// A filter prepared once for evaluation over many threats: lists sorted, needles lower-cased,
/// times and agentTagsData parsed. `matches` allocates nothing per threat (after its first call
/// on a thread) and checks cheap terms first. Throws std::logic_error on a relative time
/// (resolve first). Safe to share between threads.
class compiled_filter {
public:
    explicit compiled_filter(const threat_filter& f);
    compiled_filter(const compiled_filter&);
    compiled_filter(compiled_filter&&) noexcept;
    compiled_filter& operator=(const compiled_filter&);
    compiled_filter& operator=(compiled_filter&&) noexcept;
    ~compiled_filter();

    /// Same answer as `filter::matches(f, threat)` for the filter it was made from.
    bool matches(const threat_view& threat) const;

private:
    struct compiled_term;
    std::vector<compiled_term> terms_;
};

/// Does the threat satisfy every term? `limit`, `countsFor` and `tenant` select nothing here
/// (the caller applies `limit`). Precondition: no relative times (resolve first). Compiles the
/// filter on each call: to test many threats, make one compiled_filter instead.
bool matches(const threat_filter& f, const threat_view& threat);

}  // namespace s1pilot::filter
