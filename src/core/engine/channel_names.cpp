#include "core/engine/channel_names.hpp"

#include <utility>

namespace nself::core::engine {

const ChannelInfo* ChannelNames::find(const std::string& name) const {
  auto found = cache_.find(name);
  return found == cache_.end() ? nullptr : &found->second;
}

void ChannelNames::remember(const ChannelInfo& channel) {
  if (cache_.size() + 2 > kMaxEntries) cache_.clear();
  cache_[channel.id] = channel;
  cache_[channel.slug] = channel;
}

void ChannelNames::forget(const std::string& name) {
  auto found = cache_.find(name);
  if (found == cache_.end()) return;
  const ChannelInfo channel = std::move(found->second);
  cache_.erase(channel.id);
  cache_.erase(channel.slug);
}

bool ChannelNames::wait(const std::string& name, NameWaiter waiter) {
  auto [entry, first] = waiting_.try_emplace(name);
  entry->second.push_back(std::move(waiter));
  return first;
}

void ChannelNames::asked(std::uint64_t token, const std::string& name) {
  reads_[token] = name;
}

std::optional<ChannelNames::Answered> ChannelNames::answered(std::uint64_t token) {
  auto read = reads_.find(token);
  if (read == reads_.end()) return std::nullopt;
  Answered answer{std::move(read->second), {}};
  reads_.erase(read);
  if (auto waiting = waiting_.find(answer.name); waiting != waiting_.end()) {
    answer.waiters = std::move(waiting->second);
    waiting_.erase(waiting);
  }
  return answer;
}

}  // namespace nself::core::engine
