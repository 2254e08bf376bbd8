// Role C (channels): subscribes and leaves, through a real Shard (see
// channels_fixture.hpp). Messages: channel_messages_test.cpp; history and
// read: channel_history_read_test.cpp; presence and typing:
// channel_presence_test.cpp.
#include <gtest/gtest.h>

#include "channels_fixture.hpp"

namespace {

using namespace nself_channels_test;

class ChannelsJoin : public ChannelsFixture {
 protected:
  const std::string id = channel_owned_by(0, 2);
  const ConnectionId a = make_connection_id(1, 1);
  const ConnectionId a2 = make_connection_id(1, 2);
  const ConnectionId b = make_connection_id(1, 3);
};

TEST_F(ChannelsJoin, AlwaysReadsTheChannelAfreshFromTheStore) {
  const Actions out = from_shard(JoinChannel{asker(a, "alice", Ref{std::int64_t{7}}),
                                             channel_info(id, "news"), 2, std::nullopt, "pub-a"});
  ASSERT_EQ(out.size(), 1u);
  const StoreJob& job = job_of<ReadForSubscribe>(out);
  EXPECT_EQ(job.origin, 0u);
  EXPECT_EQ(role_of_token(job.token), Role::kChannels);
  const auto& read = std::get<ReadForSubscribe>(job.request);
  EXPECT_EQ(read.channel_id, id);
  EXPECT_EQ(read.user_id, "alice");
  EXPECT_EQ(read.history, std::optional<std::int64_t>(2));
  EXPECT_EQ(read.since, std::nullopt);
  EXPECT_EQ(read.connection_public_id, "pub-a");
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);  // not before the answer
}

TEST_F(ChannelsJoin, JoinsAndAnswersTheConnectionsShardWithSeqUnreadAndReplay) {
  const Actions asked = from_shard(JoinChannel{asker(a, "alice", Ref{std::string("s1")}),
                                               channel_info(id, "news"), 2, std::nullopt, "pub-a"});
  SubscribeAnswer reply;
  reply.channel = channel_info(id, "news", ChannelType::kPublic, true, 3);
  reply.membership = Membership{true, 1};
  reply.messages = {MessageRecord{"m2", id, 2, "bob", "2", now_.wall},
                    MessageRecord{"m3", id, 3, "carol", "3", now_.wall}};
  reply.replay = true;
  reply.has_more = true;
  const Actions out = answer(job_of<ReadForSubscribe>(asked).token, reply);
  const auto outcomes = sent<JoinOutcome>(out);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].first, 1u);
  const JoinOutcome& outcome = outcomes[0].second;
  EXPECT_EQ(outcome.connection, a);
  ASSERT_TRUE(outcome.joined);
  EXPECT_EQ(outcome.joined->id, id);
  EXPECT_EQ(outcome.joined->slug, "news");
  ASSERT_EQ(outcome.events.size(), 2u);
  const auto& subscribed = std::get<Subscribed>(outcome.events[0]);
  EXPECT_EQ(subscribed.ref, Ref{std::string("s1")});
  EXPECT_EQ(subscribed.channel, "news");
  EXPECT_EQ(subscribed.seq, 3);
  EXPECT_EQ(subscribed.unread, std::optional<std::int64_t>(2));
  const auto& history = std::get<HistoryEvent>(outcome.events[1]);
  EXPECT_EQ(history.ref, Ref{std::string("s1")});
  ASSERT_EQ(history.messages.size(), 2u);
  EXPECT_EQ(history.messages[0].seq, 2);
  EXPECT_TRUE(history.has_more);
  EXPECT_EQ(shard_->channels().subscriber_count(id), 1u);
}

TEST_F(ChannelsJoin, ANonMemberHasNoUnread) {
  const Actions out = join(a, "alice", channel_info(id, "news", ChannelType::kPublic, true, 4));
  const auto outcomes = sent<JoinOutcome>(out);
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_EQ(outcomes[0].second.events.size(), 1u);
  EXPECT_EQ(std::get<Subscribed>(outcomes[0].second.events[0]).unread, std::nullopt);
  EXPECT_EQ(std::get<Subscribed>(outcomes[0].second.events[0]).seq, 4);
}

TEST_F(ChannelsJoin, AChannelGoneFromTheStoreIsNotFound) {
  const Actions asked =
      from_shard(JoinChannel{asker(a, "alice", Ref{std::int64_t{1}}), channel_info(id, "gone"),
                             std::nullopt, std::nullopt, "pub-a"});
  const Actions out = answer(job_of<ReadForSubscribe>(asked).token, SubscribeAnswer{});
  const auto outcomes = sent<JoinOutcome>(out);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].second.joined);
  const ErrorEvent& e = error_in(outcomes[0].second.events);
  EXPECT_EQ(e.code, "not_found");
  EXPECT_EQ(e.message, "no channel \"gone\"");
  EXPECT_EQ(e.ref, Ref{std::int64_t{1}});
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);
}

TEST_F(ChannelsJoin, APrivateChannelIsForMembersAndAdmins) {
  const ChannelInfo team = channel_info(id, "team", ChannelType::kPrivate);
  Actions out = join(b, "bob", team);
  auto outcomes = sent<JoinOutcome>(out);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].second.joined);
  EXPECT_EQ(error_in(outcomes[0].second.events).message,
            "not a member of private channel \"team\"");
  // The row ReadForSubscribe wrote goes again.
  EXPECT_EQ(std::get<RemoveSubscription>(job_of<RemoveSubscription>(out).request).channel_id, id);

  outcomes = sent<JoinOutcome>(join(a, "zed", team, std::nullopt, /*admin=*/true));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].second.joined);
  outcomes = sent<JoinOutcome>(join(a2, "alice", team, Membership{true, 0}));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].second.joined);
  EXPECT_EQ(shard_->channels().subscriber_count(id), 2u);
}

TEST_F(ChannelsJoin, AFullChannelRefusesANewUserButNotAMembersOtherTab) {
  ChannelInfo small = channel_info(id, "small");
  small.max_members = 1;
  ASSERT_TRUE(sent<JoinOutcome>(join(a, "alice", small))[0].second.joined);
  const Actions refused = join(b, "bob", small, std::nullopt, /*admin=*/true);
  const auto outcomes = sent<JoinOutcome>(refused);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].second.joined);
  const ErrorEvent& e = error_in(outcomes[0].second.events);
  EXPECT_EQ(e.code, "forbidden");
  EXPECT_EQ(e.message, "channel \"small\" is full: it has its maximum of 1 members");
  EXPECT_EQ(count_jobs<RemoveSubscription>(refused), 1u);
  EXPECT_TRUE(sent<JoinOutcome>(join(a2, "alice", small))[0].second.joined);
  EXPECT_EQ(shard_->channels().subscriber_count(id), 2u);
}

TEST_F(ChannelsJoin, StoreFailuresAreTodaysErrors) {
  for (const auto& [failure, message] :
       {std::pair<std::string, std::string>{"unavailable",
                                            "the database is unavailable; retry later"},
        {"overloaded", "too many messages are waiting to be stored; retry later"}}) {
    const Actions asked =
        from_shard(JoinChannel{asker(a, "alice", Ref{std::int64_t{3}}), channel_info(id, "news"),
                               std::nullopt, std::nullopt, "pub-a"});
    const auto outcomes = sent<JoinOutcome>(fail(job_of<ReadForSubscribe>(asked).token, failure));
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_FALSE(outcomes[0].second.joined);
    const ErrorEvent& e = error_in(outcomes[0].second.events);
    EXPECT_EQ(e.code, failure);
    EXPECT_EQ(e.message, message);
    EXPECT_EQ(e.ref, Ref{std::int64_t{3}});
  }
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);
}

TEST_F(ChannelsJoin, ASecondSubscribeOfAConnectionIsAnsweredWithoutCountingAgain) {
  ChannelInfo small = channel_info(id, "small");
  small.max_members = 1;
  join(a, "alice", small);
  const auto again = sent<JoinOutcome>(join(a, "alice", small));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].second.joined);
  EXPECT_EQ(shard_->channels().subscriber_count(id), 1u);
  // Counted once: one leave frees the user's place.
  from_shard(LeaveChannel{a, "alice", id, "pub-1"});
  EXPECT_TRUE(sent<JoinOutcome>(join(b, "bob", small))[0].second.joined);
}

TEST_F(ChannelsJoin, AnEphemeralChannelsSeqIsTheOwnersCount) {
  const ChannelInfo air = channel_info(id, "air", ChannelType::kPublic, false);
  join(b, "bob", air);
  Actions sentm = from_shard(MessageToChannel{asker(b, "bob"), air, "1"});
  ASSERT_EQ(sent<ChannelEventForLoop>(sentm).size(), 1u);
  const auto outcomes = sent<JoinOutcome>(join(a, "alice", air));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(std::get<Subscribed>(outcomes[0].second.events[0]).seq, 1);
}

TEST_F(ChannelsJoin, LeavingUncountsAndRemovesTheRow) {
  join(a, "alice", channel_info(id, "news"));
  join(a2, "alice", channel_info(id, "news"));
  const Actions out = from_shard(LeaveChannel{a, "alice", id, "pub-1"});
  const auto& remove = std::get<RemoveSubscription>(job_of<RemoveSubscription>(out).request);
  EXPECT_EQ(remove.connection_public_id, "pub-1");
  EXPECT_EQ(remove.channel_id, id);
  EXPECT_EQ(shard_->channels().subscriber_count(id), 1u);
  from_shard(LeaveChannel{a2, "alice", id, "pub-2"});
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);
}

TEST_F(ChannelsJoin, LeavingFreesTheUsersPlaceInAFullChannel) {
  ChannelInfo small = channel_info(id, "small");
  small.max_members = 1;
  join(a, "alice", small);
  from_shard(LeaveChannel{a, "alice", id, "pub-1"});
  EXPECT_TRUE(sent<JoinOutcome>(join(b, "bob", small))[0].second.joined);
}

TEST_F(ChannelsJoin, AConnectionThatLeftBeforeTheAnswerNeverJoins) {
  const Actions asked = from_shard(
      JoinChannel{asker(a, "alice"), channel_info(id, "news"), std::nullopt, std::nullopt, "p"});
  from_shard(LeaveChannel{a, "alice", id, "p"});
  SubscribeAnswer reply;
  reply.channel = channel_info(id, "news");
  const Actions out = answer(job_of<ReadForSubscribe>(asked).token, reply);
  const auto outcomes = sent<JoinOutcome>(out);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].second.joined);
  EXPECT_TRUE(outcomes[0].second.events.empty());
  EXPECT_EQ(count_jobs<RemoveSubscription>(out), 1u);
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);
}

TEST_F(ChannelsJoin, ADeleteDropsTheSubscribersAndASubscribeAnsweredAfterItIsNotFound) {
  join(a, "alice", channel_info(id, "air"));
  const Actions asked = from_shard(
      JoinChannel{asker(b, "bob"), channel_info(id, "air"), std::nullopt, std::nullopt, "p"});
  handle(AdminChannelDeleted{id, "air"});
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);
  SubscribeAnswer reply;
  reply.channel = channel_info(id, "air");  // read before the delete committed
  const auto outcomes = sent<JoinOutcome>(answer(job_of<ReadForSubscribe>(asked).token, reply));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].second.joined);
  EXPECT_EQ(error_in(outcomes[0].second.events).code, "not_found");
}

// One shard alone: C's answers to L are handled at once (L is another
// role's, a stub on this branch), so only the store work shows.
class ChannelsOneShard : public ChannelsFixture {
 protected:
  ChannelsOneShard() : ChannelsFixture(1) {}
};

TEST_F(ChannelsOneShard, JoinsAndLeavesWithoutMailboxes) {
  const std::string id = channel_owned_by(0, 1);
  const ConnectionId c = make_connection_id(0, 1);
  const Actions out = join(c, "alice", channel_info(id, "news"));
  EXPECT_TRUE(sent<JoinOutcome>(out).empty());
  EXPECT_EQ(shard_->channels().subscriber_count(id), 1u);
  from_shard(LeaveChannel{c, "alice", id, "p"});
  EXPECT_EQ(shard_->channels().subscriber_count(id), 0u);
}

TEST_F(ChannelsOneShard, APersistentMessageAsksAccessThenAppends) {
  const std::string id = channel_owned_by(0, 1);
  const ConnectionId c = make_connection_id(0, 1);
  const Actions asked = from_shard(MessageToChannel{asker(c, "alice"), channel_info(id, "m"), "1"});
  const StoreJob& access = job_of<ReadAccess>(asked);
  const Actions appended = answer(access.token, ChannelAnswer{channel_info(id, "m"), std::nullopt});
  const auto& append = std::get<AppendMessage>(job_of<AppendMessage>(appended).request);
  EXPECT_EQ(append.user_id, "alice");
  EXPECT_EQ(append.content_json, "1");
  const Actions done = commit(appended, 1, "alice", "1");
  EXPECT_TRUE(done.empty());  // fan-out and ack went to this shard's L
}

}  // namespace
