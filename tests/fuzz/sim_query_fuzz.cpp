// The GET /threats query string as s1sim reads it (simulator::list): filter::parse_query, relative
// times resolved, then list_threats over a small generated store. Invariants: a parsed filter
// survives a round trip through to_query (what s1pilot sends is what s1sim reads); the store's
// fast filter path agrees with filter::matches on every threat; an answered page is JSON with at
// most `limit` threats and counts every match.

#include "s1pilot/core/diagnostic.hpp"
#include "s1pilot/filter/wire.hpp"

#include <boost/json/parse.hpp>

#include "fuzz_check.hpp"
#include "generator.hpp"
#include "listing.hpp"
#include "store_filter.hpp"

namespace {

using namespace std::chrono_literals;

const s1pilot::core::timestamp fixed_now{std::chrono::sys_days{std::chrono::year{2025} / 6 / 1}.time_since_epoch()};

const s1sim::threat_store& store() {
    static const auto* s = [] {
        auto* made = new s1sim::threat_store();
        s1sim::generate(*made, {120, 7, fixed_now});
        return made;
    }();
    return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace s1pilot;
    const std::string_view query = fuzz::text_of(data, size);
    std::vector<core::diagnostic> problems;
    auto parsed = filter::parse_query(query, problems);
    if (!parsed) {
        S1PILOT_FUZZ_CHECK(core::has_errors(problems), "a refused query without a reason");
        return 0;
    }
    S1PILOT_FUZZ_CHECK(!core::has_errors(problems), "an accepted query with errors");
    S1PILOT_FUZZ_CHECK(parsed->params.limit >= 1 && parsed->params.limit <= 1000, "a page size outside 1..1000");
    if (parsed->filter.has_relative_times()) parsed->filter = parsed->filter.resolved(fixed_now);

    if (!filter::has_list_item_with_comma(parsed->filter)) {
        std::vector<core::diagnostic> again_problems;
        const auto again = filter::parse_query(filter::to_query(parsed->filter), again_problems);
        S1PILOT_FUZZ_CHECK(again.has_value(), "to_query wrote a query parse_query refuses");
        S1PILOT_FUZZ_CHECK(again->filter == parsed->filter, "a filter that does not survive to_query");
    }

    const auto& threats = store();
    const s1sim::store_filter fast(threats, parsed->filter, true);
    const s1sim::store_filter slow(threats, parsed->filter, false);
    std::int64_t matching = 0;
    for (std::uint32_t i = 0; i < threats.threats.size(); ++i) {
        const bool m = fast.matches(i);
        S1PILOT_FUZZ_CHECK(m == slow.matches(i), "the fast filter path disagrees with filter::matches");
        matching += m ? 1 : 0;
    }

    const auto listing = s1sim::list_threats(threats, *parsed);
    if (!listing.ok) {
        S1PILOT_FUZZ_CHECK(!listing.error_parameter.empty() && !listing.error_detail.empty(),
                           "a refused listing that names no parameter");
        return 0;
    }
    boost::system::error_code ec;
    const auto body = boost::json::parse(listing.body, ec);
    S1PILOT_FUZZ_CHECK(!ec && body.is_object(), "a page that is not a JSON object");
    const auto* page = body.get_object().if_contains("data");
    S1PILOT_FUZZ_CHECK(page != nullptr && page->is_array(), "a page without data");
    S1PILOT_FUZZ_CHECK(page->get_array().size() <= static_cast<std::size_t>(parsed->params.limit),
                       "more threats than the page size");
    const auto* pagination = body.get_object().if_contains("pagination");
    S1PILOT_FUZZ_CHECK(pagination != nullptr && pagination->is_object(), "a page without pagination");
    const auto* total = pagination->get_object().if_contains("totalItems");
    S1PILOT_FUZZ_CHECK(total != nullptr && total->is_int64() && total->get_int64() == matching,
                       "totalItems is not the number of matching threats");
    return 0;
}
