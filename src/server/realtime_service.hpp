#pragma once

// What the rest of the server asks of the real-time protocol layer, whichever
// implements it: the admin HTTP API (admin_api.hpp), the broadcast scheduler
// (broadcast_scheduler.hpp), the console's stats feed (stats_feed.hpp) and
// the CLI's server runner. Two implement it: RealtimeHandler (one lock over
// every decision; cluster mode) and engine::EngineHandler (the sharded pure
// engine, src/server/engine/engine_handler.hpp).
//
// Threading: set_* before the server runs; the rest from the control loop
// (loop 0, where HTTP routes and the scheduler's deliveries run) unless an
// implementation says it accepts any thread.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace nself::server {

class Metrics;
class StatsFeed;

class RealtimeService {
 public:
  virtual ~RealtimeService() = default;

  struct ConnectionInfo {
    std::string id;
    std::string user_id;  // empty while not authenticated
    bool authenticated = false;
    std::string remote_address;
    std::chrono::system_clock::time_point connected_at;
    std::chrono::steady_clock::duration idle_for{};  // since the last frame received
    std::vector<std::string> subscriptions;          // channel slugs, sorted
  };
  struct PublishTarget {
    std::string channel_id;
    std::string slug;
    core::ChannelType type = core::ChannelType::kPublic;
    bool persistent = true;
  };

  // Counters for /metrics; may be null (the default).
  virtual void set_metrics(Metrics* metrics) = 0;
  // The console's stats feed (null: none); it must outlive its use here.
  virtual void set_stats_feed(StatsFeed* feed) = 0;

  // Every open session, in no particular order.
  virtual std::vector<ConnectionInfo> connections() const = 0;
  // Closes the open session `id` with 4000 "disconnected by an administrator"
  // (on its loop, soon); what it was, or none when there is no such session.
  virtual std::optional<ConnectionInfo> disconnect(const std::string& id) = 0;
  // Publishes a message from a backend: persistent channels go through the
  // group commit (fan-out after commit), ephemeral ones fan out at once.
  // `done` runs on `executor` with the stored/sent message, or the store's
  // error: "unavailable" (the database failed) or "overloaded" (the store
  // queue was full); either way nothing was stored or sent.
  virtual void publish(const PublishTarget& channel, std::string user_id, std::string content_json,
                       boost::asio::any_io_executor executor,
                       std::function<void(Result<store::StoredMessage>)> done) = 0;
  // The channel was deleted: every subscriber gets {"type":"channel_deleted",
  // "channel":slug} and loses the subscription. Returns how many were told.
  virtual std::size_t notify_channel_deleted(const std::string& channel_id,
                                             const std::string& slug) = 0;
  // `user_id` is no longer a member of the channel: when it is private, the
  // user's sessions (admins excepted) are unsubscribed from it and told with
  // {"type":"unsubscribed","channel":slug}. Returns how many sessions.
  virtual std::size_t revoke_member(const std::string& channel_id, const std::string& user_id) = 0;
  // The API added `user_id` to the channel or changed the membership
  // (can_send, role): what the server cached of it is read again on the
  // user's next request. (The lock engine keeps what it read at subscribe
  // until the next subscribe: a no-op there.)
  virtual void member_changed(const std::string& channel_id, const std::string& user_id) = 0;
  // The channel was archived: it is read-only from now on (sends get forbidden).
  virtual void notify_channel_archived(const std::string& channel_id) = 0;

  // Delivers a broadcast (claimed by a BroadcastScheduler): with a channel, to
  // the sessions subscribed to it, named `channel_slug` in the event; without
  // one (a system announcement), to every authenticated session. Framed once,
  // the buffer shared. Returns how many sessions got it.
  virtual std::size_t deliver_broadcast(const store::Broadcast& broadcast,
                                        std::optional<std::string_view> channel_slug) = 0;
  // The system announcements (sent, no channel) replayed to a session when it
  // authenticates, unless expired by then; replaces the previous set.
  virtual void set_announcements(std::vector<store::Broadcast> announcements) = 0;
};

}  // namespace nself::server
