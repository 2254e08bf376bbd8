#pragma once

// Reconnection delays: exponential backoff with jitter. Pure: the caller
// passes the random draw in (so tests are exact) and sleeps itself.
//
// Attempt n (0-based, counted since the last reset) has the ceiling
// min(max, initial * 2^n); the delay is drawn uniformly from
// [ceiling / 2, ceiling) ("equal jitter"): never below half the ceiling, so a
// failing server is not hammered, and spread so that nodes restarted together
// do not reconnect in lockstep.
//
// Thread safety: none; one object per reconnecting thread.

#include <chrono>

namespace nself::core {

class Backoff {
 public:
  // `initial` >= 1 ms and `max` >= `initial` (asserted).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);

  // The delay before the next attempt; `jitter` in [0, 1) (clamped).
  std::chrono::milliseconds next(double jitter);
  // After a success: the next delay starts from `initial` again.
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempts_ = 0;
};

}  // namespace nself::core
