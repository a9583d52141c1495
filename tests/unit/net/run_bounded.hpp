#pragma once
// Runs one coroutine on a test's io_context until it finishes or a generous bound passes (the
// test then fails instead of hanging). Header-only, shared by the net and s1 tests.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>

namespace s1pilot::test {

template <class T>
std::optional<T> run_bounded(boost::asio::io_context& ioc, boost::asio::awaitable<T> work,
                             std::chrono::seconds bound = std::chrono::seconds(30)) {
    struct outcome {
        std::optional<T> value;
        std::exception_ptr error;
        bool done = false;
    };
    auto state = std::make_shared<outcome>();
    boost::asio::co_spawn(ioc, std::move(work), [state](std::exception_ptr e, T v) {
        state->error = e;
        if (!e) state->value.emplace(std::move(v));
        state->done = true;
    });
    ioc.restart();
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!state->done && std::chrono::steady_clock::now() < until) ioc.run_one_for(std::chrono::milliseconds(50));
    if (!state->done) {
        ADD_FAILURE() << "the coroutine did not finish within " << bound.count() << " s";
        return std::nullopt;
    }
    if (state->error) std::rethrow_exception(state->error);
    return std::move(state->value);
}

}  // namespace s1pilot::test
