// Role C (channels): presence and typing, through a real Shard of 2
// (channels_fixture.hpp).
#include <gtest/gtest.h>

#include "channels_fixture.hpp"

namespace {

using namespace nself_channels_test;

class ChannelsPresence : public ChannelsFixture {
 protected:
  const std::string id = channel_owned_by(0, 2);
  const ConnectionId a = make_connection_id(1, 1);
  const ConnectionId b1 = make_connection_id(1, 2);
  const ConnectionId b2 = make_connection_id(1, 3);
  const ChannelInfo room = channel_info(id, "room", ChannelType::kPresence);

  static std::vector<PresenceRow> rows_of(const Actions& actions) {
    std::vector<PresenceRow> rows;
    for (const Action& action : actions) {
      if (const auto* store = std::get_if<Store>(&action)) {
        if (const auto* write = std::get_if<WritePresence>(&store->job.request)) {
          rows.insert(rows.end(), write->rows.begin(), write->rows.end());
        }
      }
    }
    return rows;
  }
  // The events fanned out, with their skip_user.
  static std::vector<ChannelEventForLoop> fanned(const Actions& actions) {
    std::vector<ChannelEventForLoop> list;
    for (auto& [shard, message] : sent<ChannelEventForLoop>(actions)) list.push_back(message);
    return list;
  }
};

TEST_F(ChannelsPresence, AJoinerGetsSubscribedThenPresenceStateThenTheReplay) {
  join(a, "alice", room);
  const Actions asked = from_shard(
      JoinChannel{asker(b1, "bob", Ref{std::string("s")}), room, 5, std::nullopt, "pub-b1"});
  SubscribeAnswer reply;
  reply.channel = room;
  reply.replay = true;
  const Actions out = answer(job_of<ReadForSubscribe>(asked).token, reply);
  // presence_join to the others first (skip the joiner), then the outcome.
  ASSERT_EQ(out.size(), 3u);
  const auto& join_event = std::get<ChannelEventForLoop>(std::get<ToShard>(out[0]).message);
  EXPECT_EQ(join_event.skip_user, std::optional<std::string>("bob"));
  const auto& joined = std::get<PresenceJoin>(*join_event.event);
  EXPECT_EQ(joined.channel, "room");
  EXPECT_EQ(joined.member.user_id, "bob");
  EXPECT_FALSE(joined.member.away);
  EXPECT_EQ(joined.member.last_active, now_.wall);
  const auto& write = std::get<WritePresence>(std::get<Store>(out[1]).job.request);
  ASSERT_EQ(write.rows.size(), 1u);
  EXPECT_EQ(write.rows[0].user_id, "bob");
  EXPECT_EQ(write.rows[0].channel_id, id);
  EXPECT_FALSE(write.rows[0].away);
  EXPECT_FALSE(write.rows[0].offline);
  EXPECT_EQ(write.rows[0].meta_json, "{}");
  EXPECT_EQ(write.remove_stale_before, std::nullopt);
  const auto& outcome = std::get<JoinOutcome>(std::get<ToShard>(out[2]).message);
  ASSERT_EQ(outcome.events.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Subscribed>(outcome.events[0]));
  const auto& state = std::get<PresenceState>(outcome.events[1]);
  EXPECT_EQ(state.ref, Ref{std::string("s")});
  ASSERT_EQ(state.members.size(), 2u);
  EXPECT_EQ(state.members[0].user_id, "alice");
  EXPECT_EQ(state.members[1].user_id, "bob");
  EXPECT_TRUE(std::holds_alternative<HistoryEvent>(outcome.events[2]));
}

TEST_F(ChannelsPresence, TwoTabsOfOneUserAreOneMember) {
  join(a, "alice", room);
  join(b1, "bob", room);
  const Actions second = join(b2, "bob", room);
  EXPECT_TRUE(fanned(second).empty());
  EXPECT_TRUE(rows_of(second).empty());
  const auto outcome = sent<JoinOutcome>(second);
  ASSERT_EQ(outcome.size(), 1u);
  EXPECT_EQ(std::get<PresenceState>(outcome[0].second.events[1]).members.size(), 2u);
  const Actions first_leaves = from_shard(LeaveChannel{b1, "bob", id, "p"});
  EXPECT_TRUE(fanned(first_leaves).empty());
  EXPECT_TRUE(rows_of(first_leaves).empty());
  const Actions last_leaves = from_shard(LeaveChannel{b2, "bob", id, "p"});
  const auto events = fanned(last_leaves);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].skip_user, std::nullopt);
  EXPECT_EQ(std::get<PresenceLeave>(*events[0].event).user_id, "bob");
  const auto rows = rows_of(last_leaves);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].offline);
  EXPECT_EQ(count_jobs<RemoveSubscription>(last_leaves), 1u);
}

TEST_F(ChannelsPresence, AnUpdateGoesToEveryMemberAndIsWritten) {
  join(a, "alice", room);
  join(b1, "bob", room);
  advance(5s);
  const Actions out = from_shard(PresenceToChannels{asker(b1, "bob"), {room}, true, "{\"d\":1}"});
  const auto events = fanned(out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].skip_user, std::nullopt);  // the sender's tabs too
  const auto& update = std::get<PresenceUpdate>(*events[0].event);
  EXPECT_EQ(update.member.user_id, "bob");
  EXPECT_TRUE(update.member.away);
  EXPECT_EQ(update.member.meta_json, std::optional<std::string>("{\"d\":1}"));
  EXPECT_EQ(update.member.last_active, now_.wall);
  const auto rows = rows_of(out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].away);
  EXPECT_EQ(rows[0].meta_json, "{\"d\":1}");
  // An absent meta keeps the current one.
  const auto back = fanned(from_shard(PresenceToChannels{asker(b1, "bob"), {room}, false, {}}));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(std::get<PresenceUpdate>(*back[0].event).member.meta_json,
            std::optional<std::string>("{\"d\":1}"));
}

TEST_F(ChannelsPresence, AnUpdateForANonMemberOrAnotherOwnersChannelDoesNothing) {
  join(a, "alice", room);
  EXPECT_TRUE(from_shard(PresenceToChannels{asker(b1, "bob"), {room}, true, {}}).empty());
  // Another owner's channel: never joined here.
  const ChannelInfo elsewhere = channel_info(channel_owned_by(1, 2), "far", ChannelType::kPresence);
  EXPECT_TRUE(from_shard(PresenceToChannels{asker(a, "alice"), {elsewhere}, true, {}}).empty());
}

TEST_F(ChannelsPresence, AnIdleMemberBecomesAwayInTheTickAndComesBackOnActivity) {
  join(a, "alice", room);
  join(b1, "bob", room);
  advance(std::chrono::milliseconds(299'999));
  EXPECT_TRUE(fanned(handle(Tick{})).empty());
  from_shard(Activity{"bob", id});
  advance(1ms);
  const Actions away = handle(Tick{});
  const auto events = fanned(away);
  ASSERT_EQ(events.size(), 1u);
  const auto& update = std::get<PresenceUpdate>(*events[0].event);
  EXPECT_EQ(update.member.user_id, "alice");
  EXPECT_TRUE(update.member.away);
  const auto rows = rows_of(away);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].away);
  EXPECT_TRUE(fanned(handle(Tick{})).empty());  // once

  const Actions back = from_shard(Activity{"alice", id});
  const auto again = fanned(back);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_FALSE(std::get<PresenceUpdate>(*again[0].event).member.away);
  EXPECT_EQ(rows_of(back).size(), 1u);
  EXPECT_TRUE(from_shard(Activity{"alice", id}).empty());  // online already
}

TEST_F(ChannelsPresence, AskedAwayStaysAwayThroughActivity) {
  join(a, "alice", room);
  from_shard(PresenceToChannels{asker(a, "alice"), {room}, true, {}});
  EXPECT_TRUE(from_shard(Activity{"alice", id}).empty());
}

TEST_F(ChannelsPresence, TheHeartbeatRewritesEveryRowAndShardZeroCleansStaleOnes) {
  join(a, "alice", room);
  const Actions first = handle(Tick{});
  ASSERT_EQ(count_jobs<WritePresence>(first), 1u);
  const auto& write = std::get<WritePresence>(job_of<WritePresence>(first).request);
  ASSERT_EQ(write.rows.size(), 1u);
  EXPECT_EQ(write.rows[0].user_id, "alice");
  EXPECT_EQ(write.at, now_.wall);
  EXPECT_EQ(write.remove_stale_before,
            std::optional<WallTime>(now_.wall - std::chrono::milliseconds(90'000)));
  advance(29s);
  EXPECT_EQ(count_jobs<WritePresence>(handle(Tick{})), 0u);
  advance(1s);
  EXPECT_EQ(count_jobs<WritePresence>(handle(Tick{})), 1u);
}

TEST_F(ChannelsPresence, AnotherShardRefreshesItsRowsWithoutTheCleanup) {
  shard_ = std::make_unique<Shard>(1, 2, EngineOptions{}, verifier_);
  EXPECT_EQ(count_jobs<WritePresence>(handle(Tick{})), 0u);  // no members, no cleanup
}

TEST_F(ChannelsPresence, ADeletedChannelForgetsItsMembersQuietly) {
  join(a, "alice", room);
  const Actions out = handle(AdminChannelDeleted{id, "room"});
  EXPECT_TRUE(out.empty());
  join(b1, "bob", room);
  const auto outcome = sent<JoinOutcome>(join(b2, "carol", room));
  ASSERT_EQ(outcome.size(), 1u);
  EXPECT_FALSE(outcome[0].second.joined);  // deleted: not found
  EXPECT_TRUE(rows_of(handle(Tick{})).empty());
}

class ChannelsTyping : public ChannelsFixture {
 protected:
  const std::string id = channel_owned_by(0, 2);
  const ConnectionId a = make_connection_id(1, 1);
  const ChannelInfo room = channel_info(id, "room");
};

TEST_F(ChannelsTyping, TypingGoesToTheOtherUsersOnly) {
  join(a, "alice", room);
  join(make_connection_id(1, 2), "bob", room);
  const auto out =
      sent<ChannelEventForLoop>(from_shard(TypingToChannel{asker(a, "alice"), room, true}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, 1u);
  EXPECT_EQ(out[0].second.skip_user, std::optional<std::string>("alice"));
  const auto& typing = std::get<TypingEvent>(*out[0].second.event);
  EXPECT_EQ(typing.channel, "room");
  EXPECT_EQ(typing.user_id, "alice");
  EXPECT_TRUE(typing.typing);
}

TEST_F(ChannelsTyping, AnIndicatorNotRenewedExpiresAsTypingFalse) {
  join(a, "alice", room);
  from_shard(TypingToChannel{asker(a, "alice"), room, true});
  advance(5s);
  from_shard(TypingToChannel{asker(a, "alice"), room, true});  // renewed
  advance(5s);
  EXPECT_TRUE(sent<ChannelEventForLoop>(handle(Tick{})).empty());
  advance(1s);
  const auto out = sent<ChannelEventForLoop>(handle(Tick{}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second.skip_user, std::optional<std::string>("alice"));
  EXPECT_FALSE(std::get<TypingEvent>(*out[0].second.event).typing);
  advance(10s);
  EXPECT_TRUE(sent<ChannelEventForLoop>(handle(Tick{})).empty());  // once
}

TEST_F(ChannelsTyping, TypingFalseEndsTheIndicator) {
  join(a, "alice", room);
  from_shard(TypingToChannel{asker(a, "alice"), room, true});
  EXPECT_EQ(
      sent<ChannelEventForLoop>(from_shard(TypingToChannel{asker(a, "alice"), room, false})).size(),
      1u);
  advance(10s);
  EXPECT_TRUE(sent<ChannelEventForLoop>(handle(Tick{})).empty());
}

}  // namespace
