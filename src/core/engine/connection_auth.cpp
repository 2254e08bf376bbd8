// Role L: authentication, the user's admission, refresh, the auth deadline
// and token expiry, the replay of system announcements (what
// RealtimeHandler::handle_auth, authenticate, on_tick and
// broadcasts_on_authenticated did).

#include <string>
#include <utility>

#include "core/engine/connections_state.hpp"

namespace nself::core::engine {

namespace {

// WebSocket close codes (docs/PROTOCOL.md "Close codes").
constexpr int kAuthFailed = 4001;
constexpr int kLimitExceeded = 4008;

void audit_auth_failure(Connections::State& state, const ConnectionRecord& connection,
                        const std::string& code, Context& ctx) {
  // Bounded so that a flood of bad tokens cannot flood the audit log.
  const SteadyTime now = ctx.now().steady;
  if (now - state.audit_window >= std::chrono::seconds(1)) {
    state.audit_window = now;
    state.audits_in_window = 0;
  }
  if (++state.audits_in_window > Connections::State::kMaxAuthAuditsPerSecond) return;
  ctx.tell_store(AuditAuthFailure{connection.remote_address, code, ctx.now().wall});
}

void replay_announcements(const Connections::State& state, ConnectionRecord& connection,
                          Context& ctx) {
  for (const BroadcastEvent& announcement : state.announcements) {
    if (announcement.channel) continue;  // only system announcements are replayed
    if (announcement.expires_at && *announcement.expires_at <= ctx.now().wall) continue;
    reply(connection, announcement, ctx);
  }
}

}  // namespace

void on_auth_request(Connections::State& state, ConnectionRecord& connection,
                     const protocol::Ref& ref, const protocol::AuthRequest& request, Context& ctx) {
  if (request.batch) ctx.emit(SetBatching{connection.id, true});
  auto claims = ctx.verifier().verify(request.token, ctx.now().wall);
  if (!claims) {
    audit_auth_failure(state, connection, claims.error().code, ctx);
    reply(connection, error(ref, claims.error().code, claims.error().message), ctx);
    // A refresh with a bad token leaves the connection on its old token.
    if (!connection.authenticated()) {
      state.close(connection, kAuthFailed, claims.error().message, ctx);
    }
    return;
  }
  if (!connection.authenticated()) {
    admit(state, connection, ref, std::move(*claims), ctx);
    return;
  }
  if (claims->user_id != connection.claims.user_id) {
    reply(connection, error(ref, "invalid_token", "a refreshed token must name the same user"),
          ctx);
    return;
  }
  const bool lost_admin = connection.claims.is_admin && !claims->is_admin;
  connection.claims = std::move(*claims);
  reply(connection,
        AuthOk{ref, connection.claims.user_id, connection.public_id, connection.claims.expires_at},
        ctx);
  // Lower rights apply to what the connection already has (issue 16 item 7):
  // a private channel it could read only as an admin ends (SubscriptionLost).
  // Sends need no recheck: every one is decided with the claims it carries.
  if (!lost_admin) return;
  for (const ChannelInfo& channel : connection.subscriptions) {
    if (channel.type != ChannelType::kPrivate) continue;
    ctx.to_shard(ctx.owner_of_channel(channel.id),
                 RecheckSubscription{connection.asker({}), channel});
  }
}

void admit(Connections::State& /*state*/, ConnectionRecord& connection, const protocol::Ref& ref,
           auth::Claims claims, Context& ctx) {
  connection.phase = ConnectionRecord::Phase::kAdmitting;
  connection.claims = std::move(claims);
  const ShardIndex owner = ctx.owner_of_user(connection.claims.user_id);
  ctx.to_shard(owner, AdmitConnection{connection.asker(ref)});
}

void on_admitted(Connections::State& state, ConnectionAdmitted& message, Context& ctx) {
  ConnectionRecord* connection = state.find(message.asker.connection);
  if (connection == nullptr || connection->phase != ConnectionRecord::Phase::kAdmitting) {
    // Closed while U decided: give back what U counted.
    if (message.admitted) {
      const ShardIndex owner = ctx.owner_of_user(message.asker.user_id);
      ctx.to_shard(owner, ReleaseConnection{message.asker.user_id, message.asker.connection});
    }
    return;
  }
  if (!message.admitted) {
    reply(*connection,
          error(message.asker.ref, "too_many_connections",
                "user already has " + std::to_string(ctx.options().max_connections_per_user) +
                    " connections (the maximum)"),
          ctx);
    state.close(*connection, kLimitExceeded, "too many connections", ctx);
    return;
  }
  connection->phase = ConnectionRecord::Phase::kAuthenticated;
  connection->counted = true;
  connection->recorded = true;
  ctx.tell_store(RecordConnection{connection->public_id, connection->claims.user_id,
                                  connection->remote_address, std::move(connection->user_agent),
                                  ctx.now().wall});
  connection->user_agent.clear();
  reply(*connection,
        AuthOk{message.asker.ref, connection->claims.user_id, connection->public_id,
               connection->claims.expires_at},
        ctx);
  replay_announcements(state, *connection, ctx);
  // What came while U decided, in order, as if it had come now.
  std::vector<protocol::ParseOutcome> held = std::move(connection->held);
  connection->held.clear();
  for (protocol::ParseOutcome& outcome : held) {
    if (connection->closing()) break;
    on_outcome(state, *connection, outcome, ctx);
  }
  if (!held.empty() && connection->authenticated()) note_activity(*connection, ctx);
}

void check_deadlines(Connections::State& state, ConnectionRecord& connection, Context& ctx) {
  if (connection.phase == ConnectionRecord::Phase::kAnonymous) {
    if (ctx.now().steady >= connection.auth_deadline) {
      reply(connection, error({}, "invalid_token", "authentication timed out"), ctx);
      state.close(connection, kAuthFailed, "authentication timeout", ctx);
    }
    return;
  }
  if (!connection.authenticated()) return;
  if (connection.claims.expires_at && *connection.claims.expires_at <= ctx.now().wall) {
    reply(connection, error({}, "token_expired", "the token has expired"), ctx);
    state.close(connection, kAuthFailed, "token expired", ctx);
  }
}

}  // namespace nself::core::engine
