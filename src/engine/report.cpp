// Reports for people: the summary line, the plan table, the exit code.

#include "s1pilot/engine/report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace s1pilot::engine {

std::string_view to_string(run_outcome o) noexcept {
    switch (o) {
        case run_outcome::ok: return "ok";
        case run_outcome::held: return "held";
        case run_outcome::failed: return "failed";
        case run_outcome::coalesced: return "coalesced";
    }
    return "unknown";
}

std::size_t run_report::calls() const noexcept {
    std::size_t n = 0;
    for (const auto& a : actions) n += a.calls;
    return n;
}

std::size_t run_report::failures() const noexcept {
    std::size_t n = 0;
    for (const auto& a : actions) n += a.failures;
    return n;
}

std::size_t run_report::dry_calls() const noexcept {
    std::size_t n = 0;
    for (const auto& a : actions) n += a.dry_calls.size();
    return n;
}

std::size_t run_report::skipped() const noexcept {
    std::size_t n = 0;
    for (const auto& a : actions) n += a.skipped;
    return n;
}

std::size_t run_report::awaiting_confirmation() const noexcept {
    std::size_t n = 0;
    for (const auto& a : actions) n += a.awaiting_confirmation;
    return n;
}

std::string summary_line(const run_report& r) {
    const bool held = r.outcome == run_outcome::held;
    std::string line;
    if (r.dry_run) {
        line = fmt::format("{}: matched {}, would act on {} ({} call{}), held {}", r.playbook, r.matched, r.acted,
                           r.dry_calls(), r.dry_calls() == 1 ? "" : "s", held ? "yes" : "no");
    } else {
        line = fmt::format("{}: matched {}, acted {} ({} call{}), held {}, failed {}", r.playbook, r.matched, r.acted,
                           r.calls(), r.calls() == 1 ? "" : "s", held ? "yes" : "no", r.failures());
        if (r.skipped() > 0) line += fmt::format(", skipped {}", r.skipped());
        if (r.awaiting_confirmation() > 0) line += fmt::format(", awaiting confirmation {}", r.awaiting_confirmation());
    }
    if (r.unconfirmed > 0) line += fmt::format(", unconfirmed {}", r.unconfirmed);
    if (r.confirmed_failed > 0) line += fmt::format(", confirmed failed {}", r.confirmed_failed);
    if (r.outcome == run_outcome::failed) line += ": error: " + r.error;
    if (r.outcome == run_outcome::coalesced) line += " (coalesced into the run in progress)";
    return line;
}

std::string plan_table(const std::vector<run_report>& reports) {
    std::size_t name_width = std::string_view("PLAYBOOK").size();
    for (const auto& r : reports) name_width = std::max(name_width, r.playbook.size());
    std::string out = fmt::format("{:<{}}  {:>7}  {:>12}  {:<4}  {}\n", "PLAYBOOK", name_width, "MATCHED",
                                  "AFTER LEDGER", "HELD", "CALLS");
    const std::string indent(name_width + 2 + 7 + 2 + 12 + 2 + 4 + 2, ' ');
    for (const auto& r : reports) {
        const std::string held = r.outcome == run_outcome::held ? "yes" : "no";
        std::vector<std::string> calls;
        for (const auto& a : r.actions) {
            for (const auto& c : a.dry_calls) {
                calls.push_back(c.ids > 0
                                    ? fmt::format("{} {} ({} id{})", c.method, c.path, c.ids, c.ids == 1 ? "" : "s")
                                    : fmt::format("{} {} (filter)", c.method, c.path));
            }
        }
        if (r.outcome == run_outcome::failed) calls.insert(calls.begin(), "error: " + r.error);
        if (calls.empty()) calls.push_back(r.outcome == run_outcome::held ? "none (held)" : "none");
        if (r.awaiting + r.unconfirmed + r.confirmed_failed > 0)
            calls.push_back(fmt::format("confirmations: awaiting {}, unconfirmed {}, confirmed failed {}", r.awaiting,
                                        r.unconfirmed, r.confirmed_failed));
        out += fmt::format("{:<{}}  {:>7}  {:>12}  {:<4}  {}\n", r.playbook, name_width, r.matched, r.after_ledger,
                           held, calls.front());
        for (std::size_t i = 1; i < calls.size(); ++i) out += indent + calls[i] + "\n";
    }
    return out;
}

int once_exit_code(const std::vector<run_report>& reports) {
    bool failed = false;
    bool partial = false;
    for (const auto& r : reports) {
        if (r.outcome == run_outcome::failed) failed = true;
        if (r.outcome == run_outcome::held || r.failures() > 0) partial = true;
    }
    if (failed) return 1;
    return partial ? 4 : 0;
}

}  // namespace s1pilot::engine
