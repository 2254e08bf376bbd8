#pragma once

// Rate limiting decisions (docs/PROTOCOL.md, "Limits"): a token bucket per
// user and a flood guard per connection. Pure: the caller passes the time in.
//
// Thread safety: none; each object belongs to one thread (the loop).

#include <chrono>
#include <cstdint>

namespace nself::core {

using SteadyTime = std::chrono::steady_clock::time_point;

// Capacity `rate` tokens, refilled continuously at `rate` tokens per second:
// at most `rate` requests in a burst and `rate` per second sustained.
class TokenBucket {
 public:
  // `rate` must be >= 1. The bucket starts full at `now`.
  TokenBucket(int rate, SteadyTime now);

  // Takes one token when there is one (true), else takes nothing (false).
  bool try_take(SteadyTime now);
  // Whole tokens available at `now` (for tests and status).
  int available(SteadyTime now);

 private:
  void refill(SteadyTime now);

  double capacity_;
  double tokens_;
  SteadyTime last_;
};

// What to do with a request counted against the rate limit.
enum class RateDecision {
  kAllow,       // deliver it
  kReject,      // answer rate_limited, do not deliver
  kDisconnect,  // answer rate_limited, then close the connection with 4008
};

// "A client that keeps flooding is throttled, then disconnected": a
// connection whose requests are rejected `disconnect_after` times in a row
// (no request allowed in between), all within `window` of the first rejection
// of that streak, is disconnected. A streak older than `window` starts over,
// and any allowed request ends it.
struct FloodPolicy {
  int disconnect_after = 20;
  std::chrono::milliseconds window{10'000};
};

class FloodGuard {
 public:
  explicit FloodGuard(FloodPolicy policy = {}) : policy_(policy) {}

  // Records the bucket's verdict for one request of this connection.
  RateDecision record(bool allowed, SteadyTime now);
  int streak() const { return streak_; }

 private:
  FloodPolicy policy_;
  int streak_ = 0;
  SteadyTime streak_start_{};
};

}  // namespace nself::core
