#pragma once

// Shared by connections_test.cpp and users_test.cpp (roles L and U): a real
// JwtVerifier with an HS256 key, tokens signed by the repo's signer, a fixed
// clock, and one line of text per action so that a test compares the exact
// list of actions a Shard emitted.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/shard.hpp"
#include "core/protocol/requests.hpp"

namespace lu_test {

namespace engine = nself::core::engine;
namespace auth = nself::core::auth;
namespace protocol = nself::core::protocol;
using namespace std::chrono_literals;

inline const auth::JwtKey kKey{auth::JwtAlgorithm::kHS256,
                               "lu-engine-test-secret-0123456789abcdef"};

// 2026-01-30T10:00:00Z, and a steady clock far from its epoch.
inline engine::Now at(std::chrono::milliseconds offset = 0ms) {
  const engine::WallTime wall{std::chrono::milliseconds(1'769'767'200'000)};
  return engine::Now{engine::SteadyTime{} + 1000s + offset, wall + offset};
}

// A token for `user`; exp relative to at(0) (none: no exp).
inline std::string token(const std::string& user, std::optional<std::chrono::seconds> exp = 3600s,
                         const std::string& role = "") {
  std::string claims = "{\"sub\":\"" + user + "\"";
  if (exp) {
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(at().wall.time_since_epoch()) + *exp;
    claims += ",\"exp\":" + std::to_string(seconds.count());
  }
  if (!role.empty()) claims += ",\"role\":\"" + role + "\"";
  claims += "}";
  auto signed_token = auth::sign_jwt(kKey, claims);
  EXPECT_TRUE(signed_token.ok());
  return signed_token.ok() ? *signed_token : std::string();
}

inline engine::ClientFrame frame(engine::ConnectionId connection, const std::string& text) {
  return engine::ClientFrame{connection, protocol::parse_frame(text)};
}

inline engine::ChannelInfo channel(
    const std::string& id, const std::string& slug,
    nself::core::ChannelType type = nself::core::ChannelType::kPublic) {
  engine::ChannelInfo info;
  info.id = id;
  info.slug = slug;
  info.type = type;
  return info;
}

inline std::string ref_text(const protocol::Ref& ref) {
  if (auto* text = std::get_if<std::string>(&ref)) return "\"" + *text + "\"";
  if (auto* number = std::get_if<std::int64_t>(&ref)) return std::to_string(*number);
  return "-";
}

inline std::string text(const engine::Event& event) {
  return std::visit(
      [](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, engine::AuthOk>) {
          return "auth_ok " + ref_text(e.ref) + " " + e.user_id + " " + e.connection_id + " exp=" +
                 (e.expires_at ? std::to_string(e.expires_at->time_since_epoch().count()) : "null");
        } else if constexpr (std::is_same_v<T, engine::Subscribed>) {
          return "subscribed " + ref_text(e.ref) + " " + e.channel + " " + std::to_string(e.seq);
        } else if constexpr (std::is_same_v<T, engine::Unsubscribed>) {
          return "unsubscribed " + ref_text(e.ref) + " " + e.channel;
        } else if constexpr (std::is_same_v<T, engine::Pong>) {
          return "pong " + ref_text(e.ref);
        } else if constexpr (std::is_same_v<T, engine::ErrorEvent>) {
          return "error " + ref_text(e.ref) + " " + e.code + " " + e.message;
        } else if constexpr (std::is_same_v<T, engine::ChannelDeleted>) {
          return "channel_deleted " + e.channel;
        } else if constexpr (std::is_same_v<T, engine::BroadcastEvent>) {
          return "broadcast " + e.id + " " + e.event;
        } else if constexpr (std::is_same_v<T, engine::TypingEvent>) {
          return "typing " + e.channel + " " + e.user_id + (e.typing ? " true" : " false");
        } else {
          return "event";
        }
      },
      event);
}

inline std::string channels_text(const std::vector<engine::ChannelInfo>& channels) {
  std::string out = "[";
  for (const auto& c : channels) out += (out.size() > 1 ? "," : "") + c.id;
  return out + "]";
}

inline std::string text(const engine::ShardMessage& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, engine::AdmitConnection>) {
          return "AdmitConnection " + m.asker.user_id + " " + std::to_string(m.asker.connection) +
                 " " + ref_text(m.asker.ref);
        } else if constexpr (std::is_same_v<T, engine::ReleaseConnection>) {
          return "ReleaseConnection " + m.user_id + " " + std::to_string(m.connection);
        } else if constexpr (std::is_same_v<T, engine::AdmitRequest>) {
          return "AdmitRequest " +
                 std::visit(
                     [](const auto& r) -> std::string {
                       using R = std::decay_t<decltype(r)>;
                       if constexpr (std::is_same_v<R, engine::RefusedAtConnection>) {
                         return "Refused " + r.asker.user_id + " " + text(engine::Event{r.error});
                       } else {
                         return text(engine::ShardMessage{r});
                       }
                     },
                     m.request);
        } else if constexpr (std::is_same_v<T, engine::MessageToChannel>) {
          return "Message " + m.asker.user_id + " " + m.channel.id + " " + m.content_json + " " +
                 ref_text(m.asker.ref);
        } else if constexpr (std::is_same_v<T, engine::TypingToChannel>) {
          return "Typing " + m.asker.user_id + " " + m.channel.id + (m.typing ? " true" : " false");
        } else if constexpr (std::is_same_v<T, engine::PresenceToChannels>) {
          return "Presence " + m.asker.user_id + " " + channels_text(m.channels) +
                 (m.away ? " away" : " online");
        } else if constexpr (std::is_same_v<T, engine::ConnectionAdmitted>) {
          return "ConnectionAdmitted " + m.asker.user_id + " " +
                 std::to_string(m.asker.connection) + (m.admitted ? " yes" : " no");
        } else if constexpr (std::is_same_v<T, engine::RequestRefused>) {
          return "RequestRefused " + m.asker.user_id + " " + ref_text(m.asker.ref) +
                 (m.disconnect ? " disconnect" : "") + (m.store ? " store" : "");
        } else if constexpr (std::is_same_v<T, engine::JoinChannel>) {
          return "JoinChannel " + m.asker.user_id + " " + m.channel.id + " " +
                 ref_text(m.asker.ref) + " " + m.connection_public_id;
        } else if constexpr (std::is_same_v<T, engine::LeaveChannel>) {
          return "LeaveChannel " + std::to_string(m.connection) + " " + m.user_id + " " +
                 m.channel_id + " " + m.connection_public_id;
        } else if constexpr (std::is_same_v<T, engine::HistoryOfChannel>) {
          return "History " + m.asker.user_id + " " + m.channel.id + " " + std::to_string(m.limit);
        } else if constexpr (std::is_same_v<T, engine::ReadOfChannel>) {
          return "Read " + m.asker.user_id + " " + m.channel.id + " " + std::to_string(m.seq);
        } else if constexpr (std::is_same_v<T, engine::Activity>) {
          return "Activity " + m.user_id + " " + m.channel_id;
        } else if constexpr (std::is_same_v<T, engine::RequestDecided>) {
          std::string out = "RequestDecided " + std::to_string(m.connection);
          for (const auto& e : m.events) out += " {" + text(e) + "}";
          return out;
        } else if constexpr (std::is_same_v<T, engine::ToConnection>) {
          std::string out = "ToConnection " + std::to_string(m.connection);
          for (const auto& e : m.events) out += " {" + text(e) + "}";
          return out;
        } else {
          return "message";
        }
      },
      message);
}

inline std::string text(const engine::StoreJob& job) {
  const std::string kind = job.token == 0 ? "tell " : "ask ";
  return kind + std::visit(
                    [](const auto& r) -> std::string {
                      using T = std::decay_t<decltype(r)>;
                      if constexpr (std::is_same_v<T, engine::ResolveChannel>) {
                        return "ResolveChannel " + r.name;
                      } else if constexpr (std::is_same_v<T, engine::RecordConnection>) {
                        return "RecordConnection " + r.connection_public_id + " " + r.user_id +
                               " " + r.client_ip + " " + r.user_agent;
                      } else if constexpr (std::is_same_v<T, engine::RecordDisconnect>) {
                        return "RecordDisconnect " + r.connection_public_id;
                      } else if constexpr (std::is_same_v<T, engine::Heartbeat>) {
                        std::string out = "Heartbeat";
                        for (const auto& id : r.connection_public_ids) out += " " + id;
                        return out;
                      } else if constexpr (std::is_same_v<T, engine::AuditAuthFailure>) {
                        return "AuditAuthFailure " + r.actor + " " + r.code;
                      } else {
                        return "store";
                      }
                    },
                    job.request);
}

inline std::string text(const engine::Action& action) {
  return std::visit(
      [](const auto& a) -> std::string {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, engine::Send>) {
          return "send " + std::to_string(a.connection) + " " + text(a.event);
        } else if constexpr (std::is_same_v<T, engine::Deliver>) {
          return "deliver " + a.channel_id + " " + text(*a.event) +
                 " skip=" + a.skip_user.value_or("-");
        } else if constexpr (std::is_same_v<T, engine::DeliverAuthenticated>) {
          return "deliver_all " + text(*a.event);
        } else if constexpr (std::is_same_v<T, engine::Close>) {
          return "close " + std::to_string(a.connection) + " " + std::to_string(a.code) + " " +
                 a.reason;
        } else if constexpr (std::is_same_v<T, engine::SetBatching>) {
          return "batching " + std::to_string(a.connection) + (a.batch ? " on" : " off");
        } else if constexpr (std::is_same_v<T, engine::ToShard>) {
          return "to " + std::to_string(a.shard) + " " + text(a.message);
        } else if constexpr (std::is_same_v<T, engine::Store>) {
          return "store " + text(a.job);
        } else {
          return "admin_done";
        }
      },
      action);
}

// EngineOptions with some settings changed: opts([&](auto& o) { o.x = 1; }).
template <class Set>
engine::EngineOptions opts(Set set) {
  engine::EngineOptions options;
  set(options);
  return options;
}

// A shard and its driver, minus the driver: inputs in, actions as lines out.
class Harness {
 public:
  Harness(engine::ShardIndex index, engine::ShardIndex shards, engine::EngineOptions options = {})
      : verifier_({kKey}), shard_(index, shards, std::move(options), verifier_) {}

  std::vector<std::string> handle(engine::Input input, engine::Now now = at()) {
    last_.clear();
    shard_.handle(std::move(input), now, last_);
    std::vector<std::string> lines;
    for (const auto& action : last_) {
      std::string line = text(action);
      // Store work of role C on this shard (presence rows, access reads):
      // this harness is about L and U; the channels_* tests cover C's.
      if (line == "store tell store" || line == "store ask store") continue;
      lines.push_back(std::move(line));
    }
    return lines;
  }
  // The raw actions of the last handle() (store tokens, shared events).
  engine::Actions& last() { return last_; }
  engine::Shard& shard() { return shard_; }

  // Opens `connection` with no token; its public id is "pub-<connection>".
  std::vector<std::string> open(engine::ConnectionId connection,
                                std::optional<auth::Claims> claims = std::nullopt,
                                engine::Now now = at()) {
    return handle(engine::ConnectionOpened{connection, "pub-" + std::to_string(connection),
                                           "10.0.0.1", "test-agent", false, std::move(claims)},
                  now);
  }

 private:
  auth::JwtVerifier verifier_;
  engine::Shard shard_;
  engine::Actions last_;
};

// The token of the store job among the last actions (the nth ask).
inline std::uint64_t store_token(engine::Actions& actions, int nth = 0) {
  for (auto& action : actions) {
    if (auto* store = std::get_if<engine::Store>(&action); store && store->job.token != 0) {
      if (nth-- == 0) return store->job.token;
    }
  }
  ADD_FAILURE() << "no store job asked";
  return 0;
}

inline engine::StoreDone resolved(std::uint64_t token, std::optional<engine::ChannelInfo> info) {
  engine::StoreReply reply;
  reply.token = token;
  reply.answer = engine::ChannelAnswer{std::move(info), std::nullopt};
  return engine::StoreDone{std::move(reply)};
}

}  // namespace lu_test
