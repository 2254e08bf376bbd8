#include "server/admin_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "core/channel.hpp"
#include "core/protocol/raw_json.hpp"
#include "core/protocol/requests.hpp"
#include "core/time_format.hpp"
#include "server/admin_auth_guard.hpp"
#include "server/broadcast_scheduler.hpp"
#include "server/cleanup_job.hpp"
#include "server/loop.hpp"
#include "server/ws_session.hpp"
#include "store/maintenance.hpp"

namespace nself::server {

namespace json = boost::json;
using store::Timestamp;

namespace {

Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// Equal length and content, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

HttpResponse json_reply(http::status status, const json::value& body) {
  return json_response(status, json::serialize(body));
}

HttpResponse error_reply(http::status status, std::string_view code, std::string_view message) {
  return error_response(status, code, message);
}

HttpResponse unavailable_reply() {
  return error_reply(http::status::service_unavailable, "unavailable",
                     "the database is unavailable; retry later");
}

// The store queue was full (REALTIME_STORE_QUEUE_MAX): nothing was queued.
HttpResponse overloaded_reply(const Error& error) {
  auto response = error_reply(http::status::service_unavailable, "overloaded", error.message);
  response.set(http::field::retry_after, "1");
  return response;
}

json::value optional_time(const std::optional<Timestamp>& time) {
  if (!time) return nullptr;
  return json::value(core::format_iso8601(*time));
}

// JSON text from the store, as a value (an invalid one, which the store never
// returns, becomes null rather than failing the response).
json::value parse_json_text(const std::string& text) {
  json::error_code error;
  auto value = json::parse(text, error);
  return error ? json::value(nullptr) : value;
}

json::object channel_json(const store::Channel& channel) {
  json::object object;
  object["id"] = channel.id;
  object["name"] = channel.name;
  object["slug"] = channel.slug;
  object["description"] = channel.description;
  object["type"] = core::to_string(channel.type);
  object["max_members"] = channel.max_members;
  object["is_persistent"] = channel.is_persistent;
  object["metadata"] = parse_json_text(channel.metadata);
  object["created_at"] = core::format_iso8601(channel.created_at);
  object["created_by"] =
      channel.created_by ? json::value(*channel.created_by) : json::value(nullptr);
  object["archived_at"] = optional_time(channel.archived_at);
  object["last_seq"] = channel.last_seq;
  return object;
}

json::object member_json(const store::ChannelMember& member) {
  return json::object{{"user_id", member.user_id},
                      {"role", store::to_string(member.role)},
                      {"can_send", member.can_send},
                      {"can_invite", member.can_invite},
                      {"subscribed_at", core::format_iso8601(member.subscribed_at)},
                      {"last_read_at", optional_time(member.last_read_at)},
                      {"last_read_seq", member.last_read_seq}};
}

json::object message_json(const store::StoredMessage& message, std::string_view slug) {
  return json::object{{"id", message.id},
                      {"channel", slug},
                      {"seq", message.seq},
                      {"user_id", message.user_id},
                      {"content", parse_json_text(message.content)},
                      {"created_at", core::format_iso8601(message.sent_at)}};
}

// The request body as a JSON object, or an error response.
json::object broadcast_json(const store::Broadcast& broadcast) {
  auto optional_text = [](const std::optional<std::string>& text) {
    return text ? json::value(*text) : json::value(nullptr);
  };
  return json::object{{"id", broadcast.id},
                      {"channel_id", optional_text(broadcast.channel_id)},
                      {"user_id", optional_text(broadcast.user_id)},
                      {"event", broadcast.event_type},
                      {"payload", parse_json_text(broadcast.payload)},
                      {"created_at", core::format_iso8601(broadcast.created_at)},
                      {"scheduled_at", optional_time(broadcast.scheduled_at)},
                      {"expires_at", optional_time(broadcast.expires_at)},
                      {"sent_at", optional_time(broadcast.sent_at)}};
}

std::variant<json::object, HttpResponse> body_object(const HttpRequest& request) {
  json::error_code error;
  auto value = json::parse(request.body(), error);
  if (error || !value.is_object()) {
    return error_reply(http::status::bad_request, "bad_request", "the body must be a JSON object");
  }
  return std::move(value.as_object());
}

// Optional typed fields of a body; an error message when present with another type.
template <class T>
std::optional<std::string> read_field(const json::object& body, std::string_view key,
                                      std::optional<T>& out) {
  const json::value* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!value->is_string()) return "\"" + std::string(key) + "\" must be a string";
    out = std::string(value->as_string());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!value->is_bool()) return "\"" + std::string(key) + "\" must be a boolean";
    out = value->as_bool();
  } else {
    if (!value->is_int64()) return "\"" + std::string(key) + "\" must be an integer";
    out = value->as_int64();
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

struct AdminApi::State : std::enable_shared_from_this<AdminApi::State> {
  State(Server& server_in, RealtimeService& handler_in, StoreWorker& store_in, Metrics& metrics_in,
        const core::auth::JwtVerifier& verifier_in, AdminApiOptions options_in)
      : server(server_in),
        handler(handler_in),
        store(store_in),
        metrics(metrics_in),
        verifier(verifier_in),
        options(std::move(options_in)),
        peak_timer(server_in.io_context()),
        saved_peak(metrics_in.peak_connections()),
        auth_guard(std::make_shared<AdminAuthGuard>(
            server_in.io_context().get_executor(), options.auth_failures_per_minute,
            [this](std::optional<std::string> target, json::object details) {
              audit("api", "auth.failed", std::move(target), std::move(details));
            })) {}

  Server& server;
  RealtimeService& handler;
  StoreWorker& store;
  Metrics& metrics;
  const core::auth::JwtVerifier& verifier;
  AdminApiOptions options;
  boost::asio::steady_timer peak_timer;
  std::uint64_t saved_peak = 0;
  bool stopped = false;
  BroadcastScheduler* broadcasts = nullptr;    // set by AdminApi::set_broadcast_scheduler
  std::shared_ptr<AdminAuthGuard> auth_guard;  // failed authentications per address

  boost::asio::any_io_executor executor() { return server.io_context().get_executor(); }

  // ---- authentication

  // The actor ("admin" or the token's user) when the request carries admin
  // credentials; otherwise the error response (and the failure is audited).
  std::variant<std::string, HttpResponse> authenticate(const HttpRequest& request,
                                                       const std::string& address) {
    const auto secret = request["X-Realtime-Admin-Secret"];
    const auto authorization = request[http::field::authorization];
    constexpr std::string_view kBearer = "bearer ";
    if (!secret.empty()) {
      if (!options.admin_secret.empty() && constant_time_equal(secret, options.admin_secret)) {
        return std::string("admin");
      }
      return refuse(request, address, http::status::forbidden, "forbidden", "wrong admin secret");
    }
    if (authorization.size() > kBearer.size() &&
        boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer)) {
      auto claims = verifier.verify(authorization.substr(kBearer.size()), now_ms());
      if (!claims) {
        return refuse(request, address, http::status::unauthorized, claims.error().code,
                      claims.error().message);
      }
      if (!claims->is_admin) {
        return refuse(request, address, http::status::forbidden, "forbidden",
                      "the token's role is not admin");
      }
      return claims->user_id;
    }
    return refuse(request, address, http::status::unauthorized, "unauthorized",
                  "admin credentials required: X-Realtime-Admin-Secret or an admin Bearer token");
  }

  HttpResponse refuse(const HttpRequest& request, const std::string& address, http::status status,
                      std::string_view code, std::string_view message) {
    metrics.auth_failure();
    metrics.error(code);
    auth_guard->failed(address, request, code);  // audited at once or summarized
    HttpResponse response = error_reply(status, code, message);
    if (status == http::status::unauthorized) response.set(http::field::www_authenticate, "Bearer");
    return response;
  }

  void audit(std::string actor, std::string action, std::optional<std::string> target,
             json::object details = {}) {
    store::AuditEntry entry;
    entry.at = now_ms();
    entry.actor = std::move(actor);
    entry.action = std::move(action);
    entry.target = std::move(target);
    entry.details = json::serialize(details);
    store.submit([entry = std::move(entry)](store::Store* store) {
      if (store == nullptr) return;
      try {
        store->append_audit(entry);
      } catch (const store::StoreError& error) {
        spdlog::warn("audit log: {}", error.what());
      }
    });
  }

  // ---- running store work

  // Runs `work(store)` on the store thread; its result (an HttpResponse) is
  // sent from the loop. Store failures become 503.
  template <class Work>
  void on_store(Responder respond, Work work) {
    auto loop = executor();
    store.submit([loop, respond = std::move(respond), work = std::move(work)](store::Store* store) {
      auto response = std::make_shared<HttpResponse>();
      if (store == nullptr) {
        *response = unavailable_reply();
      } else {
        try {
          *response = work(*store);
        } catch (const store::StoreError& error) {
          spdlog::error("api: {}", error.what());
          *response = unavailable_reply();
        } catch (const std::exception& error) {
          *response =
              error_reply(http::status::internal_server_error, "internal_error", error.what());
        }
      }
      boost::asio::post(loop, [respond, response] { respond(std::move(*response)); });
    });
  }

  // Like on_store, with the channel named in the path resolved first (404
  // when none). `work(store, channel)` returns the response.
  template <class Work>
  void with_channel(const std::string& name, Responder respond, Work work) {
    on_store(std::move(respond), [name, work = std::move(work)](store::Store& store) {
      auto channel = store.find_channel(name);
      if (!channel) {
        return error_reply(http::status::not_found, "not_found",
                           "no channel with id or slug \"" + name + "\"");
      }
      return work(store, *channel);
    });
  }

  // ---- routes

  using Handler = std::function<void(const std::string& actor, const HttpRequest&,
                                     const PathParams&, Responder)>;

  void route(http::verb method, std::string pattern, Handler handler) {
    std::weak_ptr<State> weak = shared_from_this();
    server.router().add_async(
        method, std::move(pattern),
        [weak, handler = std::move(handler)](const HttpRequest& request, const PathParams& params,
                                             Responder respond) {
          auto self = weak.lock();
          if (!self) {
            respond(error_reply(http::status::service_unavailable, "unavailable", "stopping"));
            return;
          }
          if (auto refusal = self->auth_guard->check(params.client_address())) {
            respond(std::move(*refusal));
            return;
          }
          auto actor = self->authenticate(request, params.client_address());
          if (auto* refusal = std::get_if<HttpResponse>(&actor)) {
            respond(std::move(*refusal));
            return;
          }
          handler(std::get<std::string>(actor), request, params, std::move(respond));
        });
  }

  void register_routes();
  void stats(Responder respond);
  void connections(Responder respond);
  void cleanup(const std::string& actor, Responder respond);
  void create_channel(const std::string& actor, const HttpRequest& request, Responder respond);
  void delete_channel(const std::string& actor, const std::string& name, Responder respond);
  void archive_channel(const std::string& actor, const std::string& name, Responder respond);
  void add_member(const std::string& actor, const std::string& channel, const HttpRequest& request,
                  Responder respond);
  // A membership change the protocol layer must hear of: `respond`, after
  // `notice(handler, *channel_id, user_id)` on the loop thread when the
  // store work set `*channel_id` (it stays empty when nothing changed).
  using MemberNotice = void (*)(RealtimeService&, const std::string& channel_id,
                                const std::string& user_id);
  Responder noticing(std::shared_ptr<const std::string> channel_id, std::string user_id,
                     MemberNotice notice, Responder respond) {
    std::weak_ptr<State> weak = shared_from_this();
    return [weak, channel_id = std::move(channel_id), user_id = std::move(user_id), notice,
            respond = std::move(respond)](HttpResponse response) {
      auto self = weak.lock();
      if (self && !channel_id->empty()) notice(self->handler, *channel_id, user_id);
      respond(std::move(response));
    };
  }
  void remove_member(const std::string& actor, const std::string& channel,
                     const std::string& user_id, Responder respond);
  void publish(const std::string& actor, const std::string& channel, const HttpRequest& request,
               Responder respond);
  void history(const std::string& channel, const HttpRequest& request, Responder respond);
  void create_broadcast(const std::string& actor, const HttpRequest& request, Responder respond);

  void save_peak();
  void schedule_peak_save();
};

void AdminApi::State::register_routes() {
  // /metrics is not authenticated, like /health: it holds counts only. Keep the
  // port off the public internet or filter it in the proxy (docs/OPERATIONS.md).
  std::weak_ptr<State> weak = shared_from_this();
  server.router().add(http::verb::get, "/metrics", [weak](const HttpRequest& request) {
    auto self = weak.lock();
    HttpResponse response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.keep_alive());
    response.body() = self ? self->metrics.render(self->options.max_connections) : "";
    response.prepare_payload();
    return response;
  });

  route(http::verb::get, "/api/stats",
        [this](const std::string&, const HttpRequest&, const PathParams&, Responder respond) {
          stats(std::move(respond));
        });
  route(http::verb::get, "/api/connections",
        [this](const std::string&, const HttpRequest&, const PathParams&, Responder respond) {
          connections(std::move(respond));
        });
  route(http::verb::delete_, "/api/connections/{id}",
        [this](const std::string& actor, const HttpRequest&, const PathParams& params,
               Responder respond) {
          const auto found = handler.disconnect(params.get("id"));
          if (!found) {
            respond(error_reply(http::status::not_found, "not_found",
                                "no open connection \"" + params.get("id") + "\""));
            return;
          }
          const auto& info = *found;
          audit(actor, "connection.disconnect", info.id, json::object{{"user_id", info.user_id}});
          respond(json_reply(http::status::ok,
                             json::object{{"disconnected", info.id}, {"user_id", info.user_id}}));
        });
  route(
      http::verb::get, "/api/channels",
      [this](const std::string&, const HttpRequest& request, const PathParams&, Responder respond) {
        const auto all = query_param(split_target(request.target()).query, "all");
        const bool include_archived = all && (*all == "true" || *all == "1");
        on_store(std::move(respond), [include_archived](store::Store& store) {
          json::array channels;
          for (const auto& channel : store.list_channels(include_archived)) {
            channels.push_back(channel_json(channel));
          }
          return json_reply(http::status::ok, json::object{{"channels", std::move(channels)}});
        });
      });
  route(http::verb::post, "/api/channels",
        [this](const std::string& actor, const HttpRequest& request, const PathParams&,
               Responder respond) { create_channel(actor, request, std::move(respond)); });
  route(
      http::verb::get, "/api/channels/{channel}",
      [this](const std::string&, const HttpRequest&, const PathParams& params, Responder respond) {
        with_channel(
            params.get("channel"), std::move(respond),
            [](store::Store&, const store::Channel& channel) {
              return json_reply(http::status::ok, json::object{{"channel", channel_json(channel)}});
            });
      });
  route(http::verb::delete_, "/api/channels/{channel}",
        [this](const std::string& actor, const HttpRequest&, const PathParams& params,
               Responder respond) {
          delete_channel(actor, params.get("channel"), std::move(respond));
        });
  route(http::verb::post, "/api/channels/{channel}/archive",
        [this](const std::string& actor, const HttpRequest&, const PathParams& params,
               Responder respond) {
          archive_channel(actor, params.get("channel"), std::move(respond));
        });
  route(
      http::verb::get, "/api/channels/{channel}/members",
      [this](const std::string&, const HttpRequest&, const PathParams& params, Responder respond) {
        with_channel(params.get("channel"), std::move(respond),
                     [](store::Store& store, const store::Channel& channel) {
                       json::array members;
                       for (const auto& member : store.get_channel_members(channel.id)) {
                         members.push_back(member_json(member));
                       }
                       return json_reply(http::status::ok,
                                         json::object{{"channel", channel.slug},
                                                      {"members", std::move(members)}});
                     });
      });
  route(http::verb::post, "/api/channels/{channel}/members",
        [this](const std::string& actor, const HttpRequest& request, const PathParams& params,
               Responder respond) {
          add_member(actor, params.get("channel"), request, std::move(respond));
        });
  route(http::verb::delete_, "/api/channels/{channel}/members",
        [this](const std::string& actor, const HttpRequest& request, const PathParams& params,
               Responder respond) {
          auto user = query_param(split_target(request.target()).query, "user_id");
          if (!user || user->empty()) {
            respond(error_reply(http::status::bad_request, "bad_request",
                                "name the member: ?user_id=U"));
            return;
          }
          remove_member(actor, params.get("channel"), *user, std::move(respond));
        });
  route(http::verb::delete_, "/api/channels/{channel}/members/{user}",
        [this](const std::string& actor, const HttpRequest&, const PathParams& params,
               Responder respond) {
          remove_member(actor, params.get("channel"), params.get("user"), std::move(respond));
        });
  route(http::verb::post, "/api/channels/{channel}/messages",
        [this](const std::string& actor, const HttpRequest& request, const PathParams& params,
               Responder respond) {
          publish(actor, params.get("channel"), request, std::move(respond));
        });
  route(http::verb::get, "/api/channels/{channel}/messages",
        [this](const std::string&, const HttpRequest& request, const PathParams& params,
               Responder respond) { history(params.get("channel"), request, std::move(respond)); });
  route(
      http::verb::get, "/api/channels/{channel}/presence",
      [this](const std::string&, const HttpRequest&, const PathParams& params, Responder respond) {
        with_channel(params.get("channel"), std::move(respond),
                     [](store::Store& store, const store::Channel& channel) {
                       json::array members;
                       for (const auto& row : store.list_presence(channel.id)) {
                         members.push_back(
                             json::object{{"user_id", row.user_id},
                                          {"status", store::to_string(row.status)},
                                          {"meta", parse_json_text(row.metadata)},
                                          {"last_active", core::format_iso8601(row.updated_at)}});
                       }
                       return json_reply(http::status::ok,
                                         json::object{{"channel", channel.slug},
                                                      {"members", std::move(members)}});
                     });
      });
  route(http::verb::post, "/api/broadcasts",
        [this](const std::string& actor, const HttpRequest& request, const PathParams&,
               Responder respond) { create_broadcast(actor, request, std::move(respond)); });
  route(http::verb::get, "/api/broadcasts",
        [this](const std::string&, const HttpRequest&, const PathParams&, Responder respond) {
          on_store(std::move(respond), [](store::Store& store) {
            json::array items;
            for (const auto& broadcast : store.list_broadcasts()) {
              items.push_back(broadcast_json(broadcast));
            }
            return json_reply(http::status::ok, json::object{{"broadcasts", std::move(items)}});
          });
        });
  route(http::verb::delete_, "/api/broadcasts/{id}",
        [this](const std::string& actor, const HttpRequest&, const PathParams& params,
               Responder respond) {
          const std::string id = params.get("id");
          std::weak_ptr<State> weak = shared_from_this();
          on_store(std::move(respond), [weak, actor, id](store::Store& store) {
            if (!store.delete_broadcast(id)) {
              return error_reply(http::status::not_found, "not_found",
                                 "no broadcast \"" + id + "\"");
            }
            if (auto self = weak.lock()) self->audit(actor, "broadcast.delete", id, json::object{});
            return json_reply(http::status::ok, json::object{{"deleted", id}});
          });
        });
  route(http::verb::post, "/api/cleanup",
        [this](const std::string& actor, const HttpRequest&, const PathParams&, Responder respond) {
          cleanup(actor, std::move(respond));
        });
}

void AdminApi::State::stats(Responder respond) {
  // Live figures come from the loop, the rest from the database.
  std::set<std::string> users;
  std::uint64_t authenticated = 0;
  for (const auto& info : handler.connections()) {
    if (!info.authenticated) continue;
    ++authenticated;
    users.insert(info.user_id);
  }
  const std::uint64_t open = server.session_count();
  metrics.restore_peak(open);
  const std::uint64_t peak = metrics.peak_connections();
  const auto online = static_cast<std::int64_t>(users.size());
  on_store(std::move(respond), [open, peak, online](store::Store& store) {
    const auto figures = store.stats(now_ms());
    std::uint64_t stored_peak = 0;
    if (auto text = store.get_state(kPeakConnectionsKey)) {
      stored_peak = static_cast<std::uint64_t>(parse_integer(*text).value_or(0));
    }
    const std::uint64_t best = std::max(peak, stored_peak);
    if (best > stored_peak) store.set_state(kPeakConnectionsKey, std::to_string(best));
    return json_reply(http::status::ok, json::object{{"running", true},
                                                     {"active_connections", open},
                                                     {"total_channels", figures.channels},
                                                     {"messages_24h", figures.messages_24h},
                                                     {"online_users", online},
                                                     {"average_connection_seconds",
                                                      figures.average_connection_seconds},
                                                     {"peak_connections", best}});
  });
}

void AdminApi::State::connections(Responder respond) {
  std::vector<RealtimeService::ConnectionInfo> infos = handler.connections();
  std::sort(infos.begin(), infos.end(),
            [](const auto& a, const auto& b) { return a.connected_at < b.connected_at; });
  const auto system_now = std::chrono::system_clock::now();
  json::array items;
  for (const auto& info : infos) {
    json::array subscriptions;
    for (const auto& slug : info.subscriptions) subscriptions.push_back(json::value(slug));
    const auto last_activity =
        system_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(info.idle_for);
    items.push_back(json::object{
        {"id", info.id},
        {"user_id", info.authenticated ? json::value(info.user_id) : json::value(nullptr)},
        {"remote_address", info.remote_address},
        {"connected_at",
         core::format_iso8601(
             std::chrono::time_point_cast<std::chrono::milliseconds>(info.connected_at))},
        {"subscriptions", std::move(subscriptions)},
        {"last_activity",
         core::format_iso8601(
             std::chrono::time_point_cast<std::chrono::milliseconds>(last_activity))}});
  }
  respond(json_reply(http::status::ok, json::object{{"connections", std::move(items)}}));
}

void AdminApi::State::cleanup(const std::string& actor, Responder respond) {
  const auto policy = store::cleanup_policy(
      now_ms(), options.stale_connection_after, options.stale_presence_after,
      options.message_retention_days, options.audit_retention_days, options.cleanup_batch_rows);
  // In batches, each its own store job (server/cleanup_job.hpp).
  run_cleanup_job(store, policy, actor, [loop = executor(), respond](const auto* report) {
    auto response = std::make_shared<HttpResponse>(
        report == nullptr
            ? unavailable_reply()
            : json_reply(http::status::ok, json::object{{"removed", cleanup_removed_json(*report)},
                                                        {"batches", report->batches}}));
    boost::asio::post(loop, [respond, response] { respond(std::move(*response)); });
  });
}

void AdminApi::State::create_channel(const std::string& actor, const HttpRequest& request,
                                     Responder respond) {
  auto parsed = body_object(request);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*error));
    return;
  }
  const auto& body = std::get<json::object>(parsed);
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

void AdminApi::State::add_member(const std::string& actor, const std::string& channel_name,
                                 const HttpRequest& request, Responder respond) {
  auto parsed = body_object(request);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*error));
    return;
  }
  const auto& body = std::get<json::object>(parsed);
  std::optional<std::string> user_id, role_text;
  std::optional<bool> can_send, can_invite;
  for (auto problem :
       {read_field(body, "user_id", user_id), read_field(body, "role", role_text),
        read_field(body, "can_send", can_send), read_field(body, "can_invite", can_invite)}) {
    if (problem) {
      respond(error_reply(http::status::bad_request, "bad_request", *problem));
      return;
    }
  }
  if (!user_id || user_id->empty() || user_id->size() > 255) {
    respond(error_reply(http::status::bad_request, "bad_request",
                        "\"user_id\" is required (1-255 characters)"));
    return;
  }
  store::MemberRole role = store::MemberRole::kMember;
  if (role_text) {
    auto parsed_role = store::parse_member_role(*role_text);
    if (!parsed_role) {
      respond(error_reply(http::status::bad_request, "bad_request",
                          "\"role\" must be owner, admin or member"));
      return;
    }
    role = *parsed_role;
  }
  // Once stored, what the engine cached of the membership is read again
  // (loop thread), so that a can_send of false applies to the next send.
  auto changed_in = std::make_shared<std::string>();
  Responder notify = noticing(
      changed_in, *user_id,
      [](RealtimeService& service, const std::string& channel, const std::string& user) {
        service.member_changed(channel, user);
      },
      std::move(respond));
  with_channel(channel_name, std::move(notify),
               [=](store::Store& store, const store::Channel& channel) {
                 const bool existed = store.find_member(channel.id, *user_id).has_value();
                 store::ChannelMember member;
                 member.channel_id = channel.id;
                 member.user_id = *user_id;
                 member.role = role;
                 member.can_send = can_send.value_or(true);
                 member.can_invite = can_invite.value_or(role != store::MemberRole::kMember);
                 member.subscribed_at = now_ms();
                 store.upsert_member(member);
                 store.append_audit(store::AuditEntry{
                     0, now_ms(), actor, "member.add", channel.id,
                     json::serialize(
                         json::object{{"user_id", *user_id}, {"role", store::to_string(role)}})});
                 auto stored = store.find_member(channel.id, *user_id);
                 *changed_in = channel.id;
                 return json_reply(existed ? http::status::ok : http::status::created,
                                   json::object{{"channel", channel.slug},
                                                {"member", member_json(stored.value_or(member))}});
               });
}

void AdminApi::State::remove_member(const std::string& actor, const std::string& channel_name,
                                    const std::string& user_id, Responder respond) {
  // Once removed, the user's live subscriptions to the channel (when private)
  // end too (loop thread), so that it stops receiving what it may not read.
  auto removed_from = std::make_shared<std::string>();
  Responder revoke = noticing(
      removed_from, user_id,
      [](RealtimeService& service, const std::string& channel, const std::string& user) {
        service.revoke_member(channel, user);
      },
      std::move(respond));
  with_channel(
      channel_name, std::move(revoke), [=](store::Store& store, const store::Channel& channel) {
        if (!store.remove_member(channel.id, user_id)) {
          return error_reply(http::status::not_found, "not_found",
                             "\"" + user_id + "\" is not a member of " + channel.slug);
        }
        store.append_audit(store::AuditEntry{0, now_ms(), actor, "member.remove", channel.id,
                                             json::serialize(json::object{{"user_id", user_id}})});
        *removed_from = channel.id;
        return json_reply(http::status::ok,
                          json::object{{"channel", channel.slug}, {"removed", user_id}});
      });
}

void AdminApi::State::publish(const std::string& actor, const std::string& channel_name,
                              const HttpRequest& request, Responder respond) {
  auto parsed = body_object(request);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*error));
    return;
  }
  const auto& body = std::get<json::object>(parsed);
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
  auto parsed = body_object(request);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*error));
    return;
  }
  const auto& body = std::get<json::object>(parsed);
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

void AdminApi::State::save_peak() {
  const std::uint64_t peak = metrics.peak_connections();
  if (peak <= saved_peak) return;
  saved_peak = peak;
  store.submit([peak](store::Store* store) {
    if (store == nullptr) return;
    try {
      auto current = store->get_state(kPeakConnectionsKey);
      std::uint64_t stored = 0;
      if (current) stored = static_cast<std::uint64_t>(parse_integer(*current).value_or(0));
      if (peak > stored) store->set_state(kPeakConnectionsKey, std::to_string(peak));
    } catch (const store::StoreError& error) {
      spdlog::warn("cannot save the peak connection count: {}", error.what());
    }
  });
}

void AdminApi::State::schedule_peak_save() {
  peak_timer.expires_after(options.peak_save_interval);
  std::weak_ptr<State> weak = shared_from_this();
  peak_timer.async_wait([weak](const boost::system::error_code& error) {
    auto self = weak.lock();
    if (error || !self || self->stopped) return;
    self->save_peak();
    self->schedule_peak_save();
  });
}

AdminApi::AdminApi(Server& server, RealtimeService& handler, StoreWorker& store, Metrics& metrics,
                   const core::auth::JwtVerifier& verifier, AdminApiOptions options)
    : state_(
          std::make_shared<State>(server, handler, store, metrics, verifier, std::move(options))) {
  state_->register_routes();
}

AdminApi::~AdminApi() {
  state_->stopped = true;
  state_->auth_guard->stop();
  // The last figure, written once the loop no longer runs (the store worker still does).
  state_->save_peak();
}

void AdminApi::set_broadcast_scheduler(BroadcastScheduler* scheduler) {
  state_->broadcasts = scheduler;
}

void AdminApi::start() {
  state_->schedule_peak_save();
  state_->auth_guard->start();
}

}  // namespace nself::server
