#pragma once

// Per-address connection limits (docs/SECURITY.md, "Connections and
// addresses"): how many connections one client address holds, how many of
// them are WebSocket sessions not yet authenticated (also server-wide), and
// how fast it opens new ones (a token bucket). Addresses are limit keys
// (IpAddress::limit_key).
//
// Bounded: an address is kept only while it holds a connection or its bucket
// is refilling; past `max_tracked` addresses, those holding no connection are
// forgotten (their rate state with them), so an attacker rotating addresses
// costs at most max_tracked entries plus one per open connection.
//
// Pure (time is passed in); not thread-safe: the server wraps it in a mutex.

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace nself::core {

struct ConnectionLimitOptions {
  std::size_t max_per_address = 0;                  // connections; 0: no limit
  std::size_t max_unauthenticated_per_address = 0;  // 0: no limit
  std::size_t max_unauthenticated = 0;              // over every address; 0: no limit
  std::size_t max_waiting_per_address = 0;          // not sent a request yet; 0: no limit
  double connects_per_second = 0;                   // per address; 0: no limit
  std::size_t max_tracked = 65'536;                 // addresses with rate state only
};

enum class ConnectionRefusal {
  kNone,
  kTooManyFromAddress,             // max_per_address
  kConnectRate,                    // connects_per_second
  kTooManyUnauthenticatedAddress,  // max_unauthenticated_per_address
  kTooManyUnauthenticated,         // max_unauthenticated (server-wide)
};

class ConnectionLimits {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit ConnectionLimits(ConnectionLimitOptions options) : options_(options) {}

  // A new connection from `key` at `now`: counted (kNone; close() it later)
  // or refused, and then not counted.
  ConnectionRefusal open(const std::string& key, Time now);
  void close(const std::string& key);
  // One of `key`'s open connections becomes an unauthenticated WebSocket
  // session: counted (kNone; end_unauthenticated() it later) or refused.
  ConnectionRefusal begin_unauthenticated(const std::string& key);
  void end_unauthenticated(const std::string& key);
  // One of `key`'s open connections has not sent a complete request yet
  // (idle or slow sockets): counted against max_waiting_per_address, or
  // refused; end_waiting() at its first
  // request or its close.
  ConnectionRefusal begin_waiting(const std::string& key);
  void end_waiting(const std::string& key);

  // Whole seconds until `key` may open a connection again (at least 1).
  long retry_after_seconds(const std::string& key, Time now) const;

  std::size_t unauthenticated() const { return unauthenticated_; }
  std::size_t tracked() const { return entries_.size(); }
  const ConnectionLimitOptions& options() const { return options_; }

 private:
  struct Entry {
    std::size_t open = 0;
    std::size_t unauthenticated = 0;
    std::size_t waiting = 0;
    double tokens = 0;
    Time updated{};
  };
  double capacity() const;
  void refill(Entry& entry, Time now) const;
  // Drops `key`'s entry when it holds nothing and its bucket is full.
  void maybe_forget(const std::string& key, Entry& entry, Time now);
  // Makes room when max_tracked addresses are kept (see the header comment).
  void prune(Time now);

  ConnectionLimitOptions options_;
  std::unordered_map<std::string, Entry> entries_;
  std::size_t unauthenticated_ = 0;
  Time last_seen_{};  // the latest `now` given
};

}  // namespace nself::core
