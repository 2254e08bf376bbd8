// AdminApi's life: building the shared state (server/api/admin_state.hpp),
// registering the routes, starting and stopping the periodic peak save. The
// handlers live in server/api/, one file per resource.

#include "server/admin_api.hpp"

#include "server/api/admin_state.hpp"

namespace nself::server {

AdminApi::State::State(Server& server_in, RealtimeService& handler_in, StoreWorker& store_in,
                       Metrics& metrics_in, const core::auth::JwtVerifier& verifier_in,
                       AdminApiOptions options_in)
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
          [this](std::optional<std::string> target, boost::json::object details) {
            audit("api", "auth.failed", std::move(target), std::move(details));
          })) {}

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
