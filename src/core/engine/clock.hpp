#pragma once

// The engine never reads a clock: every input carries `Now`. Steady time
// drives deadlines (auth timeout, typing expiry, rate buckets); wall time is
// what clients and the store see (last_active, expires_at).

#include <chrono>

namespace nself::core::engine {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;

struct Now {
  SteadyTime steady{};
  WallTime wall{};
};

}  // namespace nself::core::engine
