#pragma once

// The server's HTTP API for backends and the CLI (docs/API.md): /api/... and
// /metrics on the WebSocket port. Every /api route needs admin credentials:
// the header X-Realtime-Admin-Secret (REALTIME_ADMIN_SECRET, compared in
// constant time) or "Authorization: Bearer <JWT>" whose role is admin. No
// credentials: 401; a token that does not verify: 401; a wrong secret or a
// non-admin token: 403. Errors are {"error":{"code","message"}}.
//
// Database work runs on the StoreWorker thread; responses are sent from the
// loop thread. Admin operations, failed authentications and channel changes
// are written to realtime.audit_log.
//
// Thread safety: construct before Server::run(); afterwards everything runs on
// the loop thread.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/auth/jwt_verifier.hpp"
#include "server/metrics.hpp"
#include "server/realtime_service.hpp"
#include "server/server.hpp"
#include "server/store_worker.hpp"

namespace nself::server {

class BroadcastScheduler;

struct AdminApiOptions {
  std::string admin_secret;  // empty: only admin JWTs are accepted
  std::uint64_t max_connections = 10'000;
  int message_retention_days = 0;          // 0: keep forever
  int audit_retention_days = 90;           // REALTIME_AUDIT_RETENTION_DAYS (0: keep forever)
  std::int64_t cleanup_batch_rows = 5000;  // REALTIME_CLEANUP_BATCH_ROWS
  // Failed authentications per client address per minute, then 429
  // (REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE; 0: no limit).
  int auth_failures_per_minute = 10;
  // The largest message content (JSON text) POST .../messages accepts: 413 above.
  std::size_t max_message_bytes = 64 * 1024;
  // Cleanup: connections not heartbeated for this long are stale (3 heartbeats).
  std::chrono::seconds stale_connection_after{90};
  std::chrono::seconds stale_presence_after{3600};
  // How often the peak connection count is written to realtime.server_state.
  std::chrono::milliseconds peak_save_interval{10'000};
};

// The key of realtime.server_state holding the peak connection count.
inline constexpr const char* kPeakConnectionsKey = "peak_connections";

class AdminApi {
 public:
  // Registers the routes on server.router(). Every reference must outlive the
  // server's run. `metrics.peak_connections()` should already hold the stored peak.
  AdminApi(Server& server, RealtimeService& handler, StoreWorker& store, Metrics& metrics,
           const core::auth::JwtVerifier& verifier, AdminApiOptions options);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  // Starts saving the peak periodically (call before Server::run()).
  void start();
  // Enables POST /api/broadcasts (503 without a scheduler). The scheduler must
  // outlive the API's use of it; pass nullptr before destroying it.
  void set_broadcast_scheduler(BroadcastScheduler* scheduler);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace nself::server
