#include "core/engine/local_hub.hpp"

#include <algorithm>
#include <utility>

namespace nself::core::engine {

std::vector<LocalSubscriber>& LocalHub::writable(List& list) {
  if (!list) {
    list = std::make_shared<std::vector<LocalSubscriber>>();
  } else if (list.use_count() > 1) {
    list = std::make_shared<std::vector<LocalSubscriber>>(*list);
  }
  return *list;
}

void LocalHub::add(const std::string& channel_id, ConnectionId connection,
                   const std::string& user_id) {
  List& list = channels_[channel_id];
  if (list && std::any_of(list->begin(), list->end(), [&](const LocalSubscriber& entry) {
        return entry.connection == connection;
      })) {
    return;
  }
  writable(list).push_back(LocalSubscriber{connection, user_id});
}

void LocalHub::remove(const std::string& channel_id, ConnectionId connection) {
  auto found = channels_.find(channel_id);
  if (found == channels_.end()) return;
  const auto is_it = [&](const LocalSubscriber& entry) { return entry.connection == connection; };
  if (std::none_of(found->second->begin(), found->second->end(), is_it)) return;
  std::vector<LocalSubscriber>& subscribers = writable(found->second);
  std::erase_if(subscribers, is_it);
  if (subscribers.empty()) channels_.erase(found);
}

std::vector<LocalSubscriber> LocalHub::drop(const std::string& channel_id) {
  auto found = channels_.find(channel_id);
  if (found == channels_.end()) return {};
  std::vector<LocalSubscriber> subscribers = *found->second;  // a snapshot may share it
  channels_.erase(found);
  return subscribers;
}

const std::vector<LocalSubscriber>& LocalHub::subscribers(const std::string& channel_id) const {
  auto found = channels_.find(channel_id);
  return found == channels_.end() ? none_ : *found->second;
}

SubscriberSnapshot LocalHub::snapshot(const std::string& channel_id) const {
  auto found = channels_.find(channel_id);
  if (found == channels_.end()) return nullptr;
  return found->second;
}

bool LocalHub::has_subscribers(const std::string& channel_id) const {
  return channels_.contains(channel_id);
}

}  // namespace nself::core::engine
