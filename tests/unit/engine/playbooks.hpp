#pragma once
// Playbooks for the engine tests, parsed from YAML as users write them.

#include "s1pilot/config/load.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace s1pilot::engine::test {

inline config::playbook parse(std::string_view yaml) {
    std::vector<core::diagnostic> diagnostics;
    auto p = config::parse_playbook(yaml, "test.yaml", diagnostics);
    for (const auto& d : diagnostics) ADD_FAILURE() << core::to_string(d);
    if (!p) throw std::runtime_error("the test playbook does not parse");
    p->console = "sim";
    p->sha256 = std::string(64, 'a');
    return *p;
}

/// A playbook with the given actions (YAML list items) and extra top-level YAML.
inline config::playbook playbook_with(std::string_view actions, std::string_view extra = {}) {
    std::string yaml = R"(name: contain
match:
  siteIds: ["7"]
  accountIds: ["3"]
  classifications: [Ransomware]
  createdAt__gte: -24h
actions:
)";
    yaml += actions;
    yaml += "\n";
    yaml += extra;
    return parse(yaml);
}

}  // namespace s1pilot::engine::test
