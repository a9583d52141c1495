// s1::parse_action_response (and the other small answers: errors[], a notes page) on arbitrary
// bytes: what decides whether an action POST was carried out. Invariants: `affected` is a count;
// a decoded answer carries the same errors[] as parse_api_errors reads from it; an error says
// what it is about.

#include "s1pilot/s1/responses.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace s1pilot;
    const std::string_view body = fuzz::text_of(data, size);

    const auto answer = s1::parse_action_response(body);
    const auto errors = s1::parse_api_errors(body);
    if (answer) {
        S1PILOT_FUZZ_CHECK(answer->affected >= 0, "a negative affected count");
        S1PILOT_FUZZ_CHECK(answer->errors == errors, "errors[] read differently by the two decoders");
    } else {
        S1PILOT_FUZZ_CHECK(answer.error().message.starts_with("action response: "), "an error that does not say where");
    }
    for (const auto& e : errors) S1PILOT_FUZZ_CHECK(!s1::to_string(e).empty(), "an error that prints as nothing");

    const auto notes = s1::parse_notes_page(body);
    if (!notes) S1PILOT_FUZZ_CHECK(notes.error().message.starts_with("notes: "), "an error that does not say where");
    return 0;
}
