#pragma once

// Role C: the channels this shard owns (docs/ENGINE_DESIGN.md). For each: the
// subscribed connections per loop, the distinct users (max_members), the
// ephemeral seq, presence, typing, and the access cache (membership and
// can_send per connection, trusted for access_ttl, dropped by archive,
// delete and the API's membership changes). Subscribes complete here, in the store's order with the
// channel's commits, so that a subscriber's `seq` and replay line up with
// the events it is sent afterwards.

#include <cstddef>
#include <memory>
#include <string>

#include "core/engine/context.hpp"
#include "core/engine/inputs.hpp"

namespace nself::core::engine {

class Channels {
 public:
  Channels();
  ~Channels();
  Channels(const Channels&) = delete;
  Channels& operator=(const Channels&) = delete;

  void on(JoinChannel& message, Context& ctx);
  void on(LeaveChannel& message, Context& ctx);
  void on(HistoryOfChannel& message, Context& ctx);
  void on(ReadOfChannel& message, Context& ctx);
  void on(MessageToChannel& message, Context& ctx);
  void on(TypingToChannel& message, Context& ctx);
  void on(PresenceToChannels& message, Context& ctx);
  void on(Activity& message, Context& ctx);
  void on(AdminPublish& input, Context& ctx);
  void on(const AdminChannelDeleted& input, Context& ctx);
  void on(const AdminChannelArchived& input, Context& ctx);
  void on(const AdminMemberRevoked& input, Context& ctx);
  void on(const AdminMemberChanged& input, Context& ctx);
  void on(RecheckSubscription& message, Context& ctx);
  void store_done(StoreReply& reply, Context& ctx);
  void tick(Context& ctx);

  // Subscribed connections on every loop (tests, status).
  std::size_t subscriber_count(const std::string& channel_id) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace nself::core::engine
