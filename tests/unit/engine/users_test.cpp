// Role U (users) through a real Shard: shard 1 of 2 owns alice, dave, frank
// and grace; the connections are on shard 0, so every answer is a ToShard.
// Channels "c-room", "c-news" are owned by shard 0, "c-general" by shard 1
// (whose C is a stub: what goes there is not seen).

#include <gtest/gtest.h>

#include "lu_fixture.hpp"

namespace {

using namespace lu_test;
using engine::ConnectionId;
using Lines = std::vector<std::string>;

constexpr ConnectionId kA = engine::make_connection_id(0, 1);
constexpr ConnectionId kB = engine::make_connection_id(0, 2);

engine::Asker asker(ConnectionId connection, const std::string& user, protocol::Ref ref = {}) {
  return engine::Asker{connection, user, false, std::move(ref)};
}

engine::FromShard admit(ConnectionId connection, const std::string& user) {
  return engine::FromShard{engine::AdmitConnection{asker(connection, user)}};
}

engine::FromShard release(ConnectionId connection, const std::string& user) {
  return engine::FromShard{engine::ReleaseConnection{user, connection}};
}

engine::FromShard message(ConnectionId connection, const std::string& user,
                          const std::string& channel_id, protocol::Ref ref = {}) {
  return engine::FromShard{engine::AdmitRequest{
      engine::MessageToChannel{asker(connection, user, ref), channel(channel_id, "s"), "1"}}};
}

TEST(UUsers, AdmitsUpToTheLimitPerUserAndAgainAfterARelease) {
  Harness h(1, 2, opts([&](auto& o) { o.max_connections_per_user = 2; }));
  EXPECT_EQ(h.handle(admit(kA, "alice")), Lines{"to 0 ConnectionAdmitted alice 1 yes"});
  EXPECT_EQ(h.handle(admit(kB, "alice")), Lines{"to 0 ConnectionAdmitted alice 2 yes"});
  const ConnectionId third = engine::make_connection_id(0, 3);
  EXPECT_EQ(h.handle(admit(third, "alice")), Lines{"to 0 ConnectionAdmitted alice 3 no"});
  EXPECT_EQ(h.handle(admit(third, "dave")), Lines{"to 0 ConnectionAdmitted dave 3 yes"});
  EXPECT_EQ(h.handle(release(kA, "alice")), Lines{});
  EXPECT_EQ(h.handle(admit(third, "alice")), Lines{"to 0 ConnectionAdmitted alice 3 yes"});
}

TEST(UUsers, AnAdmittedRequestGoesToTheChannelsOwner) {
  Harness h(1, 2);
  h.handle(admit(kA, "alice"));
  // The asker's L hears the decision first (it holds later replies until then).
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room", 7)),
            (Lines{"to 0 RequestDecided 1", "to 0 Message alice c-room 1 7"}));
  EXPECT_EQ(h.handle(engine::FromShard{engine::AdmitRequest{
                engine::TypingToChannel{asker(kA, "alice"), channel("c-news", "news"), true}}}),
            (Lines{"to 0 RequestDecided 1", "to 0 Typing alice c-news true"}));
  EXPECT_EQ(h.handle(message(kA, "alice", "c-general")),
            Lines{"to 0 RequestDecided 1"});  // then this shard's C
}

TEST(UUsers, PresenceIsSplitByTheOwnersOfItsChannels) {
  Harness h(1, 2);
  h.handle(admit(kA, "alice"));
  engine::PresenceToChannels presence{
      asker(kA, "alice"),
      {channel("c-room", "room"), channel("c-general", "general"), channel("c-news", "news")},
      true,
      std::nullopt};
  EXPECT_EQ(h.handle(engine::FromShard{engine::AdmitRequest{presence}}),
            (Lines{"to 0 RequestDecided 1", "to 0 Presence alice [c-room,c-news] away"}));
}

TEST(UUsers, TheBucketIsSharedByTheUsersConnectionsAndRefusalsGoToTheAskersShard) {
  Harness h(1, 2, opts([&](auto& o) { o.max_messages_per_second = 2; }));
  h.handle(admit(kA, "alice"));
  h.handle(admit(kB, "alice"));
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room")).size(), 2u);  // decided, message
  EXPECT_EQ(h.handle(message(kB, "alice", "c-room")).size(), 2u);
  EXPECT_EQ(h.handle(message(kB, "alice", "c-room", "m")),
            Lines{"to 0 RequestRefused alice \"m\""});
  // Another user has a bucket of their own; half a second refills one token.
  EXPECT_EQ(h.handle(message(kA, "dave", "c-room")),
            (Lines{"to 0 RequestDecided 1", "to 0 Message dave c-room 1 -"}));
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room"), at(500ms)),
            (Lines{"to 0 RequestDecided 1", "to 0 Message alice c-room 1 -"}));
}

TEST(UUsers, RejectionsInARowDisconnectThatConnectionOnly) {
  Harness h(1, 2, opts([&](auto& o) {
              o.max_messages_per_second = 1;
              o.flood = {3, 10'000ms};
            }));
  h.handle(admit(kA, "alice"));
  h.handle(admit(kB, "alice"));
  h.handle(message(kA, "alice", "c-room"));
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room")), Lines{"to 0 RequestRefused alice -"});
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room")), Lines{"to 0 RequestRefused alice -"});
  EXPECT_EQ(h.handle(message(kB, "alice", "c-room")), Lines{"to 0 RequestRefused alice -"});
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room")),
            Lines{"to 0 RequestRefused alice - disconnect"});
}

TEST(UUsers, TheBucketOutlivesTheLastConnectionUntilItHasRefilled) {
  Harness h(1, 2, opts([&](auto& o) { o.max_messages_per_second = 1; }));
  h.handle(admit(kA, "alice"));
  h.handle(message(kA, "alice", "c-room"));
  h.handle(release(kA, "alice"));
  h.handle(engine::Tick{}, at(100ms));
  EXPECT_EQ(h.shard().users().tracked_users(), 1u);
  // Reconnecting does not reset it.
  h.handle(admit(kB, "alice"), at(100ms));
  EXPECT_EQ(h.handle(message(kB, "alice", "c-room"), at(200ms)),
            Lines{"to 0 RequestRefused alice -"});
  h.handle(release(kB, "alice"), at(200ms));
  h.handle(engine::Tick{}, at(999ms));
  EXPECT_EQ(h.shard().users().tracked_users(), 1u);
  h.handle(engine::Tick{}, at(1s));
  EXPECT_EQ(h.shard().users().tracked_users(), 0u);
}

TEST(UUsers, ARequestRefusedAtTheConnectionTakesATokenThenItsErrorGoesBack) {
  Harness h(1, 2, opts([&](auto& o) { o.max_messages_per_second = 1; }));
  h.handle(admit(kA, "alice"));
  auto refused = [&](protocol::Ref ref) {
    return engine::FromShard{engine::AdmitRequest{engine::RefusedAtConnection{
        asker(kA, "alice", ref), engine::error(ref, "not_found", "no channel \"x\"")}}};
  };
  EXPECT_EQ(h.handle(refused(1)),
            Lines{"to 0 RequestDecided 1 {error 1 not_found no channel \"x\"}"});
  EXPECT_EQ(h.handle(refused(2)), Lines{"to 0 RequestRefused alice 2"});
}

// history and read take their own bucket (max_store_requests_per_second),
// leaving the message rate alone; refusals say which bucket, count in the
// same flood guard, and the user is kept until both buckets have refilled.
TEST(UUsers, StoreRequestsTakeTheirOwnBucketKeptUntilItHasRefilled) {
  Harness h(1, 2, opts([&](auto& o) {
              o.max_messages_per_second = 1;
              o.max_store_requests_per_second = 2;
            }));
  h.handle(admit(kA, "alice"));
  auto history = [&](protocol::Ref ref) {
    return engine::FromShard{engine::AdmitRequest{
        engine::HistoryOfChannel{asker(kA, "alice", ref), channel("c-room", "room"), 10, {}, {}}}};
  };
  auto read = [&](protocol::Ref ref) {
    return engine::FromShard{engine::AdmitRequest{
        engine::ReadOfChannel{asker(kA, "alice", ref), channel("c-room", "room"), 4}}};
  };
  EXPECT_EQ(h.handle(history(1)), (Lines{"to 0 RequestDecided 1", "to 0 History alice c-room 10"}));
  EXPECT_EQ(h.handle(read(2)), (Lines{"to 0 RequestDecided 1", "to 0 Read alice c-room 4"}));
  EXPECT_EQ(h.handle(history(3)), Lines{"to 0 RequestRefused alice 3 store"});
  EXPECT_EQ(h.handle(read(4)), Lines{"to 0 RequestRefused alice 4 store"});
  // The message bucket is untouched.
  EXPECT_EQ(h.handle(message(kA, "alice", "c-room")).size(), 2u);
  h.handle(release(kA, "alice"));
  // At 1 s the message bucket is full again, the store bucket (2 per second,
  // empty at 0) is too: kept until then, not after.
  h.handle(engine::Tick{}, at(900ms));
  EXPECT_EQ(h.shard().users().tracked_users(), 1u);
  h.handle(engine::Tick{}, at(1s));
  EXPECT_EQ(h.shard().users().tracked_users(), 0u);
}

TEST(UUsers, StoreRefusalsCountInTheFloodGuard) {
  Harness h(1, 2, opts([&](auto& o) { o.max_store_requests_per_second = 1; }));
  h.handle(admit(kA, "alice"));
  auto read = [&] {
    return engine::FromShard{engine::AdmitRequest{
        engine::ReadOfChannel{asker(kA, "alice"), channel("c-room", "room"), 1}}};
  };
  h.handle(read());
  for (int i = 1; i < 20; ++i)
    EXPECT_EQ(h.handle(read()), Lines{"to 0 RequestRefused alice - store"});
  EXPECT_EQ(h.handle(read()), Lines{"to 0 RequestRefused alice - disconnect store"});
}

}  // namespace
