// s1::parse_threat_page on arbitrary bytes: the streaming decoder of every GET /threats answer
// (the console's or anything between it and us). Invariants: every decoded id is a valid object
// id that survives a round trip through its text; a page accepted with `data` required is the
// same page when it is not (countOnly); an error always says what it is about.

#include "s1pilot/s1/page_parser.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace s1pilot;
    const std::string_view body = fuzz::text_of(data, size);
    const auto page = s1::parse_threat_page(body, true);
    const auto counted = s1::parse_threat_page(body, false);

    if (!page) {
        S1PILOT_FUZZ_CHECK(page.error().message.starts_with("threat page: "), "an error that does not say where");
    } else {
        S1PILOT_FUZZ_CHECK(counted.has_value(), "accepted with data required, refused without");
        S1PILOT_FUZZ_CHECK(counted->threats == page->threats, "the two modes decoded different threats");
        for (const auto& t : page->threats) {
            const std::string id = s1::to_string_id(t.id);
            S1PILOT_FUZZ_CHECK(fuzz::all_digits(id), "an id that is not digits");
            S1PILOT_FUZZ_CHECK(s1::parse_object_id(id) == t.id, "an id that does not survive a round trip");
            for (const auto other : {t.agent_id, t.account_id, t.site_id, t.group_id})
                S1PILOT_FUZZ_CHECK(other == 0 || s1::parse_object_id(s1::to_string_id(other)) == other,
                                   "a scope id that does not survive a round trip");
        }
    }
    if (!counted) S1PILOT_FUZZ_CHECK(!counted.error().message.empty(), "an empty error");
    return 0;
}
