#pragma once
// A deterministic, realistic dataset: the same (threats, seed, now) gives the same threats on
// every machine, so tests and benchmarks can name what they expect.

#include <cstdint>

#include "store.hpp"

namespace s1sim {

/// Console objects the example playbooks name (shared with config/playbooks).
namespace well_known {
inline constexpr std::uint64_t account_acme = 1364475734557453411ULL;
inline constexpr std::uint64_t account_globex = 1364475734557453412ULL;
inline constexpr std::uint64_t account_initech = 1364475734557453413ULL;
inline constexpr std::uint64_t site_default = 1364475734565842019ULL;  ///< Acme "Default site"
inline constexpr std::uint64_t site_acme_eu = 1364475734565842020ULL;
inline constexpr std::uint64_t site_globex = 1364475734565842021ULL;
inline constexpr std::uint64_t site_cloud = 1364475734565842022ULL;     ///< Initech cloud workloads
inline constexpr std::uint64_t group_default = 1364475734574230628ULL;  ///< in site_default
}  // namespace well_known

struct generator_options {
    std::uint64_t threats = 1000;
    std::uint64_t seed = 1;
    s1pilot::core::timestamp now;  ///< threats are created over the 30 days before this
};

/// Fills an empty store. Every 50 threats starting at 0, the first four are in site_default and
/// are, in order: malicious Ransomware not_mitigated unresolved; suspicious unresolved Malware;
/// PUA with confidence suspicious; a `lateral_movement` detection (Hacktool, malicious,
/// not_mitigated) — so the demo playbooks always match something.
void generate(threat_store& store, const generator_options& options);

}  // namespace s1sim
