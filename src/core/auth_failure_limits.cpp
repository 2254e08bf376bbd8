#include "core/auth_failure_limits.hpp"

#include <algorithm>
#include <cmath>

namespace nself::core {

void AuthFailureLimits::refill(Entry& entry, Time now) const {
  if (options_.per_minute <= 0 || now <= entry.updated) return;
  const double rate = options_.per_minute / 60.0;
  const double elapsed = std::chrono::duration<double>(now - entry.updated).count();
  entry.tokens = std::min<double>(options_.per_minute, entry.tokens + elapsed * rate);
  entry.updated = now;
}

std::pair<const std::string, AuthFailureLimits::Entry>& AuthFailureLimits::entry_for(
    const std::string& key, Time now) {
  if (auto found = entries_.find(key); found != entries_.end()) return *found;
  const std::string& use =
      entries_.size() >= options_.max_tracked ? std::string(kOverflowKey) : key;
  auto [it, inserted] = entries_.try_emplace(use);
  if (inserted) {
    it->second.tokens = options_.per_minute;
    it->second.updated = now;
  }
  return *it;
}

std::optional<long> AuthFailureLimits::blocked(const std::string& key, Time now) {
  if (options_.per_minute <= 0) return std::nullopt;
  auto found = entries_.find(key);
  if (found == entries_.end() && entries_.size() >= options_.max_tracked) {
    found = entries_.find(kOverflowKey);
  }
  if (found == entries_.end()) return std::nullopt;
  Entry& entry = found->second;
  refill(entry, now);
  if (entry.tokens >= 1.0) return std::nullopt;
  const double wait = (1.0 - entry.tokens) / (options_.per_minute / 60.0);
  return std::max(1L, static_cast<long>(std::ceil(wait)));
}

AuthFailureLimits::Recorded AuthFailureLimits::failure(const std::string& key, Time now,
                                                       bool refused) {
  auto& [use, entry] = entry_for(key, now);
  refill(entry, now);
  if (!refused && options_.per_minute > 0) entry.tokens = std::max(0.0, entry.tokens - 1.0);
  Recorded recorded{use, false};
  if (!entry.window_open) {
    entry.window_open = true;
    entry.window_start = now;
    entry.suppressed = 0;
    recorded.audit_now = true;
  } else {
    ++entry.suppressed;
  }
  return recorded;
}

std::vector<AuthFailureLimits::Summary> AuthFailureLimits::sweep(Time now) {
  std::vector<Summary> summaries;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    refill(entry, now);
    if (entry.window_open && now - entry.window_start >= options_.window) {
      if (entry.suppressed > 0) {
        summaries.push_back(Summary{it->first, entry.suppressed, entry.window_start});
        // A flood goes on: its next failures are counted from now, not written.
        entry.window_start = now;
        entry.suppressed = 0;
      } else {
        entry.window_open = false;
      }
    }
    const bool full = options_.per_minute <= 0 || entry.tokens >= options_.per_minute;
    it = !entry.window_open && full ? entries_.erase(it) : std::next(it);
  }
  return summaries;
}

}  // namespace nself::core
