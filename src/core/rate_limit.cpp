#include "core/rate_limit.hpp"

#include <algorithm>
#include <cassert>

namespace nself::core {

TokenBucket::TokenBucket(int rate, SteadyTime now)
    : capacity_(static_cast<double>(rate)), tokens_(capacity_), last_(now) {
  assert(rate >= 1);
}

void TokenBucket::refill(SteadyTime now) {
  if (now <= last_) return;  // a clock that does not move adds nothing
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + seconds * capacity_);
  last_ = now;
}

bool TokenBucket::try_take(SteadyTime now) {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

int TokenBucket::available(SteadyTime now) {
  refill(now);
  return static_cast<int>(tokens_);
}

RateDecision FloodGuard::record(bool allowed, SteadyTime now) {
  if (allowed) {
    streak_ = 0;
    return RateDecision::kAllow;
  }
  if (streak_ == 0 || now - streak_start_ > policy_.window) {
    streak_ = 0;
    streak_start_ = now;
  }
  ++streak_;
  return streak_ >= policy_.disconnect_after ? RateDecision::kDisconnect : RateDecision::kReject;
}

}  // namespace nself::core
