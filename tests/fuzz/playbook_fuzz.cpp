// config::parse_playbook on arbitrary text: the loader every playbook file and every reload goes
// through. Invariants: a playbook comes back exactly when no error was reported, and every
// diagnostic names the file with a position inside the text.

#include "s1pilot/config/load.hpp"

#include <algorithm>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace s1pilot;
    const std::string_view text = fuzz::text_of(data, size);
    std::vector<core::diagnostic> diagnostics;
    const auto book = config::parse_playbook(text, "fuzz.yaml", diagnostics);

    S1PILOT_FUZZ_CHECK(book.has_value() != core::has_errors(diagnostics), "a playbook with errors, or none without");
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& d : diagnostics) {
        S1PILOT_FUZZ_CHECK(d.file == "fuzz.yaml", "a diagnostic names another file");
        S1PILOT_FUZZ_CHECK(d.line >= 0 && d.line <= lines, "a diagnostic's line is outside the text");
        S1PILOT_FUZZ_CHECK(d.column >= 0, "a negative column");
        S1PILOT_FUZZ_CHECK(!d.message.empty(), "a diagnostic without a message");
    }
    if (book) {
        S1PILOT_FUZZ_CHECK(!book->name.empty(), "a playbook without a name");
        S1PILOT_FUZZ_CHECK(!book->actions.empty(), "a playbook without actions");
    }
    return 0;
}
