#pragma once
// One black-box scenario: a temporary directory, s1sim on port 0 with the pinned dataset, and an
// s1pilot configuration pointed at it. Members are destroyed in reverse order: s1sim is stopped
// before the directory is removed.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "expectations.hpp"
#include "pilot_process.hpp"
#include "process.hpp"
#include "sim_process.hpp"

namespace s1pilot::integration {

class scenario {
public:
    explicit scenario(sim_options options = {})
        : s1pilot(dir.path()), sim(std::make_unique<sim_process>(dir.path(), s1pilot.token(), std::move(options))) {}

    /// Copies `tests/data/integration/<name>` into the directory.
    fs::path fixture(const std::string& name) const {
        return s1pilot.copy_playbook(fs::path(S1PILOT_TEST_DATA) / "integration" / name);
    }
    /// The default console settings for this s1sim: its URL and its CA.
    console_settings console(int batch_size = 100) const {
        return {.url = sim->url(), .ca_file = sim->ca_file(), .batch_size = batch_size};
    }
    void configure(const std::vector<fs::path>& playbooks, int batch_size = 100) const {
        s1pilot.write_config(console(batch_size), playbooks);
    }
    /// Copies fixture `name` with its `ids: ["@IDS@"]` set to `n` threats of site ...020 that
    /// have no mitigation yet (unmitigated_ids): the file, and the ids. A dataset with fewer is a
    /// test failure (check with ASSERT_EQ on the ids' size).
    std::pair<fs::path, std::vector<std::string>> fixture_on_fresh_threats(const std::string& name,
                                                                           std::size_t n) const;

    temp_dir dir;
    pilot s1pilot;
    std::unique_ptr<sim_process> sim;
};

/// The instant the pinned datasets end at: fixtures have no relative times, so any will do.
inline core::timestamp pinned_instant() {
    return *core::parse_timestamp(pinned_now);
}

/// Replaces a fixture's `ids: ["@IDS@"]` with these ids (a test failure when it has none).
inline void fill_ids(const fs::path& playbook, const std::vector<std::string>& ids) {
    auto text = read_text(playbook);
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "\"" : ", \"") + id + "\"";
    const std::string placeholder = "ids: [\"@IDS@\"]";
    ASSERT_NE(text.find(placeholder), std::string::npos);
    text.replace(text.find(placeholder), placeholder.size(), "ids: [" + list + "]");
    write_text(playbook, text);
}

inline std::pair<fs::path, std::vector<std::string>> scenario::fixture_on_fresh_threats(const std::string& name,
                                                                                        std::size_t n) const {
    auto ids = unmitigated_ids(dataset(sim->dump()), n);
    EXPECT_EQ(ids.size(), n) << "too few threats without a mitigation in the dataset";
    auto file = fixture(name);
    fill_ids(file, ids);
    return {file, ids};
}

}  // namespace s1pilot::integration
