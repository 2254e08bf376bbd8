#pragma once

// Role C driven through a real Shard: the channel's owner is shard 0 of
// `shards`, the connections live on other shards (make_connection_id(1, n)),
// so that what C says to L shows as ToShard actions (L is another role's).
// Store answers are fed back by hand.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/shard.hpp"

namespace nself_channels_test {

using namespace nself::core::engine;
using nself::core::ChannelType;
using namespace std::chrono_literals;

// A channel id whose owner is `shard` of `shards`.
inline std::string channel_owned_by(ShardIndex shard, ShardIndex shards, int skip = 0) {
  for (int n = 0;; ++n) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    if (shard_of_key(id, shards) == shard && skip-- == 0) return id;
  }
}

inline ChannelInfo channel_info(std::string id, std::string slug,
                                ChannelType type = ChannelType::kPublic, bool persistent = true,
                                std::int64_t last_seq = 0) {
  ChannelInfo info;
  info.id = std::move(id);
  info.slug = std::move(slug);
  info.type = type;
  info.persistent = persistent;
  info.last_seq = last_seq;
  return info;
}

inline Asker asker(ConnectionId connection, std::string user, Ref ref = {}, bool admin = false) {
  return Asker{connection, std::move(user), admin, std::move(ref)};
}

class ChannelsFixture : public ::testing::Test {
 protected:
  explicit ChannelsFixture(ShardIndex shards = 2, EngineOptions options = {})
      : verifier_({nself::core::auth::JwtKey{nself::core::auth::JwtAlgorithm::kHS256,
                                             "channels-test-secret-0123456789abcdef"}}),
        shard_(std::make_unique<Shard>(0, shards, std::move(options), verifier_)) {
    now_.steady = SteadyTime{} + 1000s;
    now_.wall = WallTime{} + std::chrono::milliseconds(1'764'000'000'000);
  }

  Actions handle(Input input) {
    Actions out;
    shard_->handle(std::move(input), now_, out);
    return out;
  }
  Actions from_shard(ShardMessage message) { return handle(FromShard{std::move(message)}); }
  Actions answer(std::uint64_t token, decltype(StoreReply::answer) reply) {
    return handle(StoreDone{StoreReply{token, std::nullopt, std::move(reply)}});
  }
  Actions fail(std::uint64_t token, std::string failure) {
    return handle(StoreDone{StoreReply{token, std::move(failure), Done{}}});
  }
  void advance(std::chrono::milliseconds by) {
    now_.steady += by;
    now_.wall += by;
  }

  // The one store job of `actions` that is a T; fails the test otherwise.
  template <typename T>
  static const StoreJob& job_of(const Actions& actions) {
    const StoreJob* found = nullptr;
    for (const Action& action : actions) {
      if (const auto* store = std::get_if<Store>(&action);
          store != nullptr && std::holds_alternative<T>(store->job.request)) {
        EXPECT_EQ(found, nullptr) << "more than one store job of this type";
        found = &store->job;
      }
    }
    if (found == nullptr) {
      ADD_FAILURE() << "no store job of this type";
      static const StoreJob none{};
      return none;
    }
    return *found;
  }
  template <typename T>
  static std::size_t count_jobs(const Actions& actions) {
    std::size_t n = 0;
    for (const Action& action : actions) {
      if (const auto* store = std::get_if<Store>(&action);
          store != nullptr && std::holds_alternative<T>(store->job.request)) {
        ++n;
      }
    }
    return n;
  }
  // Every message of type T sent to another shard, with that shard.
  template <typename T>
  static std::vector<std::pair<ShardIndex, T>> sent(const Actions& actions) {
    std::vector<std::pair<ShardIndex, T>> list;
    for (const Action& action : actions) {
      if (const auto* to = std::get_if<ToShard>(&action)) {
        if (const auto* typed = std::get_if<T>(&to->message)) list.emplace_back(to->shard, *typed);
      }
    }
    return list;
  }
  // The events of the one ToConnection in `actions`.
  static std::vector<Event> replies(const Actions& actions) {
    auto list = sent<ToConnection>(actions);
    EXPECT_EQ(list.size(), 1u);
    return list.empty() ? std::vector<Event>{} : list.front().second.events;
  }
  // A copy: callers pass temporaries.
  static ErrorEvent error_in(const std::vector<Event>& events) {
    EXPECT_EQ(events.size(), 1u);
    if (events.empty() || !std::holds_alternative<ErrorEvent>(events.front())) {
      ADD_FAILURE() << "not one error";
      return {};
    }
    return std::get<ErrorEvent>(events.front());
  }

  // A connection joined: JoinChannel, then the ReadForSubscribe answer.
  Actions join(ConnectionId connection, const std::string& user, const ChannelInfo& info,
               std::optional<Membership> membership = std::nullopt, bool admin = false,
               Ref ref = {}) {
    const Actions asked =
        from_shard(JoinChannel{asker(connection, user, ref, admin), info, std::nullopt,
                               std::nullopt, "pub-" + std::to_string(connection & 0xffff)});
    const StoreJob& job = job_of<ReadForSubscribe>(asked);
    SubscribeAnswer reply;
    reply.channel = info;
    reply.membership = membership;
    return answer(job.token, std::move(reply));
  }

  // A persistent message committed: its AppendMessage answered with `seq`.
  Actions commit(const Actions& asked, std::int64_t seq, const std::string& user,
                 const std::string& content) {
    const StoreJob& job = job_of<AppendMessage>(asked);
    MessageRecord record{"11111111-1111-4111-8111-" +
                             std::string(12 - std::to_string(seq).size(), '0') +
                             std::to_string(seq),
                         std::get<AppendMessage>(job.request).channel_id,
                         seq,
                         user,
                         content,
                         now_.wall};
    return answer(job.token, AppendAnswer{record});
  }

  nself::core::auth::JwtVerifier verifier_;
  std::unique_ptr<Shard> shard_;
  Now now_;
};

}  // namespace nself_channels_test
