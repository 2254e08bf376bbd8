#include "core/connection_limits.hpp"

#include <algorithm>
#include <cmath>

namespace nself::core {

double ConnectionLimits::capacity() const {
  // One second's worth of connects, at least one.
  return std::max(options_.connects_per_second, 1.0);
}

void ConnectionLimits::refill(Entry& entry, Time now) const {
  if (options_.connects_per_second <= 0) return;
  if (now > entry.updated) {
    const double elapsed = std::chrono::duration<double>(now - entry.updated).count();
    entry.tokens = std::min(capacity(), entry.tokens + elapsed * options_.connects_per_second);
    entry.updated = now;
  }
}

void ConnectionLimits::maybe_forget(const std::string& key, Entry& entry, Time now) {
  if (entry.open > 0 || entry.unauthenticated > 0 || entry.waiting > 0) return;
  refill(entry, now);
  if (options_.connects_per_second <= 0 || entry.tokens >= capacity()) entries_.erase(key);
}

void ConnectionLimits::prune(Time now) {
  // First what carries no information (idle, bucket full), then, if that
  // freed less than a quarter, every idle address's rate state.
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    refill(entry, now);
    const bool idle = entry.open == 0 && entry.unauthenticated == 0;
    it = idle && (options_.connects_per_second <= 0 || entry.tokens >= capacity())
             ? entries_.erase(it)
             : std::next(it);
  }
  if (entries_.size() * 4 <= options_.max_tracked * 3) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool idle = it->second.open == 0 && it->second.unauthenticated == 0;
    it = idle ? entries_.erase(it) : std::next(it);
  }
}

ConnectionRefusal ConnectionLimits::open(const std::string& key, Time now) {
  last_seen_ = std::max(last_seen_, now);
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    if (entries_.size() >= options_.max_tracked) prune(now);
    found = entries_.emplace(key, Entry{0, 0, 0, capacity(), now}).first;
  }
  Entry& entry = found->second;
  refill(entry, now);
  if (options_.max_per_address > 0 && entry.open >= options_.max_per_address) {
    return ConnectionRefusal::kTooManyFromAddress;
  }
  if (options_.connects_per_second > 0) {
    if (entry.tokens < 1.0) {
      maybe_forget(key, entry, now);
      return ConnectionRefusal::kConnectRate;
    }
    entry.tokens -= 1.0;
  }
  ++entry.open;
  return ConnectionRefusal::kNone;
}

void ConnectionLimits::close(const std::string& key) {
  auto found = entries_.find(key);
  if (found == entries_.end() || found->second.open == 0) return;
  --found->second.open;
  maybe_forget(key, found->second, last_seen_);
}

ConnectionRefusal ConnectionLimits::begin_unauthenticated(const std::string& key) {
  if (options_.max_unauthenticated > 0 && unauthenticated_ >= options_.max_unauthenticated) {
    return ConnectionRefusal::kTooManyUnauthenticated;
  }
  auto found = entries_.find(key);
  if (found == entries_.end())
    found = entries_.emplace(key, Entry{0, 0, 0, capacity(), last_seen_}).first;
  if (options_.max_unauthenticated_per_address > 0 &&
      found->second.unauthenticated >= options_.max_unauthenticated_per_address) {
    return ConnectionRefusal::kTooManyUnauthenticatedAddress;
  }
  ++found->second.unauthenticated;
  ++unauthenticated_;
  return ConnectionRefusal::kNone;
}

ConnectionRefusal ConnectionLimits::begin_waiting(const std::string& key) {
  auto found = entries_.find(key);
  if (found == entries_.end())
    found = entries_.emplace(key, Entry{0, 0, 0, capacity(), last_seen_}).first;
  if (options_.max_waiting_per_address > 0 &&
      found->second.waiting >= options_.max_waiting_per_address) {
    return ConnectionRefusal::kTooManyUnauthenticatedAddress;
  }
  ++found->second.waiting;
  return ConnectionRefusal::kNone;
}

void ConnectionLimits::end_waiting(const std::string& key) {
  auto found = entries_.find(key);
  if (found == entries_.end() || found->second.waiting == 0) return;
  --found->second.waiting;
  maybe_forget(key, found->second, last_seen_);
}

void ConnectionLimits::end_unauthenticated(const std::string& key) {
  auto found = entries_.find(key);
  if (found == entries_.end() || found->second.unauthenticated == 0) return;
  --found->second.unauthenticated;
  --unauthenticated_;
  maybe_forget(key, found->second, last_seen_);
}

long ConnectionLimits::retry_after_seconds(const std::string& key, Time now) const {
  auto found = entries_.find(key);
  if (found == entries_.end() || options_.connects_per_second <= 0) return 1;
  Entry entry = found->second;
  refill(entry, now);
  if (entry.tokens >= 1.0) return 1;
  const double wait = (1.0 - entry.tokens) / options_.connects_per_second;
  return std::max(1L, static_cast<long>(std::ceil(wait)));
}

}  // namespace nself::core
