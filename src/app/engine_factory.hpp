#pragma once
// Making the engine from what set_up() opened, for `once`, `plan` and `run`.

#include "s1pilot/engine/engine.hpp"

#include <memory>

#include "daemon_setup.hpp"

namespace s1pilot::app {

/// The engine on `executor`, or null after printing why (and setting `exit`).
std::unique_ptr<engine::engine> make_engine(daemon_state& state, const core::clock& clock,
                                            boost::asio::any_io_executor executor, engine::engine_options options,
                                            int& exit, engine::progress_sink progress = {});

}  // namespace s1pilot::app
