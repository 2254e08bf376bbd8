// RealtimeHandler: delivery of broadcasts and the replay of system
// announcements on authentication (the "broadcasts" block of
// realtime_handler.hpp). Public calls take the handler's lock.

#include <chrono>

#include "core/protocol/events.hpp"
#include "core/ws/frame_codec.hpp"
#include "server/loop.hpp"
#include "server/realtime_handler.hpp"
#include "server/ws_session.hpp"

namespace nself::server {
namespace {

namespace protocol = core::protocol;
namespace ws = core::ws;

std::string broadcast_text(const store::Broadcast& broadcast,
                           std::optional<std::string_view> channel_slug) {
  return protocol::broadcast_event(protocol::BroadcastView{
      broadcast.id, broadcast.channel_id ? channel_slug : std::nullopt, broadcast.event_type,
      broadcast.payload, broadcast.created_at, broadcast.expires_at});
}

}  // namespace

std::size_t RealtimeHandler::deliver_broadcast(const store::Broadcast& broadcast,
                                               std::optional<std::string_view> channel_slug) {
  const std::string event =
      broadcast_text(broadcast, channel_slug ? channel_slug : broadcast.channel_id);
  // Framed once; every loop and every queue shares the same bytes.
  auto frame = std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, event));
  std::lock_guard lock(mutex_);
  // ---- cluster mode: the claiming node delivers it to the other nodes too
  cluster_publish("broadcast", broadcast.channel_id.value_or(""), 0, event);
  if (broadcast.channel_id) return fan_out_frame(*broadcast.channel_id, std::move(frame));
  const std::size_t delivered = authenticated_count_;
  for (Loop* loop : loops_) {
    HubCommand command;
    command.kind = HubCommand::Kind::kDeliverAll;
    command.frame = frame;
    loop->push(std::move(command));
  }
  if (metrics_ != nullptr) metrics_->deliveries(delivered);
  return delivered;
}

void RealtimeHandler::set_announcements(std::vector<store::Broadcast> announcements) {
  std::lock_guard lock(mutex_);
  announcements_ = std::move(announcements);
}

void RealtimeHandler::broadcasts_on_authenticated(WsSession& session) {
  ++authenticated_count_;
  session.mark_authenticated();  // no longer counts against the unauthenticated caps
  session.set_wants_announcements(true);
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  for (const store::Broadcast& announcement : announcements_) {
    if (announcement.channel_id) continue;  // only system announcements are replayed
    if (announcement.expires_at && *announcement.expires_at <= now) continue;
    session.send_text(broadcast_text(announcement, std::nullopt));
  }
}

void RealtimeHandler::broadcasts_on_closed(WsSession& session) {
  --authenticated_count_;
  session.set_wants_announcements(false);
}

}  // namespace nself::server
