#pragma once

// The name cache of a loop (role L): slug or UUID -> ChannelInfo, filled by
// ResolveChannel store reads, and the requests waiting for a read. Requests
// naming the same channel the same way wait behind one read and continue in
// the order they came, so a subscribe and a message sent after it reach the
// channel's owner in that order. A channel that does not exist is not cached
// (it may be created later). Access (private channels, can_send) is never
// decided from here: the channel's owner reads it afresh.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine/ids.hpp"
#include "core/engine/store_requests.hpp"
#include "core/protocol/requests.hpp"

namespace nself::core::engine {

// A request of a connection that needs its channel resolved first.
struct NameWaiter {
  ConnectionId connection = 0;
  protocol::Ref ref;
  protocol::Request request;
};

class ChannelNames {
 public:
  // Entries kept at most; past it the cache starts over (names are cheap to read again).
  static constexpr std::size_t kMaxEntries = 8192;

  const ChannelInfo* find(const std::string& name) const;
  // Cached under its slug and its id.
  void remember(const ChannelInfo& channel);
  // Deleted or archived (by its id or slug): the next use reads it again.
  void forget(const std::string& name);

  // Queues `waiter` behind the read of `name`. True when no read of it is in
  // flight: the caller asks one and passes its token to asked().
  bool wait(const std::string& name, NameWaiter waiter);
  // A read of `name` is in flight (a request naming it waits behind it).
  bool reading(const std::string& name) const { return waiting_.contains(name); }
  void asked(std::uint64_t token, const std::string& name);
  // The read `token` answered: its name and waiters, in order (none: not ours).
  struct Answered {
    std::string name;
    std::vector<NameWaiter> waiters;
  };
  std::optional<Answered> answered(std::uint64_t token);

 private:
  std::unordered_map<std::string, ChannelInfo> cache_;
  std::unordered_map<std::string, std::vector<NameWaiter>> waiting_;  // name -> waiters
  std::unordered_map<std::uint64_t, std::string> reads_;              // token -> name
};

}  // namespace nself::core::engine
