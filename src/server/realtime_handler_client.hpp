#pragma once

// RealtimeHandler's per-connection state (private to the handler's files:
// realtime_handler*.cpp), owned by the session.

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/protocol/requests.hpp"
#include "core/rate_limit.hpp"
#include "server/realtime_handler.hpp"
#include "server/ws_session.hpp"

namespace nself::server {

struct RealtimeHandler::Client : SessionContext {
  bool authenticated = false;
  bool recorded = false;  // realtime.connections has a row for it
  core::auth::Claims claims;
  std::chrono::steady_clock::time_point auth_deadline;
  std::unordered_map<std::string, ChannelRef> subscriptions;  // channel id -> channel
  // The upgrade's User-Agent, kept until authentication writes it to
  // realtime.connections (an idle authenticated connection keeps none).
  std::unique_ptr<std::string> user_agent;
  // ---- limits
  bool counted = false;          // counted in users_ (released on close)
  bool cluster_counted = false;  // cluster mode: counted in Redis (released on close)
  int pending_subscribes = 0;    // subscribes sent to the store, not answered yet
  core::FloodGuard flood;
  // ---- cluster mode: admitted on this node, waiting for Redis's count
  // before auth_ok (`claims` is set, `authenticated` not yet); the requests
  // that arrive meanwhile wait in order (at most kMaxWaitingRequests).
  bool admitting = false;
  std::vector<std::pair<core::protocol::Ref, core::protocol::Request>> waiting;
  // Lookup of subscriptions by the name the client uses (slug or id).
  const ChannelRef* find(const std::string& name) const {
    auto by_id = subscriptions.find(name);
    if (by_id != subscriptions.end()) return &by_id->second;
    for (const auto& [id, channel] : subscriptions) {
      if (channel.slug == name) return &channel;
    }
    return nullptr;
  }
};

}  // namespace nself::server
