#pragma once
// The simulator's one source of randomness: splitmix64, whose output is the same on every
// platform and standard library (std distributions are not), so a seed names one dataset and
// one fault sequence everywhere.

#include <cstdint>
#include <string_view>

namespace s1sim {

class rng {
public:
    explicit rng(std::uint64_t seed = 0) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n); n > 0. The modulo bias is irrelevant at these sizes.
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    /// Uniform in [0, 1).
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    bool chance(double p) { return unit() < p; }
    template <typename T, std::size_t N>
    const T& pick(const T (&items)[N]) {
        return items[below(N)];
    }

private:
    std::uint64_t state_;
};

}  // namespace s1sim
