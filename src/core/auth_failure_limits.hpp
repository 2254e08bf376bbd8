#pragma once

// Failed admin authentication per client address (docs/SECURITY.md, "Admin
// API", A5-A7): a token bucket of `per_minute` failures per address; while
// it is empty the address is refused (HTTP 429) without its credentials
// being checked. And the audit log's share: the first failure of an address
// is written at once; the failures after it (refused ones included) are
// counted, and one summary row per address per minute says how many there
// were, so a flood writes a bounded number of rows.
//
// Bounded: at most `max_tracked` addresses are kept; failures of further
// addresses share one entry, kOverflowKey, with its own bucket and summary.
// An address is forgotten once its bucket is full and its minute passed
// without failures.
//
// Pure (time is passed in); not thread-safe (the admin API uses it on its
// one loop).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nself::core {

struct AuthFailureOptions {
  int per_minute = 10;  // 0: no limit (every failure is still summarized)
  std::size_t max_tracked = 1024;
  std::chrono::seconds window{60};
};

class AuthFailureLimits {
 public:
  using Time = std::chrono::steady_clock::time_point;
  static constexpr const char* kOverflowKey = "(other addresses)";

  explicit AuthFailureLimits(AuthFailureOptions options) : options_(options) {}

  // Before checking credentials: whole seconds to wait when `key` is
  // blocked (its failures used up), none when it may try.
  std::optional<long> blocked(const std::string& key, Time now);

  struct Recorded {
    std::string key;         // `key`, or kOverflowKey
    bool audit_now = false;  // write this failure's own row
  };
  // A failed attempt; `refused`: it was blocked (429) and used no token.
  Recorded failure(const std::string& key, Time now, bool refused);

  // One summary row: `count` failures of `key` not written one by one,
  // during the minute that began at `since`.
  struct Summary {
    std::string key;
    std::uint64_t count = 0;
    Time since{};
  };
  // Ends the minutes that are over (call about once a second): their
  // summaries, and forgets addresses with nothing left to count.
  std::vector<Summary> sweep(Time now);

  std::size_t tracked() const { return entries_.size(); }

 private:
  struct Entry {
    double tokens = 0;
    Time updated{};
    bool window_open = false;
    Time window_start{};
    std::uint64_t suppressed = 0;
  };
  void refill(Entry& entry, Time now) const;
  // `key`'s entry, or the overflow entry when max_tracked are kept.
  std::pair<const std::string, Entry>& entry_for(const std::string& key, Time now);

  AuthFailureOptions options_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace nself::core
