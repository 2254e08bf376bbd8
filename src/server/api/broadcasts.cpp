// /api/broadcasts: scheduling an event for a channel or every connection
// (handed to the BroadcastScheduler), listing the stored ones and deleting
// one. Creations and deletions are audited.

#include <algorithm>
#include <utility>

#include "core/time_format.hpp"
#include "server/api/admin_state.hpp"
#include "server/api/json_views.hpp"
#include "server/broadcast_scheduler.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;
using store::Timestamp;

// POST /api/broadcasts {"channel": S|null, "event": E, "payload": ANY,
// "scheduled_at": ISO8601?, "expires_at": ISO8601?}: stored and handed to the
// BroadcastScheduler, which delivers it when due (at once when not scheduled).
void AdminApi::State::create_broadcast(const std::string& actor, const HttpRequest& request,
                                       Responder respond) {
  if (broadcasts == nullptr) {
    respond(error_reply(http::status::service_unavailable, "unavailable",
                        "broadcasts are not enabled on this server"));
    return;
  }
  const auto parsed = body_or_reply(request, respond);
  if (!parsed) return;
  const auto& body = *parsed;
  auto bad = [&](const std::string& message) {
    respond(error_reply(http::status::bad_request, "bad_request", message));
  };
  store::Broadcast broadcast;
  if (const auto* channel = body.if_contains("channel"); channel && !channel->is_null()) {
    if (!channel->is_string() || channel->as_string().empty()) {
      return bad("\"channel\" must be a channel id or slug, or null for every connection");
    }
    broadcast.channel_id = std::string(channel->as_string());
  }
  const auto* event = body.if_contains("event");
  if (event == nullptr || !event->is_string() || event->as_string().empty() ||
      event->as_string().size() > 128) {
    return bad("\"event\" must be a string of 1-128 characters");
  }
  broadcast.event_type = std::string(event->as_string());
  const auto* payload = body.if_contains("payload");
  if (payload == nullptr) return bad("\"payload\" is required (any JSON value)");
  broadcast.payload = json::serialize(*payload);
  if (broadcast.payload.size() > options.max_message_bytes) {
    respond(error_reply(http::status::payload_too_large, "payload_too_large",
                        "\"payload\" is larger than REALTIME_MAX_MESSAGE_BYTES"));
    return;
  }
  for (const auto& [key, target] :
       {std::pair<const char*, std::optional<Timestamp>*>{"scheduled_at", &broadcast.scheduled_at},
        std::pair<const char*, std::optional<Timestamp>*>{"expires_at", &broadcast.expires_at}}) {
    const auto* value = body.if_contains(key);
    if (value == nullptr || value->is_null()) continue;
    const auto time = value->is_string() ? core::parse_iso8601(value->as_string()) : std::nullopt;
    if (!time) return bad(std::string("\"") + key + "\" must be an ISO-8601 time with a zone");
    *target = *time;
  }
  const Timestamp due = std::max(now_ms(), broadcast.scheduled_at.value_or(now_ms()));
  if (broadcast.expires_at && *broadcast.expires_at <= due) {
    return bad("\"expires_at\" must be after the delivery time: it would never be delivered");
  }
  broadcast.user_id = actor;
  std::weak_ptr<State> weak = shared_from_this();
  broadcasts->schedule(
      std::move(broadcast), [weak, actor, respond](Result<store::Broadcast> result) {
        if (!result) {
          const bool missing = result.error().code == "not_found";
          respond(error_reply(missing ? http::status::not_found : http::status::service_unavailable,
                              result.error().code, result.error().message));
          return;
        }
        if (auto self = weak.lock()) {
          self->audit(actor, "broadcast.create", result->id,
                      json::object{{"event", result->event_type}});
        }
        respond(json_reply(http::status::created,
                           json::object{{"broadcast", broadcast_json(*result)}}));
      });
}

void AdminApi::State::list_broadcasts(Responder respond) {
  on_store(std::move(respond), [](store::Store& store) {
    json::array items;
    for (const auto& broadcast : store.list_broadcasts()) {
      items.push_back(broadcast_json(broadcast));
    }
    return json_reply(http::status::ok, json::object{{"broadcasts", std::move(items)}});
  });
}

void AdminApi::State::delete_broadcast(const std::string& actor, const std::string& id,
                                       Responder respond) {
  std::weak_ptr<State> weak = shared_from_this();
  on_store(std::move(respond), [weak, actor, id](store::Store& store) {
    if (!store.delete_broadcast(id)) {
      return error_reply(http::status::not_found, "not_found", "no broadcast \"" + id + "\"");
    }
    if (auto self = weak.lock()) self->audit(actor, "broadcast.delete", id, json::object{});
    return json_reply(http::status::ok, json::object{{"deleted", id}});
  });
}

}  // namespace nself::server
