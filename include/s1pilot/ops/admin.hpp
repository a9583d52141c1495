#pragma once
// What the admin listener's routes do (DESIGN.md §7): health, readiness with its reasons, the
// metrics, the status, and the triggers. A webhook event runs every `trigger.webhook: true`
// playbook restricted to its threats (added to the match, never replacing it), through the
// playbook's gate and the ledger like any run, so the same threat from a poll and three webhooks
// is acted on once. It answers 202 at once, or the run reports with `?wait=true`.

#include "s1pilot/core/metrics.hpp"
#include "s1pilot/engine/engine.hpp"
#include "s1pilot/ops/admin_listener.hpp"
#include "s1pilot/ops/service.hpp"

#include <functional>
#include <string>

namespace s1pilot::ops {

struct admin_context {
    engine::engine& engine;
    std::function<readiness()> ready;  ///< the service's readiness (start-up, stopping, failing closed)
    std::function<std::size_t()> reloads;
    std::function<std::size_t()> rejections;
    std::string token;  ///< the admin token; empty: POST routes are refused
};

/// The handler of every route; registers the process's own metrics in the engine's registry.
admin_handler make_admin_handler(admin_context context);

/// The run reports of a `?wait=true` answer.
std::string reports_json(const std::vector<engine::run_report>& reports);

}  // namespace s1pilot::ops
