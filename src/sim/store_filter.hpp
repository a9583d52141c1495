#pragma once
// A filter prepared for one scan of the store. Terms whose meaning is a plain comparison (id and
// enum lists, times, flags) are resolved once to interned ids and integers and tested directly on
// the records; every other term (agent tags, full-text query, list-valued attributes...) is left
// to filter::matches over a store_view. The semantics are the filter module's: a test
// cross-checks this against filter::matches on the JSON the simulator serves.

#include "s1pilot/filter/filter.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store_view.hpp"

namespace s1sim {

class store_filter {
public:
    /// Precondition: `f` has no relative times. `fast_path` false sends every term through
    /// filter::matches (for the cross-check test).
    store_filter(const threat_store& store, const s1pilot::filter::threat_filter& f, bool fast_path = true);

    bool matches(std::uint32_t threat_index) const;

    /// When the filter names threat ids, the store indices of those threats (ascending): only
    /// they can match, so a scan can skip the rest (reconciliation reads `ids=` one by one).
    /// nullopt: every threat must be tested.
    std::optional<std::vector<std::uint32_t>> candidates() const;

    /// The filter's `limit` term (actions: at most this many threats), if any.
    std::optional<std::int64_t> limit() const noexcept { return limit_; }
    /// True when no term selects anything (every threat matches).
    bool selects_all() const noexcept { return fast_.empty() && residual_.empty(); }

private:
    enum class op : std::uint8_t {
        id_in,
        id_not_in,
        str_in,
        str_not_in,
        text_in,
        text_not_in,
        text_contains,
        list_in,
        list_not_in,
        time_cmp,
        flag,
        resolved,
        notes,
        agent_mask
    };
    struct fast_term {
        op kind = op::flag;
        s1pilot::filter::attribute attr{};
        s1pilot::filter::match_kind match{};
        bool flag_value = false;
        std::int64_t time = 0;
        std::vector<std::uint64_t> ids;     // id_in: sorted
        std::vector<string_id> string_ids;  // str_in, list_in: sorted
        std::vector<std::string> texts;     // text_in; text_contains (lower-cased)
        // Where id_in and str_in read: one of the two members is set (resolved once, not per threat).
        std::uint64_t threat_record::*threat_id = nullptr;
        std::uint64_t agent_record::*agent_id = nullptr;
        string_id threat_record::*threat_string = nullptr;
        string_id agent_record::*agent_string = nullptr;
        std::vector<std::uint8_t> agents;  // agent_mask: the term's answer per agent index
        int cost = 0;                      // tested cheapest first: record fields, then agent fields, then text
    };

    std::optional<fast_term> compile(const s1pilot::filter::term& t) const;
    void to_agent_mask(fast_term& term) const;
    bool test(const fast_term& term, const threat_record& t) const;

    const threat_store& store_;
    std::vector<fast_term> fast_;
    s1pilot::filter::threat_filter residual_;
    std::optional<s1pilot::filter::compiled_filter> residual_compiled_;
    mutable store_view view_;
    std::optional<std::int64_t> limit_;
};

/// ASCII case-insensitive substring test; `lower_needle` is already lower-case.
bool contains_ascii_nocase(std::string_view haystack, std::string_view lower_needle) noexcept;

}  // namespace s1sim
