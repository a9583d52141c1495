#include "s1pilot/core/clock.hpp"

namespace s1pilot::core {

timestamp system_clock::now() const {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::chrono::steady_clock::time_point system_clock::steady_now() const {
    return std::chrono::steady_clock::now();
}

}  // namespace s1pilot::core
