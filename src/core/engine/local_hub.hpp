#pragma once

// The loop's local hub (role L): channel id -> the connections of this loop
// subscribed to it, which a Deliver action carries as a snapshot. A channel
// with no subscriber here has no entry, so that many short-lived channels
// cost nothing. Copy-on-write: a snapshot shares the list, and a change while
// a snapshot is held copies it first, so that the driver fans out to the
// subscribers as they were when the event was decided.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine/actions.hpp"

namespace nself::core::engine {

class LocalHub {
 public:
  // Adds the connection once (a second subscribe of it changes nothing).
  void add(const std::string& channel_id, ConnectionId connection, const std::string& user_id);
  void remove(const std::string& channel_id, ConnectionId connection);
  // Drops the channel's entry; returns its subscribers, in the order they joined.
  std::vector<LocalSubscriber> drop(const std::string& channel_id);

  const std::vector<LocalSubscriber>& subscribers(const std::string& channel_id) const;
  // The subscribers now, shared (null when there are none).
  SubscriberSnapshot snapshot(const std::string& channel_id) const;
  bool has_subscribers(const std::string& channel_id) const;

 private:
  using List = std::shared_ptr<std::vector<LocalSubscriber>>;
  // The list, unshared (copied first when a snapshot holds it).
  static std::vector<LocalSubscriber>& writable(List& list);

  std::unordered_map<std::string, List> channels_;
  std::vector<LocalSubscriber> none_;
};

}  // namespace nself::core::engine
