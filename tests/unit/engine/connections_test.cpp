// Role L (connections) through a real Shard: literal inputs at a fixed Now,
// the exact actions out. Role C is fed by hand (JoinOutcome, ToConnection,
// ChannelEventForLoop), so the tests stop at what L says to C.
//
// Owners with 2 shards (FNV-1a, ids.hpp): users bob, carol, heidi, zed -> 0;
// alice, dave, frank, grace -> 1. Channels "c-room", "c-news" -> 0;
// "c-general" -> 1.

#include <gtest/gtest.h>

#include "lu_fixture.hpp"

namespace {

using namespace lu_test;
using engine::ConnectionId;
using Lines = std::vector<std::string>;
using nself::core::ChannelType;

constexpr ConnectionId kA = engine::make_connection_id(0, 1);
constexpr ConnectionId kB = engine::make_connection_id(0, 2);

std::string exp_ms(std::chrono::seconds offset) {
  return std::to_string((at().wall + offset).time_since_epoch().count());
}

// Authenticates `connection` as `user` on a one-shard harness (U answers at once).
void authenticate(Harness& h, ConnectionId connection, const std::string& user,
                  const std::string& role = "") {
  h.open(connection);
  h.handle(frame(connection, R"({"type":"auth","token":")" + token(user, 3600s, role) + "\"}"));
  ASSERT_TRUE(h.shard().connections().is_authenticated(connection));
}

// Subscribes `connection` to `info`: resolve (unless cached), then the
// JoinOutcome C would send.
void subscribe(Harness& h, ConnectionId connection, const engine::ChannelInfo& info) {
  h.handle(frame(connection, R"({"type":"subscribe","channel":")" + info.slug + "\"}"));
  for (auto& action : h.last()) {
    if (auto* store = std::get_if<engine::Store>(&action); store && store->job.token != 0) {
      h.handle(resolved(store->job.token, info));
      break;
    }
  }
  h.handle(engine::FromShard{
      engine::JoinOutcome{connection, info, {engine::Subscribed{{}, info.slug, 0, {}}}}});
}

TEST(LConnections, AuthMessageRecordsSendsAuthOkThenReplaysLiveSystemAnnouncements) {
  Harness h(0, 1);
  engine::BroadcastEvent live{"b-live", std::nullopt, "maintenance", "{}", at().wall, std::nullopt};
  engine::BroadcastEvent expired{"b-old", std::nullopt, "old", "{}", at().wall, at().wall};
  engine::BroadcastEvent to_channel{"b-chan", "general", "chan", "{}", at().wall, std::nullopt};
  EXPECT_EQ(h.handle(engine::AdminAnnouncements{{live, expired, to_channel}}), Lines{});
  EXPECT_EQ(h.open(kA), Lines{});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"auth","ref":1,"token":")" + token("bob") + "\"}")),
            (Lines{"store tell RecordConnection pub-1 bob 10.0.0.1 test-agent",
                   "send 1 auth_ok 1 bob pub-1 exp=" + exp_ms(3600s),
                   "send 1 broadcast b-live maintenance"}));
  EXPECT_EQ(h.shard().connections().authenticated(), 1u);
}

TEST(LConnections, BadTokenIsInvalidTokenAuditedAndClosed4001AndNothingAfterIsAnswered) {
  Harness h(0, 1);
  h.open(kA);
  const std::string forged = token("bob") + "x";
  EXPECT_EQ(h.handle(frame(kA, R"([{"type":"auth","ref":1,"token":")" + forged +
                                   R"("},{"type":"ping","ref":2}])")),
            (Lines{"store tell AuditAuthFailure 10.0.0.1 invalid_token",
                   "send 1 error 1 invalid_token token signature is invalid",
                   "close 1 4001 token signature is invalid"}));
}

TEST(LConnections, RequestsBeforeAuthAreUnauthenticatedAndParseErrorsKeepTheirRef) {
  Harness h(0, 1);
  h.open(kA);
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"subscribe","channel":"general","ref":"s"})")),
            Lines{"send 1 error \"s\" unauthenticated authenticate first (an auth message)"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"shout","ref":3})")),
            Lines{"send 1 error 3 bad_request unknown type \"shout\""});
  EXPECT_EQ(h.handle(frame(kA, R"([{"type":"auth","token":")" + token("bob", std::nullopt) +
                                   R"("},{"type":"ping","ref":2}])")),
            (Lines{"store tell RecordConnection pub-1 bob 10.0.0.1 test-agent",
                   "send 1 auth_ok - bob pub-1 exp=null", "send 1 pong 2"}));
}

TEST(LConnections, BatchFlagOfTheUpgradeAndOfTheAuthMessageSetBatching) {
  Harness h(0, 1);
  EXPECT_EQ(h.handle(engine::ConnectionOpened{kA, "pub-1", "10.0.0.1", "", true, std::nullopt}),
            Lines{"batching 1 on"});
  h.open(kB);
  const Lines lines = h.handle(
      frame(kB, R"({"type":"auth","batch":true,"token":")" + token("bob", std::nullopt) + "\"}"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "batching 2 on");
}

TEST(LConnections, UpgradeTokenExpiredByTheTimeTheSocketOpensIsClosed4001) {
  Harness h(0, 1);
  auth::Claims claims{"bob", "", false, at().wall};
  EXPECT_EQ(h.open(kA, claims), (Lines{"send 1 error - token_expired token has expired",
                                       "close 1 4001 token has expired"}));
  auth::Claims valid{"bob", "", false, at().wall + 1s};
  EXPECT_EQ(h.open(kB, valid), (Lines{"store tell RecordConnection pub-2 bob 10.0.0.1 test-agent",
                                      "send 2 auth_ok - bob pub-2 exp=" + exp_ms(1s)}));
}

TEST(LConnections, NoAuthWithinTheTimeoutIsClosed4001) {
  Harness h(0, 1);
  h.open(kA);
  EXPECT_EQ(h.handle(engine::Tick{}, at(9999ms)), Lines{});
  EXPECT_EQ(h.handle(engine::Tick{}, at(10s)),
            (Lines{"send 1 error - invalid_token authentication timed out",
                   "close 1 4001 authentication timeout"}));
  EXPECT_EQ(h.handle(engine::Tick{}, at(11s)), Lines{});  // closing: said once
}

TEST(LConnections, TokenExpiryWhileConnectedIsTokenExpiredThenClose4001) {
  Harness h(0, 1, opts([&](auto& o) { o.heartbeat_interval = 3600s; }));
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob", 2s) + "\"}"));
  EXPECT_EQ(h.handle(engine::Tick{}, at(1999ms)), Lines{"store tell Heartbeat pub-1"});
  EXPECT_EQ(
      h.handle(engine::Tick{}, at(2s)),
      (Lines{"send 1 error - token_expired the token has expired", "close 1 4001 token expired"}));
}

TEST(LConnections, RefreshKeepsTheUserAndRefusesAnotherOrABadToken) {
  Harness h(0, 1, opts([&](auto& o) { o.heartbeat_interval = 3600s; }));
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob", 2s) + "\"}"));
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"auth","ref":"r","token":")" + token("carol") + "\"}")),
            Lines{"send 1 error \"r\" invalid_token a refreshed token must name the same user"});
  EXPECT_EQ(
      h.handle(frame(kA, R"({"type":"auth","ref":"r","token":")" + token("bob", -10s) + "\"}")),
      (Lines{"store tell AuditAuthFailure 10.0.0.1 token_expired",
             "send 1 error \"r\" token_expired token has expired"}));
  EXPECT_EQ(h.handle(frame(
                kA, R"({"type":"auth","ref":"r","token":")" + token("bob", std::nullopt) + "\"}")),
            Lines{"send 1 auth_ok \"r\" bob pub-1 exp=null"});
  EXPECT_EQ(h.handle(engine::Tick{}, at(5s)),
            Lines{"store tell Heartbeat pub-1"});  // no expiry now
}

TEST(LConnections, PastTheUsersConnectionsTooManyConnectionsThenClose4008) {
  Harness h(0, 1, opts([&](auto& o) { o.max_connections_per_user = 1; }));
  authenticate(h, kA, "bob");
  h.open(kB);
  EXPECT_EQ(h.handle(frame(kB, R"({"type":"auth","ref":"in","token":")" + token("bob") + "\"}")),
            (Lines{"send 2 error \"in\" too_many_connections user already has 1 connections (the "
                   "maximum)",
                   "close 2 4008 too many connections"}));
  // The first one's close gives its place back (U on this shard).
  EXPECT_EQ(h.handle(engine::ConnectionClosed{kA}), Lines{"store tell RecordDisconnect pub-1"});
  EXPECT_EQ(h.handle(engine::ConnectionClosed{kB}), Lines{});  // never recorded
  const ConnectionId third = engine::make_connection_id(0, 3);
  authenticate(h, third, "bob");
}

TEST(LConnections, PingIsPongAndUnsubscribeOfAChannelNotSubscribedIsNotAnError) {
  Harness h(0, 1);
  authenticate(h, kA, "bob");
  EXPECT_EQ(
      h.handle(frame(
          kA, R"([{"type":"ping","ref":5},{"type":"unsubscribe","channel":"other","ref":"u"}])")),
      (Lines{"send 1 pong 5", "send 1 unsubscribed \"u\" other"}));
}

TEST(LConnectionsTwoShards, SubscribeResolvesTheNameThenJoinsAtTheChannelsOwner) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));  // bob -> shard 0
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"subscribe","channel":"general","ref":1,"history":5})")),
            Lines{"store ask ResolveChannel general"});
  const auto general = channel("c-general", "general");
  EXPECT_EQ(h.handle(resolved(store_token(h.last()), general)),
            Lines{"to 1 JoinChannel bob c-general 1 pub-1"});
  auto* join =
      std::get_if<engine::JoinChannel>(&std::get<engine::ToShard>(h.last().front()).message);
  ASSERT_NE(join, nullptr);
  EXPECT_EQ(join->history, 5);
  EXPECT_TRUE(h.shard().connections().local_subscribers("c-general").empty());
  EXPECT_EQ(h.handle(engine::FromShard{
                engine::JoinOutcome{kA, general, {engine::Subscribed{1, "general", 7, {}}}}}),
            Lines{"send 1 subscribed 1 general 7"});
  ASSERT_EQ(h.shard().connections().local_subscribers("c-general").size(), 1u);
  EXPECT_EQ(h.shard().connections().local_subscribers("c-general")[0].user_id, "bob");
  // Subscribed (and cached): again at once, by slug or by id.
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"subscribe","channel":"c-general","ref":2})")),
            Lines{"to 1 JoinChannel bob c-general 2 pub-1"});
}

TEST(LConnectionsTwoShards, ANameIsReadOnceForTheRequestsWaitingForItInTheirOrder) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));
  EXPECT_EQ(
      h.handle(frame(
          kA,
          R"([{"type":"subscribe","channel":"room","ref":1},{"type":"message","channel":"room","content":"x","ref":2},{"type":"history","channel":"room","ref":3}])")),
      Lines{"store ask ResolveChannel room"});
  // c-room is owned by shard 0 = this one, whose C is a stub: nothing to see;
  // "general" (owner 1) shows the order.
  EXPECT_EQ(
      h.handle(frame(
          kA,
          R"([{"type":"read","channel":"general","seq":4,"ref":4},{"type":"subscribe","channel":"general","ref":5}])")),
      Lines{"store ask ResolveChannel general"});
  // The subscribe to general waits behind the subscribe to room, whose join
  // is in flight (one subscribe of a connection at a time).
  EXPECT_EQ(h.handle(resolved(store_token(h.last()), channel("c-general", "general"))),
            (Lines{"to 1 Read bob c-general 4"}));
}

TEST(LConnectionsTwoShards, SubscribesInFlightCountAgainstTheLimit) {
  Harness h(0, 2, opts([&](auto& o) { o.max_subscriptions = 2; }));
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));
  EXPECT_EQ(
      h.handle(frame(
          kA,
          R"([{"type":"subscribe","channel":"l1","ref":1},{"type":"subscribe","channel":"l2","ref":2},{"type":"subscribe","channel":"l3","ref":3}])")),
      (Lines{"store ask ResolveChannel l1",
             "send 1 error 3 too_many_subscriptions a connection may subscribe to at most 2 "
             "channels"}));
  // A name that does not resolve frees its place, and the queued subscribe starts.
  EXPECT_EQ(h.handle(resolved(store_token(h.last(), 0), std::nullopt)),
            (Lines{"send 1 error 1 not_found no channel \"l1\"", "store ask ResolveChannel l2"}));
  const auto l2 = store_token(h.last());
  // Admitted (one place is free) but queued behind l2.
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"subscribe","channel":"l3","ref":4})")), Lines{});
  EXPECT_EQ(h.handle(resolved(l2, std::nullopt)),
            (Lines{"send 1 error 2 not_found no channel \"l2\"", "store ask ResolveChannel l3"}));
}

TEST(LConnectionsTwoShards, AStoreFailureOfTheResolveIsUnavailable) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));
  h.handle(frame(kA, R"({"type":"history","channel":"general","ref":9})"));
  engine::StoreReply reply;
  reply.token = store_token(h.last());
  reply.failure = "unavailable";
  EXPECT_EQ(h.handle(engine::StoreDone{reply}),
            Lines{"send 1 error 9 unavailable the database is unavailable; retry later"});
}

TEST(LConnectionsTwoShards, UnsubscribeLeavesTheHubAndTellsTheChannelsOwner) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));
  subscribe(h, kA, channel("c-general", "general"));
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"unsubscribe","channel":"general","ref":2})")),
            (Lines{"to 1 LeaveChannel 1 bob c-general pub-1", "send 1 unsubscribed 2 general"}));
  EXPECT_TRUE(h.shard().connections().local_subscribers("c-general").empty());
}

TEST(LConnectionsTwoShards, RatedRequestsGoToTheUsersOwnerAfterTheContentFilter) {
  auto filter = nself::core::ContentFilter::parse("secret");
  ASSERT_TRUE(filter.ok());
  Harness h(0, 2, opts([&](auto& o) { o.content_filter = *filter; }));
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("alice") + "\"}"));  // alice -> 1
  EXPECT_EQ(h.last().size(), 1u);  // AdmitConnection to shard 1
  h.handle(
      engine::FromShard{engine::ConnectionAdmitted{engine::Asker{kA, "alice", false, {}}, true}});
  const auto room = channel("c-room", "room", ChannelType::kPresence);
  subscribe(h, kA, room);
  EXPECT_EQ(
      h.handle(frame(kA, R"({"type":"message","channel":"room","content":"a secret","ref":1})")),
      Lines{"to 1 AdmitRequest Message alice c-room \"a [redacted]\" 1"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"typing","channel":"c-room","typing":true})")),
            Lines{"to 1 AdmitRequest Typing alice c-room true"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"presence","status":"away"})")),
            Lines{"to 1 AdmitRequest Presence alice [c-room] away"});
  // Refused here, still rated: the handler took a token before any check.
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"typing","channel":"quiet","typing":true,"ref":1})")),
            Lines{"to 1 AdmitRequest Refused alice error - forbidden subscribe to \"quiet\" before "
                  "sending typing"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"presence","status":"away","channel":"quiet","ref":2})")),
            Lines{"to 1 AdmitRequest Refused alice error 2 forbidden subscribe to \"quiet\" before "
                  "setting presence"});
}

// A rated request waits for its user's owner on another shard; the replies
// of the requests after it wait with it, so the connection's replies keep the
// order of its requests (batch.txt, "replies that need no store come in the
// order of the batch").
TEST(LConnectionsTwoShards, RepliesAfterARatedRequestWaitForItsDecision) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("alice") + "\"}"));  // alice -> 1
  h.handle(
      engine::FromShard{engine::ConnectionAdmitted{engine::Asker{kA, "alice", false, {}}, true}});
  EXPECT_EQ(
      h.handle(frame(
          kA,
          R"([{"type":"ping","ref":1},{"type":"typing","channel":"b1","typing":true,"ref":2},{"type":"ping","ref":3},{"type":"typing","channel":"b1","typing":true},{"type":"ping","ref":5}])")),
      (Lines{"send 1 pong 1",
             "to 1 AdmitRequest Refused alice error - forbidden subscribe to \"b1\" before "
             "sending typing",
             "to 1 AdmitRequest Refused alice error - forbidden subscribe to \"b1\" before "
             "sending typing"}));
  // The first decision: its error, then the pong that waited behind it, up to
  // the next undecided request.
  std::vector<engine::Event> first{
      engine::error({}, "forbidden", "subscribe to \"b1\" before sending typing")};
  EXPECT_EQ(h.handle(engine::FromShard{engine::RequestDecided{kA, first}}),
            (Lines{"send 1 error - forbidden subscribe to \"b1\" before sending typing",
                   "send 1 pong 3"}));
  // The second was rate limited: its error, then the last pong.
  EXPECT_EQ(h.handle(engine::FromShard{
                engine::RequestRefused{engine::Asker{kA, "alice", false, {}}, false}}),
            (Lines{"send 1 error - rate_limited more than 10 messages per second: this one was "
                   "not delivered",
                   "send 1 pong 5"}));
  // Nothing is held any more.
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"ping","ref":6})")), Lines{"send 1 pong 6"});
}

TEST(LConnections, RateLimitedWithItsRefAndTheFloodDisconnectCloses4008) {
  Harness h(0, 1, opts([&](auto& o) {
              o.max_messages_per_second = 1;
              o.flood = {2, 10'000ms};
            }));
  authenticate(h, kA, "bob");
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"presence","status":"online"})")), Lines{});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"typing","channel":"x","typing":true,"ref":"t"})")),
            Lines{"send 1 error \"t\" rate_limited more than 1 messages per second: this one was "
                  "not delivered"});
  EXPECT_EQ(
      h.handle(frame(kA, R"([{"type":"presence","status":"online","ref":"f"},{"type":"ping"}])")),
      (Lines{"send 1 error \"f\" rate_limited more than 1 messages per second: this one "
             "was not delivered",
             "close 1 4008 rate limit exceeded"}));
}

TEST(LConnections, RefusedLocallyButWithATokenTheErrorComesThroughTheUser) {
  Harness h(0, 1);
  authenticate(h, kA, "bob");
  EXPECT_EQ(
      h.handle(frame(
          kA,
          R"([{"type":"ping","ref":1},{"type":"typing","channel":"b1","typing":true,"ref":2},{"type":"ping","ref":3}])")),
      (Lines{"send 1 pong 1", "send 1 error - forbidden subscribe to \"b1\" before sending typing",
             "send 1 pong 3"}));
  h.handle(frame(kA, R"({"type":"message","channel":"nowhere","content":1,"ref":"m"})"));
  EXPECT_EQ(h.handle(resolved(store_token(h.last()), std::nullopt)),
            Lines{"send 1 error \"m\" not_found no channel \"nowhere\""});
  subscribe(h, kA, channel("c-plain", "plain"));
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"presence","status":"away","channel":"plain","ref":2})")),
            Lines{"send 1 error 2 bad_request \"plain\" is not a presence channel"});
}

TEST(LConnections, ChannelEventsAreOneDeliverWhenTheLoopHasSubscribers) {
  Harness h(0, 1);
  authenticate(h, kA, "bob");
  auto event = std::make_shared<const engine::Event>(engine::TypingEvent{"room", "carol", true});
  EXPECT_EQ(h.handle(engine::FromShard{engine::ChannelEventForLoop{"c-room", event, "carol"}}),
            Lines{});
  subscribe(h, kA, channel("c-room", "room"));
  EXPECT_EQ(h.handle(engine::FromShard{engine::ChannelEventForLoop{"c-room", event, "carol"}}),
            Lines{"deliver c-room typing room carol true skip=carol"});
  EXPECT_EQ(
      h.handle(engine::FromShard{engine::ToConnection{kA, {engine::Pong{1}, engine::Pong{2}}}}),
      (Lines{"send 1 pong 1", "send 1 pong 2"}));
}

TEST(LConnectionsTwoShards, CloseLeavesEveryChannelReleasesTheUserAndRecordsTheDisconnect) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("alice") + "\"}"));
  h.handle(
      engine::FromShard{engine::ConnectionAdmitted{engine::Asker{kA, "alice", false, {}}, true}});
  subscribe(h, kA, channel("c-general", "general"));
  subscribe(h, kA, channel("c-news", "news"));
  EXPECT_EQ(h.handle(engine::ConnectionClosed{kA}),
            (Lines{"to 1 LeaveChannel 1 alice c-general pub-1", "to 1 ReleaseConnection alice 1",
                   "store tell RecordDisconnect pub-1"}));
  EXPECT_EQ(h.shard().connections().size(), 0u);
  EXPECT_TRUE(h.shard().connections().local_subscribers("c-news").empty());
}

TEST(LConnectionsTwoShards, AJoinThatCompletesAfterTheCloseIsUndoneAtTheChannel) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));
  h.handle(frame(kA, R"({"type":"subscribe","channel":"general"})"));
  h.handle(resolved(store_token(h.last()), channel("c-general", "general")));
  h.handle(engine::ConnectionClosed{kA});
  EXPECT_EQ(h.handle(engine::FromShard{
                engine::JoinOutcome{kA, channel("c-general", "general"), {engine::Subscribed{}}}}),
            Lines{"to 1 LeaveChannel 1 bob c-general pub-1"});
  EXPECT_EQ(
      h.handle(engine::FromShard{engine::JoinOutcome{kA, channel("c-general", "general"), {}}}),
      Lines{});  // one join was in flight, one undone
}

TEST(LConnectionsTwoShards, FramesWaitWhileTheUserDecidesAndAClosedOneIsReleased) {
  Harness h(0, 2);
  h.open(kA);
  EXPECT_EQ(h.handle(frame(kA, R"([{"type":"auth","ref":1,"token":")" + token("alice") +
                                   R"("},{"type":"ping","ref":2},{"type":"bad"}])")),
            Lines{"to 1 AdmitConnection alice 1 1"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"ping","ref":3})")), Lines{});
  EXPECT_EQ(h.handle(engine::FromShard{
                engine::ConnectionAdmitted{engine::Asker{kA, "alice", false, 1}, true}}),
            (Lines{"store tell RecordConnection pub-1 alice 10.0.0.1 test-agent",
                   "send 1 auth_ok 1 alice pub-1 exp=" + exp_ms(3600s), "send 1 pong 2",
                   "send 1 error - bad_request unknown type \"bad\"", "send 1 pong 3"}));
  h.open(kB);
  h.handle(frame(kB, R"({"type":"auth","token":")" + token("alice") + "\"}"));
  EXPECT_EQ(h.handle(engine::ConnectionClosed{kB}), Lines{});
  EXPECT_EQ(h.handle(engine::FromShard{
                engine::ConnectionAdmitted{engine::Asker{kB, "alice", false, {}}, true}}),
            Lines{"to 1 ReleaseConnection alice 2"});
}

TEST(LConnectionsTwoShards, ActivityGoesToEachPresenceChannelAtMostOnceASecond) {
  Harness h(0, 2);
  h.open(kA);
  h.handle(frame(kA, R"({"type":"auth","token":")" + token("bob") + "\"}"));
  subscribe(h, kA, channel("c-news", "news"));  // not presence: no activity
  subscribe(h, kA, channel("c-general", "general", ChannelType::kPresence));
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"ping"})")),
            (Lines{"send 1 pong -", "to 1 Activity bob c-general"}));
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"ping"})"), at(999ms)), Lines{"send 1 pong -"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"ping"})"), at(1s)),
            (Lines{"send 1 pong -", "to 1 Activity bob c-general"}));
}

TEST(LConnections, AdminDisconnectCloses4000) {
  Harness h(0, 1);
  authenticate(h, kA, "bob");
  EXPECT_EQ(h.handle(engine::AdminDisconnect{kA}),
            Lines{"close 1 4000 disconnected by an administrator"});
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"ping"})")), Lines{});
}

TEST(LConnections, ADeletedChannelIsToldToItsSubscribersAndItsNameReadAgain) {
  Harness h(0, 1);
  authenticate(h, kA, "bob");
  authenticate(h, kB, "carol");
  const auto air = channel("c-air", "air");
  subscribe(h, kA, air);
  subscribe(h, kB, air);
  EXPECT_EQ(h.handle(engine::AdminChannelDeleted{"c-air", "air"}),
            (Lines{"send 1 channel_deleted air", "send 2 channel_deleted air"}));
  EXPECT_TRUE(h.shard().connections().local_subscribers("c-air").empty());
  EXPECT_EQ(h.handle(frame(kA, R"({"type":"message","channel":"air","content":"x","ref":2})")),
            Lines{"store ask ResolveChannel air"});
}

TEST(LConnectionsTwoShards, ARevokedMemberLeavesItsPrivateChannelsButAdminsAndOthersStay) {
  Harness h(0, 2);
  const ConnectionId kZ = engine::make_connection_id(0, 3);
  for (auto [id, user, role] :
       {std::tuple{kA, "bob", ""}, std::tuple{kB, "bob", ""}, std::tuple{kZ, "bob", "admin"}}) {
    h.open(id);
    h.handle(frame(id, R"({"type":"auth","token":")" + token(user, 3600s, role) + "\"}"));
  }
  const auto team = channel("c-general", "team", ChannelType::kPrivate);
  subscribe(h, kA, team);
  subscribe(h, kZ, team);
  subscribe(h, kB, channel("c-news", "news"));
  EXPECT_EQ(h.handle(engine::AdminMemberRevoked{"c-news", "bob"}), Lines{});  // public
  EXPECT_EQ(h.handle(engine::AdminMemberRevoked{"c-general", "bob"}),
            (Lines{"to 1 LeaveChannel 1 bob c-general pub-1", "send 1 unsubscribed - team"}));
  ASSERT_EQ(h.shard().connections().local_subscribers("c-general").size(), 1u);
  EXPECT_EQ(h.shard().connections().local_subscribers("c-general")[0].connection, kZ);
}

TEST(LConnections, BroadcastsGoToTheChannelsSubscribersOrEveryAuthenticatedConnection) {
  Harness h(0, 1);
  engine::BroadcastEvent news{"b1", "news", "maintenance", "{}", at().wall, std::nullopt};
  EXPECT_EQ(h.handle(engine::AdminBroadcast{news, "c-news"}), Lines{});
  EXPECT_EQ(h.handle(engine::AdminBroadcast{news, std::nullopt}), Lines{});
  authenticate(h, kA, "bob");
  subscribe(h, kA, channel("c-news", "news"));
  EXPECT_EQ(h.handle(engine::AdminBroadcast{news, "c-news"}),
            Lines{"deliver c-news broadcast b1 maintenance skip=-"});
  EXPECT_EQ(h.handle(engine::AdminBroadcast{news, std::nullopt}),
            Lines{"deliver_all broadcast b1 maintenance"});
}

TEST(LConnections, HeartbeatEveryIntervalWithTheAuthenticatedConnections) {
  Harness h(0, 1, opts([&](auto& o) {
              o.heartbeat_interval = 30s;
              o.auth_timeout = 3600s;
            }));
  authenticate(h, kA, "bob");
  h.open(kB);  // anonymous: not in it
  EXPECT_EQ(h.handle(engine::Tick{}, at(1s)), Lines{"store tell Heartbeat pub-1"});
  EXPECT_EQ(h.handle(engine::Tick{}, at(30s)), Lines{});
  EXPECT_EQ(h.handle(engine::Tick{}, at(31s)), Lines{"store tell Heartbeat pub-1"});
}

TEST(LConnections, DescribeListsEveryConnectionWithItsSortedSubscriptions) {
  Harness h(0, 1);
  authenticate(h, kA, "bob");
  subscribe(h, kA, channel("c-zeta", "zeta"));
  subscribe(h, kA, channel("c-alpha", "alpha"));
  h.open(kB);
  const auto listing = h.shard().connections().describe();
  ASSERT_EQ(listing.size(), 2u);
  EXPECT_EQ(listing[0].public_id, "pub-1");
  EXPECT_EQ(listing[0].user_id, "bob");
  EXPECT_EQ(listing[0].subscriptions, (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_FALSE(listing[1].authenticated);
  EXPECT_EQ(listing[1].user_id, "");
}

}  // namespace
