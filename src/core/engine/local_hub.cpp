#include "core/engine/local_hub.hpp"

#include <algorithm>

namespace nself::core::engine {

void LocalHub::add(const std::string& channel_id, ConnectionId connection,
                   const std::string& user_id) {
  std::vector<LocalSubscriber>& subscribers = channels_[channel_id];
  const bool present =
      std::any_of(subscribers.begin(), subscribers.end(),
                  [&](const LocalSubscriber& entry) { return entry.connection == connection; });
  if (!present) subscribers.push_back(LocalSubscriber{connection, user_id});
}

void LocalHub::remove(const std::string& channel_id, ConnectionId connection) {
  auto found = channels_.find(channel_id);
  if (found == channels_.end()) return;
  std::erase_if(found->second,
                [&](const LocalSubscriber& entry) { return entry.connection == connection; });
  if (found->second.empty()) channels_.erase(found);
}

std::vector<LocalSubscriber> LocalHub::drop(const std::string& channel_id) {
  auto found = channels_.find(channel_id);
  if (found == channels_.end()) return {};
  std::vector<LocalSubscriber> subscribers = std::move(found->second);
  channels_.erase(found);
  return subscribers;
}

const std::vector<LocalSubscriber>& LocalHub::subscribers(const std::string& channel_id) const {
  auto found = channels_.find(channel_id);
  return found == channels_.end() ? none_ : found->second;
}

bool LocalHub::has_subscribers(const std::string& channel_id) const {
  return channels_.contains(channel_id);
}

}  // namespace nself::core::engine
