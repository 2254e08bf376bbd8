// Role L: the admin operations as this loop sees them (what
// RealtimeHandler's disconnect, notify_channel_deleted, revoke_member,
// notify_channel_archived, deliver_broadcast and set_announcements did to
// the connections).

#include <memory>
#include <utility>

#include "core/engine/connections.hpp"
#include "core/engine/connections_state.hpp"

namespace nself::core::engine {

namespace {

// Closed by an administrator (DELETE /api/connections/{id}); docs/PROTOCOL.md.
constexpr int kClosedByAdmin = 4000;

}  // namespace

void Connections::on(const AdminDisconnect& input, Context& ctx) {
  ConnectionRecord* connection = state_->find(input.connection);
  if (connection == nullptr || connection->closing()) return;
  state_->close(*connection, kClosedByAdmin, "disconnected by an administrator", ctx);
}

void Connections::on(const AdminChannelDeleted& input, Context& ctx) {
  // Told one by one rather than with a Deliver: the hub entry is gone by the
  // time the driver would read it. The channel's rows went with it and its
  // owner forgets it on its own: no LeaveChannel.
  for (const LocalSubscriber& subscriber : state_->hub.drop(input.channel_id)) {
    ConnectionRecord* connection = state_->find(subscriber.connection);
    if (connection == nullptr) continue;
    connection->erase_subscription(input.channel_id);
    connection->activity.erase(input.channel_id);
    if (!connection->closing()) reply(*connection, ChannelDeleted{input.slug}, ctx);
  }
  state_->names.forget(input.channel_id);
  state_->names.forget(input.slug);
}

void Connections::on(const AdminChannelArchived& input, Context& /*ctx*/) {
  // Read-only from now on; the owner refuses sends, this keeps L's copies true.
  state_->names.forget(input.channel_id);
  for (const LocalSubscriber& subscriber : state_->hub.subscribers(input.channel_id)) {
    ConnectionRecord* connection = state_->find(subscriber.connection);
    if (connection == nullptr) continue;
    for (ChannelInfo& channel : connection->subscriptions) {
      if (channel.id == input.channel_id) channel.archived = true;
    }
  }
}

void Connections::on(const AdminMemberRevoked& input, Context& ctx) {
  std::vector<ConnectionId> revoked;
  for (const LocalSubscriber& subscriber : state_->hub.subscribers(input.channel_id)) {
    if (subscriber.user_id == input.user_id) revoked.push_back(subscriber.connection);
  }
  for (ConnectionId id : revoked) {
    ConnectionRecord* connection = state_->find(id);
    if (connection == nullptr || connection->claims.is_admin) continue;
    const ChannelInfo* subscribed = connection->subscription(input.channel_id);
    // Public and presence channels need no membership: nothing to take back.
    if (subscribed == nullptr || subscribed->type != ChannelType::kPrivate) continue;
    const ChannelInfo channel = *subscribed;
    leave(*state_, *connection, channel, ctx);  // what the client's own unsubscribe does
    if (!connection->closing()) reply(*connection, Unsubscribed{{}, channel.slug, "removed"}, ctx);
  }
}

void Connections::on(SubscriptionLost& message, Context& ctx) {
  ConnectionRecord* connection = state_->find(message.connection);
  // Refreshed to admin again meanwhile, or gone: nothing to take back.
  if (connection == nullptr || connection->closing() || connection->claims.is_admin) return;
  const ChannelInfo* subscribed = connection->subscription(message.channel_id);
  if (subscribed == nullptr) return;
  const ChannelInfo channel = *subscribed;
  leave(*state_, *connection, channel, ctx);
  reply(*connection, Unsubscribed{{}, channel.slug, message.reason}, ctx);
}

void Connections::on(const AdminBroadcast& input, Context& ctx) {
  auto event = std::make_shared<const Event>(input.broadcast);
  if (input.channel_id) {
    if (!state_->hub.has_subscribers(*input.channel_id)) return;
    ctx.emit(Deliver{*input.channel_id, std::move(event), std::nullopt,
                     state_->hub.snapshot(*input.channel_id)});
    return;
  }
  if (authenticated() == 0) return;
  ctx.emit(DeliverAuthenticated{std::move(event)});
}

void Connections::on(AdminAnnouncements& input, Context& /*ctx*/) {
  state_->announcements = std::move(input.announcements);
}

}  // namespace nself::core::engine
