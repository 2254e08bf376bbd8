#pragma once

// Role L: the connections of this shard's loop (docs/ENGINE_DESIGN.md).
// Owns each connection's claims, token expiry, auth deadline, subscriptions
// and pending subscribes; the loop's local hub (channel id -> subscribed
// connections here), the name cache (slug or id -> ChannelInfo), the system
// announcements. Turns client requests into messages for the user's and the
// channel's owners; answers what needs nobody else (ping, errors, refresh).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine/context.hpp"
#include "core/engine/inputs.hpp"

namespace nself::core::engine {

// What the admin API lists.
struct ConnectionSummary {
  ConnectionId connection = 0;
  std::string public_id;
  std::string user_id;  // empty while not authenticated
  bool authenticated = false;
  std::string remote_address;
  std::vector<std::string> subscriptions;  // slugs, sorted
};

class Connections {
 public:
  Connections();
  ~Connections();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  void opened(ConnectionOpened& input, Context& ctx);
  void frame(ClientFrame& input, Context& ctx);
  void closed(const ConnectionClosed& input, Context& ctx);
  void store_done(StoreReply& reply, Context& ctx);
  void tick(Context& ctx);

  void on(ConnectionAdmitted& message, Context& ctx);
  void on(RequestRefused& message, Context& ctx);
  void on(RequestDecided& message, Context& ctx);
  void on(ToConnection& message, Context& ctx);
  void on(JoinOutcome& message, Context& ctx);
  void on(ChannelEventForLoop& message, Context& ctx);
  void on(SubscriptionLost& message, Context& ctx);

  void on(const AdminDisconnect& input, Context& ctx);
  void on(const AdminChannelDeleted& input, Context& ctx);
  void on(const AdminChannelArchived& input, Context& ctx);
  void on(const AdminMemberRevoked& input, Context& ctx);
  void on(const AdminBroadcast& input, Context& ctx);
  void on(AdminAnnouncements& input, Context& ctx);

  // The driver's fan-out of a Deliver action; empty when none.
  const std::vector<LocalSubscriber>& local_subscribers(const std::string& channel_id) const;
  std::vector<ConnectionSummary> describe() const;
  std::size_t size() const;
  std::size_t authenticated() const;
  // Whether the connection gets DeliverAuthenticated events (auth_ok sent).
  bool is_authenticated(ConnectionId connection) const;
  // Whether the connection authenticated with an admin role (the console's stats feed).
  bool is_admin(ConnectionId connection) const;

  // Defined in connections_state.hpp, for the engine's own files only.
  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace nself::core::engine
