#pragma once
// The store's threats seen through filter::threat_view, so that the simulator selects threats
// with the filter module's own evaluation (the same code s1pilot's tests use), not a copy of it.

#include "s1pilot/filter/evaluate.hpp"

#include <array>
#include <string>

#include "store.hpp"

namespace s1sim {

/// A reusable view: point it at a threat with `at()`, then evaluate. The string_views it hands
/// out stay valid until the next `at()` (ids and times are formatted into scratch buffers).
class store_view final : public s1pilot::filter::threat_view {
public:
    explicit store_view(const threat_store& store) : store_(store) {}

    store_view& at(std::uint32_t threat_index) {
        threat_ = &store_.threats[threat_index];
        index_ = threat_index;
        return *this;
    }
    void values(s1pilot::filter::attribute a, std::vector<std::string_view>& out) const override;

private:
    std::string_view scratch(s1pilot::filter::attribute a, std::string text) const;

    const threat_store& store_;
    const threat_record* threat_ = nullptr;
    std::uint32_t index_ = 0;
    mutable std::array<std::string, static_cast<std::size_t>(s1pilot::filter::attribute::count_)> scratch_;
};

/// An agent seen through filter::threat_view, for `/agents/actions/*` filters: `ids` are agent
/// ids and only agent attributes have values.
class agent_view final : public s1pilot::filter::threat_view {
public:
    explicit agent_view(const threat_store& store) : store_(store) {}
    agent_view& at(std::uint32_t agent_index) {
        agent_ = &store_.agents[agent_index];
        return *this;
    }
    void values(s1pilot::filter::attribute a, std::vector<std::string_view>& out) const override;

private:
    const threat_store& store_;
    const agent_record* agent_ = nullptr;
    mutable std::array<std::string, 5> scratch_;
};

/// The value of a single-valued string attribute of a threat, or nullptr when the attribute is
/// not one (ids, times, flags and lists are handled elsewhere). Shared by the view, the fast
/// filter path and sorting so that all three read the same field.
const string_id* string_field(const threat_store& store, const threat_record& t, s1pilot::filter::attribute a);

/// True for attributes whose values are always interned (a filter value can be resolved to an id).
bool is_interned(s1pilot::filter::attribute a) noexcept;

}  // namespace s1sim
