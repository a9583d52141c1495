#pragma once
// Filter values drawn from a dataset, so that a term selects some threats but (usually) not all:
// a test that compares the simulator's selection with filter::matches then means something.

#include "s1pilot/filter/evaluate.hpp"
#include "s1pilot/filter/filter.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s1sim::test {

/// A dataset as GET /_sim/threats dumps it: threats plus the notes and agent tags that the
/// threat JSON does not carry.
struct dataset {
    std::vector<boost::json::object> threats;
    std::map<std::string, std::vector<std::string>> notes;       ///< by threat id
    std::map<std::string, std::vector<std::string>> agent_tags;  ///< by agent id

    explicit dataset(const std::string& dump_json);
    /// The view of threat i for filter::matches, with its notes and its agent's tags.
    s1pilot::filter::json_threat_view view(std::size_t i) const;
    /// Ids of the threats `f` selects, in dump order (evaluated by the filter module).
    std::vector<std::string> expected(const s1pilot::filter::threat_filter& f) const;
};

/// A value for `key` taken from the dataset (seeded: the same seed gives the same value).
s1pilot::filter::value sample_value(const s1pilot::filter::key_spec& key, const dataset& d, std::uint64_t seed);

/// Every key either seed document lists.
std::vector<const s1pilot::filter::key_spec*> seed_keys();

}  // namespace s1sim::test
