// /api/channels/{channel}/messages: publishing a message as the admin (or a
// named user), checked like a client's, through the group commit for a
// persistent channel; and reading the channel's history page by page.

#include "core/protocol/raw_json.hpp"
#include "core/protocol/requests.hpp"
#include "server/api/admin_state.hpp"
#include "server/api/json_views.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

void AdminApi::State::publish(const std::string& actor, const std::string& channel_name,
                              const HttpRequest& request, Responder respond) {
  const auto parsed = body_or_reply(request, respond);
  if (!parsed) return;
  const auto& body = *parsed;
  const json::value* content = body.if_contains("content");
  if (content == nullptr) {
    respond(error_reply(http::status::bad_request, "bad_request", "\"content\" is required"));
    return;
  }
  std::optional<std::string> user_id;
  if (auto problem = read_field(body, "user_id", user_id)) {
    respond(error_reply(http::status::bad_request, "bad_request", *problem));
    return;
  }
  std::string sender = user_id.value_or(actor);
  if (sender.empty() || sender.size() > 255) {
    respond(error_reply(http::status::bad_request, "bad_request",
                        "\"user_id\" must have 1-255 characters"));
    return;
  }
  std::string content_json = json::serialize(*content);
  if (core::protocol::detail::contains_nul_escape(content_json)) {  // as a client's message
    respond(error_reply(http::status::bad_request, "bad_request",
                        "\"content\" must not contain the character U+0000 (\\u0000)"));
    return;
  }
  if (content_json.size() > options.max_message_bytes) {
    respond(error_reply(http::status::payload_too_large, "payload_too_large",
                        "\"content\" is larger than REALTIME_MAX_MESSAGE_BYTES (" +
                            std::to_string(options.max_message_bytes) + " bytes)"));
    return;
  }
  std::weak_ptr<State> weak = shared_from_this();
  auto loop = executor();
  store.submit([weak, loop, channel_name, sender, content_json, respond](store::Store* store) {
    std::optional<store::Channel> channel;
    std::optional<HttpResponse> failure;
    if (store == nullptr) {
      failure = unavailable_reply();
    } else {
      try {
        channel = store->find_channel(channel_name);
        if (!channel) {
          failure = error_reply(http::status::not_found, "not_found",
                                "no channel with id or slug \"" + channel_name + "\"");
        } else if (channel->archived_at) {
          failure = error_reply(http::status::forbidden, "forbidden",
                                "channel \"" + channel->slug + "\" is archived (read-only)");
        }
      } catch (const store::StoreError& error) {
        spdlog::error("api: publish: {}", error.what());
        failure = unavailable_reply();
      }
    }
    boost::asio::post(
        loop, [weak, loop, channel, failure, sender, content_json, respond]() mutable {
          auto self = weak.lock();
          if (!self) return;
          if (failure) {
            respond(std::move(*failure));
            return;
          }
          RealtimeService::PublishTarget target{channel->id, channel->slug, channel->type,
                                                channel->is_persistent};
          self->handler.publish(
              target, sender, content_json, loop,
              [respond, slug = channel->slug](Result<store::StoredMessage> stored) {
                if (!stored) {
                  respond(stored.error().code == "overloaded" ? overloaded_reply(stored.error())
                                                              : unavailable_reply());
                  return;
                }
                respond(json_reply(http::status::created,
                                   json::object{{"message", message_json(*stored, slug)}}));
              });
        });
  });
}

void AdminApi::State::history(const std::string& channel_name, const HttpRequest& request,
                              Responder respond) {
  const auto query = split_target(request.target()).query;
  std::int64_t limit = 50;
  std::optional<std::int64_t> before;
  if (auto text = query_param(query, "limit")) {
    auto value = parse_integer(*text);
    if (!value || *value < 1 || *value > core::protocol::kMaxHistory) {
      respond(error_reply(http::status::bad_request, "bad_request",
                          "limit must be an integer from 1 to 1000"));
      return;
    }
    limit = *value;
  }
  if (auto text = query_param(query, "before")) {
    auto value = parse_integer(*text);
    if (!value || *value < 1) {
      respond(error_reply(http::status::bad_request, "bad_request",
                          "before must be a positive sequence number"));
      return;
    }
    before = *value;
  }
  with_channel(channel_name, std::move(respond),
               [limit, before](store::Store& store, const store::Channel& channel) {
                 auto messages = store.history(channel.id, before, static_cast<int>(limit) + 1);
                 const bool has_more = messages.size() > static_cast<std::size_t>(limit);
                 if (has_more) messages.erase(messages.begin());
                 json::array items;
                 for (const auto& message : messages)
                   items.push_back(message_json(message, channel.slug));
                 return json_reply(http::status::ok, json::object{{"channel", channel.slug},
                                                                  {"messages", std::move(items)},
                                                                  {"has_more", has_more}});
               });
}

}  // namespace nself::server
