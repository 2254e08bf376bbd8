#include "server/loop_hub.hpp"

#include "server/ws_session.hpp"

namespace nself::server {

std::uint64_t LoopHub::apply(const HubCommand& command) {
  using Kind = HubCommand::Kind;
  switch (command.kind) {
    case Kind::kSubscribe:
      channels_[command.channel_id][command.session] = command.user_id;
      return 0;
    case Kind::kUnsubscribe: {
      auto found = channels_.find(command.channel_id);
      if (found == channels_.end()) return 0;
      found->second.erase(command.session);
      // Empty channels are dropped so that many short-lived channels cost nothing.
      if (found->second.empty()) channels_.erase(found);
      return 0;
    }
    case Kind::kDropChannel:
      channels_.erase(command.channel_id);
      return 0;
    case Kind::kDeliver: {
      auto found = channels_.find(command.channel_id);
      if (found == channels_.end()) return 0;
      std::uint64_t delivered = 0;
      for (const auto& [session, user_id] : found->second) {
        if (!command.user_id.empty() && user_id == command.user_id) continue;
        session->send_frame(command.frame);
        ++delivered;
      }
      return delivered;
    }
    case Kind::kDeliverAll:
    case Kind::kSendTo:
      return 0;  // Loop::drain delivers these
  }
  return 0;
}

}  // namespace nself::server
