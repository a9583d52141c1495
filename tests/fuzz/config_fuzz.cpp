// config::parse_config on arbitrary text: the daemon configuration, read at start and on every
// SIGHUP. No file and no secret is read from text. Invariants: a configuration comes back
// exactly when no error was reported; it has a console; diagnostics name the file.

#include "s1pilot/config/load.hpp"

#include <algorithm>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace s1pilot;
    const std::string_view text = fuzz::text_of(data, size);
    std::vector<core::diagnostic> diagnostics;
    const auto config = config::parse_config(text, "/etc/s1pilot/s1pilot.yaml", diagnostics);

    S1PILOT_FUZZ_CHECK(config.has_value() != core::has_errors(diagnostics),
                       "a configuration with errors, or none without");
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& d : diagnostics) {
        S1PILOT_FUZZ_CHECK(d.file == "/etc/s1pilot/s1pilot.yaml", "a diagnostic names another file");
        S1PILOT_FUZZ_CHECK(d.line >= 0 && d.line <= lines, "a diagnostic's line is outside the text");
        S1PILOT_FUZZ_CHECK(!d.message.empty(), "a diagnostic without a message");
    }
    if (config) {
        S1PILOT_FUZZ_CHECK(!config->consoles.empty(), "a configuration without a console");
        for (const auto& [name, console] : config->consoles)
            S1PILOT_FUZZ_CHECK(name == console.name, "a console filed under another name");
    }
    return 0;
}
