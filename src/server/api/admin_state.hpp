#pragma once

// AdminApi::State: what the admin HTTP API's handlers share (the server, the
// store worker, the options) and one method per route. The methods live one
// file per resource in server/api/ (channels.cpp, members.cpp, ...); this
// header is private to them and server/admin_api.cpp.

#include <spdlog/spdlog.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/auth/jwt_verifier.hpp"
#include "server/admin_api.hpp"
#include "server/admin_auth_guard.hpp"
#include "server/api/replies.hpp"
#include "server/http_router.hpp"
#include "server/metrics.hpp"
#include "server/realtime_service.hpp"
#include "server/server.hpp"
#include "server/store_worker.hpp"
#include "store/store.hpp"

namespace nself::server {

struct AdminApi::State : std::enable_shared_from_this<AdminApi::State> {
  State(Server& server_in, RealtimeService& handler_in, StoreWorker& store_in, Metrics& metrics_in,
        const core::auth::JwtVerifier& verifier_in, AdminApiOptions options_in);

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

  // ---- authentication (api/authentication.cpp)

  // The actor ("admin" or the token's user) when the request carries admin
  // credentials; otherwise the error response (and the failure is audited).
  std::variant<std::string, HttpResponse> authenticate(const HttpRequest& request,
                                                       const std::string& address);
  HttpResponse refuse(const HttpRequest& request, const std::string& address, http::status status,
                      std::string_view code, std::string_view message);
  void audit(std::string actor, std::string action, std::optional<std::string> target,
             boost::json::object details = {});

  // ---- running store work (below)

  // Runs `work(store)` on the store thread; its result (an HttpResponse) is
  // sent from the loop. Store failures become 503.
  template <class Work>
  void on_store(Responder respond, Work work);
  // Like on_store, with the channel named in the path resolved first (404
  // when none). `work(store, channel)` returns the response.
  template <class Work>
  void with_channel(const std::string& name, Responder respond, Work work);

  // ---- routes (api/routes.cpp)

  using Handler = std::function<void(const std::string& actor, const HttpRequest&,
                                     const PathParams&, Responder)>;
  // Adds an /api route: the handler runs once the request is authenticated.
  void route(http::verb method, std::string pattern, Handler handler);
  void register_routes();

  // ---- live figures and maintenance (api/stats.cpp, connections.cpp, maintenance.cpp)

  void stats(Responder respond);
  void connections(Responder respond);
  void disconnect(const std::string& actor, const std::string& id, Responder respond);
  void cleanup(const std::string& actor, Responder respond);

  // ---- channels (api/channels.cpp)

  void list_channels(const HttpRequest& request, Responder respond);
  void get_channel(const std::string& name, Responder respond);
  void create_channel(const std::string& actor, const HttpRequest& request, Responder respond);
  void delete_channel(const std::string& actor, const std::string& name, Responder respond);
  void archive_channel(const std::string& actor, const std::string& name, Responder respond);

  // ---- members and presence (api/members.cpp, presence.cpp)

  void list_members(const std::string& channel, Responder respond);
  void add_member(const std::string& actor, const std::string& channel, const HttpRequest& request,
                  Responder respond);
  void remove_member(const std::string& actor, const std::string& channel,
                     const std::string& user_id, Responder respond);
  // A membership change the protocol layer must hear of: `respond`, after
  // `notice(handler, *channel_id, user_id)` on the loop thread when the
  // store work set `*channel_id` (it stays empty when nothing changed).
  using MemberNotice = void (*)(RealtimeService&, const std::string& channel_id,
                                const std::string& user_id);
  Responder noticing(std::shared_ptr<const std::string> channel_id, std::string user_id,
                     MemberNotice notice, Responder respond);
  void presence(const std::string& channel, Responder respond);

  // ---- messages (api/messages.cpp)

  void publish(const std::string& actor, const std::string& channel, const HttpRequest& request,
               Responder respond);
  void history(const std::string& channel, const HttpRequest& request, Responder respond);

  // ---- broadcasts (api/broadcasts.cpp)

  void create_broadcast(const std::string& actor, const HttpRequest& request, Responder respond);
  void list_broadcasts(Responder respond);
  void delete_broadcast(const std::string& actor, const std::string& id, Responder respond);

  // ---- the peak connection count (api/peak_save.cpp)

  void save_peak();
  void schedule_peak_save();
};

template <class Work>
void AdminApi::State::on_store(Responder respond, Work work) {
  auto loop = executor();
  store.submit([loop, respond = std::move(respond), work = std::move(work)](store::Store* store) {
    auto response = std::make_shared<HttpResponse>();
    if (store == nullptr) {
      *response = api::unavailable_reply();
    } else {
      try {
        *response = work(*store);
      } catch (const store::StoreError& error) {
        spdlog::error("api: {}", error.what());
        *response = api::unavailable_reply();
      } catch (const std::exception& error) {
        *response =
            api::error_reply(http::status::internal_server_error, "internal_error", error.what());
      }
    }
    boost::asio::post(loop, [respond, response] { respond(std::move(*response)); });
  });
}

template <class Work>
void AdminApi::State::with_channel(const std::string& name, Responder respond, Work work) {
  on_store(std::move(respond), [name, work = std::move(work)](store::Store& store) {
    auto channel = store.find_channel(name);
    if (!channel) {
      return api::error_reply(http::status::not_found, "not_found",
                              "no channel with id or slug \"" + name + "\"");
    }
    return work(store, *channel);
  });
}

}  // namespace nself::server
