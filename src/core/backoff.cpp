#include "core/backoff.hpp"

#include <algorithm>
#include <cassert>

namespace nself::core {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(initial), max_(max) {
  assert(initial.count() >= 1 && max >= initial);
}

std::chrono::milliseconds Backoff::next(double jitter) {
  jitter = std::clamp(jitter, 0.0, 0.999999);
  // Doubling stops once the ceiling is reached, so the shift never overflows.
  long long ceiling = initial_.count();
  for (int step = 0; step < attempts_ && ceiling < max_.count(); ++step) ceiling *= 2;
  ceiling = std::min<long long>(ceiling, max_.count());
  ++attempts_;
  const long long half = ceiling / 2;
  const auto delay = half + static_cast<long long>(jitter * static_cast<double>(ceiling - half));
  return std::chrono::milliseconds(std::max<long long>(delay, 1));
}

}  // namespace nself::core
