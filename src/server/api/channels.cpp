// /api/channels: list, show, create, delete and archive channels. Changes are
// audited; deleting and archiving also tell the channel's live subscribers.

#include "core/channel.hpp"
#include "server/api/admin_state.hpp"
#include "server/api/json_views.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

void AdminApi::State::list_channels(const HttpRequest& request, Responder respond) {
  const auto all = query_param(split_target(request.target()).query, "all");
  const bool include_archived = all && (*all == "true" || *all == "1");
  on_store(std::move(respond), [include_archived](store::Store& store) {
    json::array channels;
    for (const auto& channel : store.list_channels(include_archived)) {
      channels.push_back(channel_json(channel));
    }
    return json_reply(http::status::ok, json::object{{"channels", std::move(channels)}});
  });
}

void AdminApi::State::get_channel(const std::string& name, Responder respond) {
  with_channel(name, std::move(respond), [](store::Store&, const store::Channel& channel) {
    return json_reply(http::status::ok, json::object{{"channel", channel_json(channel)}});
  });
}

void AdminApi::State::create_channel(const std::string& actor, const HttpRequest& request,
                                     Responder respond) {
  const auto parsed = body_or_reply(request, respond);
  if (!parsed) return;
  const auto& body = *parsed;
  std::optional<std::string> name, slug, type, description;
  std::optional<std::int64_t> max_members;
  std::optional<bool> persistent;
  for (auto problem :
       {read_field(body, "name", name), read_field(body, "slug", slug),
        read_field(body, "type", type), read_field(body, "description", description),
        read_field(body, "max_members", max_members), read_field(body, "persistent", persistent)}) {
    if (problem) {
      respond(error_reply(http::status::bad_request, "bad_request", *problem));
      return;
    }
  }
  if (!name || name->empty()) {
    respond(error_reply(http::status::bad_request, "bad_request", "\"name\" is required"));
    return;
  }
  store::NewChannel channel;
  channel.name = *name;
  channel.slug = slug ? *slug : core::slugify(*name);
  if (!core::is_valid_slug(channel.slug)) {
    respond(error_reply(
        http::status::bad_request, "bad_request",
        "invalid slug \"" + channel.slug + "\": use 1-64 characters of a-z, 0-9 and '-'"));
    return;
  }
  if (type) {
    auto parsed_type = core::parse_channel_type(*type);
    if (!parsed_type) {
      respond(error_reply(http::status::bad_request, "bad_request",
                          "\"type\" must be public, private or presence"));
      return;
    }
    channel.type = *parsed_type;
  }
  if (max_members) {
    if (*max_members < 1 || *max_members > 1'000'000) {
      respond(error_reply(http::status::bad_request, "bad_request",
                          "\"max_members\" must be between 1 and 1000000"));
      return;
    }
    channel.max_members = static_cast<int>(*max_members);
  }
  if (const json::value* metadata = body.if_contains("metadata")) {
    if (!metadata->is_object()) {
      respond(
          error_reply(http::status::bad_request, "bad_request", "\"metadata\" must be an object"));
      return;
    }
    channel.metadata = json::serialize(*metadata);
  }
  channel.description = description.value_or("");
  channel.is_persistent = persistent.value_or(true);
  channel.created_by = actor;
  on_store(std::move(respond), [channel, actor](store::Store& store) {
    auto created = store.create_channel(channel, now_ms());
    if (!created) {
      return error_reply(http::status::conflict, created.error().code,
                         "a channel with slug \"" + channel.slug + "\" already exists");
    }
    store.append_audit(store::AuditEntry{0, now_ms(), actor, "channel.create", created->id,
                                         json::serialize(json::object{{"slug", created->slug}})});
    return json_reply(http::status::created, json::object{{"channel", channel_json(*created)}});
  });
}

void AdminApi::State::delete_channel(const std::string& actor, const std::string& name,
                                     Responder respond) {
  std::weak_ptr<State> weak = shared_from_this();
  auto loop = executor();
  store.submit([weak, loop, name, actor, respond](store::Store* store) {
    std::optional<store::Channel> deleted;
    std::optional<HttpResponse> failure;
    if (store == nullptr) {
      failure = unavailable_reply();
    } else {
      try {
        deleted = store->find_channel(name);
        if (!deleted || !store->delete_channel(deleted->id)) {
          deleted.reset();
          failure = error_reply(http::status::not_found, "not_found",
                                "no channel with id or slug \"" + name + "\"");
        } else {
          store->append_audit(
              store::AuditEntry{0, now_ms(), actor, "channel.delete", deleted->id,
                                json::serialize(json::object{{"slug", deleted->slug}})});
        }
      } catch (const store::StoreError& error) {
        spdlog::error("api: delete channel: {}", error.what());
        failure = unavailable_reply();
      }
    }
    boost::asio::post(loop, [weak, respond, deleted, failure]() mutable {
      auto self = weak.lock();
      if (!self) return;
      if (failure) {
        respond(std::move(*failure));
        return;
      }
      // Deleted in the database: now tell its subscribers (loop thread).
      const std::size_t told = self->handler.notify_channel_deleted(deleted->id, deleted->slug);
      respond(json_reply(http::status::ok, json::object{{"deleted", channel_json(*deleted)},
                                                        {"subscribers_notified", told}}));
    });
  });
}

void AdminApi::State::archive_channel(const std::string& actor, const std::string& name,
                                      Responder respond) {
  std::weak_ptr<State> weak = shared_from_this();
  // Tell the hub once stored, then respond (loop thread).
  Responder then = [weak, respond](HttpResponse response) {
    auto self = weak.lock();
    if (self && response.result() == http::status::ok) {
      json::error_code error;
      auto body = json::parse(response.body(), error);
      if (!error) {
        self->handler.notify_channel_archived(std::string(body.at("channel").at("id").as_string()));
      }
    }
    respond(std::move(response));
  };
  with_channel(name, std::move(then), [actor](store::Store& store, store::Channel channel) {
    if (!channel.archived_at) {
      const auto at = now_ms();
      store.archive_channel(channel.id, at);
      channel.archived_at = at;
      store.append_audit(store::AuditEntry{0, at, actor, "channel.archive", channel.id,
                                           json::serialize(json::object{{"slug", channel.slug}})});
    }
    return json_reply(http::status::ok, json::object{{"channel", channel_json(channel)}});
  });
}

}  // namespace nself::server
