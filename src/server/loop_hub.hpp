#pragma once

// One loop's share of the fan-out hub: which of ITS sessions are subscribed to
// each channel. Only the loop's own thread touches a LoopHub. Other threads reach it
// through Loop::push(), a mailbox of HubCommands applied on the loop thread in
// the order they were pushed; the protocol layer pushes them while holding its
// own lock, so every loop sees one channel's events in the same order.
//
// A delivery carries one framed buffer shared by every loop and every
// subscriber: an event is serialized and framed once per fan-out, never once
// per subscriber or per loop.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace nself::server {

class WsSession;

struct HubCommand {
  enum class Kind : std::uint8_t {
    kSubscribe,    // session joins channel_id's local subscribers (user_id: its user)
    kUnsubscribe,  // session leaves channel_id
    kDropChannel,  // every local subscriber of channel_id leaves it (channel deleted)
    kDeliver,      // frame to channel_id's subscribers, except user_id's ("" skips none)
    kDeliverAll,   // frame to every session that wants_announcements() (Loop::drain)
    kSendTo,       // frame to `target` alone, in order with the deliveries (Loop::drain)
  };
  Kind kind = Kind::kDeliver;
  std::string channel_id;
  WsSession* session = nullptr;
  std::string user_id;
  std::shared_ptr<const std::string> frame;
  // kSendTo: the session, kept alive until the command is drained (it may
  // close meanwhile: a closed session drops the frame).
  std::shared_ptr<WsSession> target;
};

class LoopHub {
 public:
  // Applies one command; returns the number of frames queued to sessions.
  std::uint64_t apply(const HubCommand& command);

 private:
  // channel id -> subscribed session -> its user id
  std::unordered_map<std::string, std::unordered_map<WsSession*, std::string>> channels_;
};

}  // namespace nself::server
