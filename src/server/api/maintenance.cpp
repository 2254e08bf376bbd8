// POST /api/cleanup: removes stale connections and presence, and messages and
// audit rows past their retention, in batches (server/cleanup_job.hpp).

#include "store/maintenance.hpp"

#include "server/api/admin_state.hpp"
#include "server/cleanup_job.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

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

}  // namespace nself::server
