#pragma once
// What every fuzz target shares: an invariant check that stops the run with a message libFuzzer
// keeps next to the crash file. assert() would vanish under NDEBUG; this never does.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define S1PILOT_FUZZ_CHECK(condition, what)                                                                            \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, (what), #condition); \
            std::abort();                                                                                              \
        }                                                                                                              \
    } while (false)

namespace s1pilot::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

inline bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace s1pilot::fuzz
