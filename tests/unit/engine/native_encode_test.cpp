// The native adapter (src/protocols/native/encode.hpp): one engine event of
// each kind against the literal JSON today's RealtimeHandler sends, so that
// moving the decisions into the engine changes no byte on the wire.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "protocols/native/encode.hpp"

namespace nself::core::engine {
namespace {

using namespace std::chrono_literals;
using protocols::native::encode;

const WallTime kTime = std::chrono::sys_days{std::chrono::year{2026} / 1 / 30} + 10h + 1234ms;

MessageRecord record(std::int64_t seq, std::string content) {
  return MessageRecord{"0190b6a2-0000-7000-8000-00000000000" + std::to_string(seq),
                       "c0ffee00-0000-4000-8000-000000000000",
                       seq,
                       "u1",
                       std::move(content),
                       kTime};
}

TEST(NativeEncode, AuthOk) {
  EXPECT_EQ(encode(AuthOk{Ref{std::string("a")}, "u1", "conn-1", kTime}),
            R"({"type":"auth_ok","ref":"a","user_id":"u1","connection_id":"conn-1",)"
            R"("expires_at":"2026-01-30T10:00:01.234Z"})");
  EXPECT_EQ(encode(AuthOk{Ref{}, "u1", "conn-1", std::nullopt}),
            R"({"type":"auth_ok","user_id":"u1","connection_id":"conn-1","expires_at":null})");
}

TEST(NativeEncode, SubscribedAndUnsubscribed) {
  EXPECT_EQ(encode(Subscribed{Ref{std::int64_t{7}}, "general", 3, std::nullopt}),
            R"({"type":"subscribed","ref":7,"channel":"general","seq":3})");
  EXPECT_EQ(encode(Subscribed{Ref{}, "team", 5, 2}),
            R"({"type":"subscribed","channel":"team","seq":5,"unread":2})");
  EXPECT_EQ(encode(Unsubscribed{Ref{std::string("u")}, "general", ""}),
            R"({"type":"unsubscribed","ref":"u","channel":"general"})");
  // Ended by the server: no ref, and why.
  EXPECT_EQ(encode(Unsubscribed{Ref{}, "team", "removed"}),
            R"({"type":"unsubscribed","channel":"team","reason":"removed"})");
}

TEST(NativeEncode, MessageCarriesTheSlugAndTheContentAsSent) {
  EXPECT_EQ(encode(MessageEvent{"general", record(1, R"({"text":"hi"})")}),
            R"({"type":"message","channel":"general","id":"0190b6a2-0000-7000-8000-000000000001",)"
            R"("seq":1,"user_id":"u1","content":{"text":"hi"},)"
            R"("created_at":"2026-01-30T10:00:01.234Z"})");
}

TEST(NativeEncode, Ack) {
  EXPECT_EQ(encode(Ack{Ref{std::string("m1")}, "id-1", "general", 4}),
            R"({"type":"ack","ref":"m1","id":"id-1","channel":"general","seq":4})");
}

TEST(NativeEncode, HistoryOldestFirst) {
  EXPECT_EQ(encode(HistoryEvent{
                Ref{std::string("h")}, "general", {record(1, R"("a")"), record(2, "[1,2]")}, true}),
            R"({"type":"history","ref":"h","channel":"general","messages":[)"
            R"({"id":"0190b6a2-0000-7000-8000-000000000001","seq":1,"user_id":"u1",)"
            R"("content":"a","created_at":"2026-01-30T10:00:01.234Z"},)"
            R"({"id":"0190b6a2-0000-7000-8000-000000000002","seq":2,"user_id":"u1",)"
            R"("content":[1,2],"created_at":"2026-01-30T10:00:01.234Z"}],"has_more":true})");
  EXPECT_EQ(encode(HistoryEvent{Ref{}, "empty", {}, false}),
            R"({"type":"history","channel":"empty","messages":[],"has_more":false})");
}

TEST(NativeEncode, TypingPongError) {
  EXPECT_EQ(encode(TypingEvent{"general", "u2", true}),
            R"({"type":"typing","channel":"general","user_id":"u2","typing":true})");
  EXPECT_EQ(encode(Pong{Ref{}}), R"({"type":"pong"})");
  EXPECT_EQ(encode(Pong{Ref{std::int64_t{-1}}}), R"({"type":"pong","ref":-1})");
  EXPECT_EQ(encode(error(Ref{std::string("x")}, "forbidden", R"(not "yours")")),
            R"({"type":"error","ref":"x","code":"forbidden","message":"not \"yours\""})");
}

TEST(NativeEncode, ChannelDeleted) {
  EXPECT_EQ(encode(ChannelDeleted{"gone"}), R"({"type":"channel_deleted","channel":"gone"})");
}

TEST(NativeEncode, PresenceAwayIsAwayElseOnline) {
  const PresenceMemberView online{"u1", false, std::nullopt, kTime};
  const PresenceMemberView away{"u2", true, std::string(R"({"device":"web"})"), kTime + 1s};
  EXPECT_EQ(encode(PresenceState{Ref{std::string("p")}, "lobby", {online, away}}),
            R"({"type":"presence_state","ref":"p","channel":"lobby","members":[)"
            R"({"user_id":"u1","status":"online","meta":null,)"
            R"("last_active":"2026-01-30T10:00:01.234Z"},)"
            R"({"user_id":"u2","status":"away","meta":{"device":"web"},)"
            R"("last_active":"2026-01-30T10:00:02.234Z"}]})");
  EXPECT_EQ(encode(PresenceJoin{"lobby", online}),
            R"({"type":"presence_join","channel":"lobby","user_id":"u1","status":"online",)"
            R"("meta":null,"last_active":"2026-01-30T10:00:01.234Z"})");
  EXPECT_EQ(encode(PresenceUpdate{"lobby", away}),
            R"({"type":"presence_update","channel":"lobby","user_id":"u2","status":"away",)"
            R"("meta":{"device":"web"},"last_active":"2026-01-30T10:00:02.234Z"})");
  EXPECT_EQ(encode(PresenceLeave{"lobby", "u1"}),
            R"({"type":"presence_leave","channel":"lobby","user_id":"u1"})");
}

TEST(NativeEncode, Broadcast) {
  EXPECT_EQ(encode(BroadcastEvent{"b1", std::string("general"), "notice", R"({"v":1})", kTime,
                                  kTime + 1h}),
            R"({"type":"broadcast","id":"b1","channel":"general","event":"notice",)"
            R"("payload":{"v":1},"created_at":"2026-01-30T10:00:01.234Z",)"
            R"("expires_at":"2026-01-30T11:00:01.234Z"})");
  EXPECT_EQ(encode(BroadcastEvent{"b2", std::nullopt, "maintenance", "null", kTime, std::nullopt}),
            R"({"type":"broadcast","id":"b2","channel":null,"event":"maintenance",)"
            R"("payload":null,"created_at":"2026-01-30T10:00:01.234Z","expires_at":null})");
}

TEST(NativeEncode, SharedEventEncodesTheSame) {
  const SharedEvent shared = std::make_shared<const Event>(PresenceLeave{"lobby", "u1"});
  EXPECT_EQ(encode(*shared), encode(PresenceLeave{"lobby", "u1"}));
}

}  // namespace
}  // namespace nself::core::engine
