#pragma once

// The loop's local hub (role L): channel id -> the connections of this loop
// subscribed to it, which the driver reads for a Deliver action. A channel
// with no subscriber here has no entry, so that many short-lived channels
// cost nothing.

#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine/connections.hpp"

namespace nself::core::engine {

class LocalHub {
 public:
  // Adds the connection once (a second subscribe of it changes nothing).
  void add(const std::string& channel_id, ConnectionId connection, const std::string& user_id);
  void remove(const std::string& channel_id, ConnectionId connection);
  // Drops the channel's entry; returns its subscribers, in the order they joined.
  std::vector<LocalSubscriber> drop(const std::string& channel_id);

  const std::vector<LocalSubscriber>& subscribers(const std::string& channel_id) const;
  bool has_subscribers(const std::string& channel_id) const;

 private:
  std::unordered_map<std::string, std::vector<LocalSubscriber>> channels_;
  std::vector<LocalSubscriber> none_;
};

}  // namespace nself::core::engine
