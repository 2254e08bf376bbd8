// RealtimeHandler: the per-user connection limit (REALTIME_MAX_CONNECTIONS_PER_USER)
// at authentication, on this node and, in cluster mode, cluster-wide. The
// decision always comes before auth_ok: a client never gets an auth_ok that
// is taken back (docs/SECURITY.md, L1).
#include <fmt/format.h>

#include <boost/asio/post.hpp>

#include "cluster/cluster.hpp"
#include "core/ws/frame_codec.hpp"
#include "server/realtime_handler.hpp"
#include "server/realtime_handler_client.hpp"
#include "server/ws_session.hpp"

namespace nself::server {

namespace protocol = core::protocol;
namespace ws = core::ws;

bool RealtimeHandler::admit_connection(WsSession& session, Client& client, const protocol::Ref& ref,
                                       const std::string& user_id) {
  auto [it, inserted] = users_.try_emplace(
      user_id, UserState{0, core::TokenBucket(options_.max_messages_per_second,
                                              std::chrono::steady_clock::now())});
  if (it->second.connections >= options_.max_connections_per_user) {
    session.send_text(error_frame(
        ref, "too_many_connections",
        fmt::format("user already has {} connections (the maximum)", it->second.connections)));
    session.close(ws::close_code::kLimitExceeded, "too many connections");
    return false;
  }
  ++it->second.connections;
  client.counted = true;
  return true;
}

void RealtimeHandler::cluster_admit_connection(WsSession& session, Client& client,
                                               const protocol::Ref& ref) {
  // Admitted on this node's count already; Redis says within a round trip
  // whether the cluster-wide count allows it. Until then the connection is
  // not authenticated and its requests wait (dispatch -> hold_until_admitted).
  client.admitting = true;
  cluster_->limits().acquire_connection(
      client.claims.user_id, options_.max_connections_per_user,
      [this, weak = session.weak_from_this(), executor = session.executor(), ref,
       user_id = client.claims.user_id](Result<cluster::ConnectionAdmission> admission) {
        boost::asio::post(executor, [this, weak, ref, user_id, admission = std::move(admission)] {
          std::lock_guard lock(mutex_);
          const bool counted = admission && admission->admitted;
          auto session = weak.lock();
          if (!session || !session->is_open()) {
            if (counted && cluster_ != nullptr) {
              cluster_->limits().release_connection(user_id);  // closed meanwhile
            }
            return;
          }
          auto& client = *static_cast<Client*>(session->context());
          client.admitting = false;
          if (admission && !admission->admitted) {
            client.waiting.clear();
            session->send_text(error_frame(
                ref, "too_many_connections",
                fmt::format("user already has {} connections on the cluster (the maximum)",
                            admission->total)));
            session->close(ws::close_code::kLimitExceeded, "too many connections");
            return;
          }
          // No answer (Redis down): this node's count decided, as it does alone.
          client.cluster_counted = counted && cluster_ != nullptr;
          finish_authentication(*session, client, ref);
          auto waiting = std::move(client.waiting);
          client.waiting.clear();
          for (auto& [waiting_ref, request] : waiting) {
            if (!session->is_open()) return;
            dispatch(*session, client, waiting_ref, request);
          }
          if (!waiting.empty() && session->is_open()) note_activity(user_id);
        });
      });
}

void RealtimeHandler::hold_until_admitted(WsSession& session, Client& client,
                                          const protocol::Ref& ref, protocol::Request request) {
  if (client.waiting.size() >= kMaxWaitingRequests) {
    client.waiting.clear();
    session.send_text(
        error_frame(ref, "rate_limited",
                    fmt::format("more than {} requests before auth_ok", kMaxWaitingRequests)));
    session.close(ws::close_code::kLimitExceeded, "too many requests before auth_ok");
    return;
  }
  client.waiting.emplace_back(ref, std::move(request));
}

void RealtimeHandler::release_connection(Client& client) {
  if (client.cluster_counted && cluster_ != nullptr) {
    client.cluster_counted = false;
    cluster_->limits().release_connection(client.claims.user_id);
  }
  if (!client.counted) return;
  client.counted = false;
  auto found = users_.find(client.claims.user_id);
  if (found != users_.end() && --found->second.connections <= 0) users_.erase(found);
}

}  // namespace nself::server
