// The admin API's route table: each /api route authenticated first (route()),
// then handed to its resource's method (channels.cpp, members.cpp, ...);
// /metrics without authentication.

#include "server/api/admin_state.hpp"

namespace nself::server {

using namespace api;

void AdminApi::State::route(http::verb method, std::string pattern, Handler handler) {
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
               Responder respond) { disconnect(actor, params.get("id"), std::move(respond)); });
  route(http::verb::get, "/api/channels",
        [this](const std::string&, const HttpRequest& request, const PathParams&,
               Responder respond) { list_channels(request, std::move(respond)); });
  route(http::verb::post, "/api/channels",
        [this](const std::string& actor, const HttpRequest& request, const PathParams&,
               Responder respond) { create_channel(actor, request, std::move(respond)); });
  route(http::verb::get, "/api/channels/{channel}",
        [this](const std::string&, const HttpRequest&, const PathParams& params,
               Responder respond) { get_channel(params.get("channel"), std::move(respond)); });
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
  route(http::verb::get, "/api/channels/{channel}/members",
        [this](const std::string&, const HttpRequest&, const PathParams& params,
               Responder respond) { list_members(params.get("channel"), std::move(respond)); });
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
  route(http::verb::get, "/api/channels/{channel}/presence",
        [this](const std::string&, const HttpRequest&, const PathParams& params,
               Responder respond) { presence(params.get("channel"), std::move(respond)); });
  route(http::verb::post, "/api/broadcasts",
        [this](const std::string& actor, const HttpRequest& request, const PathParams&,
               Responder respond) { create_broadcast(actor, request, std::move(respond)); });
  route(http::verb::get, "/api/broadcasts",
        [this](const std::string&, const HttpRequest&, const PathParams&, Responder respond) {
          list_broadcasts(std::move(respond));
        });
  route(
      http::verb::delete_, "/api/broadcasts/{id}",
      [this](const std::string& actor, const HttpRequest&, const PathParams& params,
             Responder respond) { delete_broadcast(actor, params.get("id"), std::move(respond)); });
  route(http::verb::post, "/api/cleanup",
        [this](const std::string& actor, const HttpRequest&, const PathParams&, Responder respond) {
          cleanup(actor, std::move(respond));
        });
}

}  // namespace nself::server
