// Role C (channels): messages, the access cache and the admin operations,
// through a real Shard of 2 (channels_fixture.hpp).
#include <gtest/gtest.h>

#include <regex>

#include "channels_fixture.hpp"

namespace {

using namespace nself_channels_test;

class ChannelsMessage : public ChannelsFixture {
 protected:
  const std::string id = channel_owned_by(0, 2);
  const ConnectionId a = make_connection_id(1, 1);
  const ConnectionId b = make_connection_id(1, 2);
  ChannelInfo news = channel_info(id, "news");

  Actions send(ConnectionId from, const std::string& user, const ChannelInfo& info,
               std::string content, Ref ref = {}, bool admin = false) {
    return from_shard(MessageToChannel{asker(from, user, ref, admin), info, std::move(content)});
  }
  // A message whose ReadAccess is answered with `access`.
  Actions send_with(const ChannelAnswer& access, ConnectionId from, const std::string& user,
                    Ref ref = {}, bool admin = false) {
    const Actions asked = send(from, user, news, "\"x\"", ref, admin);
    return answer(job_of<ReadAccess>(asked).token, access);
  }
};

TEST_F(ChannelsMessage, ACommittedMessageIsFannedOutToEveryLoopThenAcked) {
  join(a, "alice", news);
  const Actions asked = send(b, "bob", news, "{\"t\":1}", Ref{std::string("m-17")});
  const auto& read = std::get<ReadAccess>(job_of<ReadAccess>(asked).request);
  EXPECT_EQ(read.channel_id, id);
  EXPECT_EQ(read.user_id, "bob");
  const Actions appended = answer(job_of<ReadAccess>(asked).token, ChannelAnswer{news, {}});
  const StoreJob& append_job = job_of<AppendMessage>(appended);
  EXPECT_EQ(role_of_token(append_job.token), Role::kChannels);
  const auto& append = std::get<AppendMessage>(append_job.request);
  EXPECT_EQ(append.channel_id, id);
  EXPECT_EQ(append.user_id, "bob");
  EXPECT_EQ(append.content_json, "{\"t\":1}");

  const Actions out = commit(appended, 1, "bob", "{\"t\":1}");
  // The fan-out first, then the sender's ack: both to loop 1, in this order.
  ASSERT_EQ(out.size(), 2u);
  const auto& fan = std::get<ChannelEventForLoop>(std::get<ToShard>(out[0]).message);
  EXPECT_EQ(std::get<ToShard>(out[0]).shard, 1u);
  EXPECT_EQ(fan.channel_id, id);
  EXPECT_EQ(fan.skip_user, std::nullopt);  // the sender gets its own copy
  const auto& event = std::get<MessageEvent>(*fan.event);
  EXPECT_EQ(event.channel, "news");
  EXPECT_EQ(event.message.seq, 1);
  EXPECT_EQ(event.message.user_id, "bob");
  const auto& reply = std::get<ToConnection>(std::get<ToShard>(out[1]).message);
  EXPECT_EQ(std::get<ToShard>(out[1]).shard, 1u);
  EXPECT_EQ(reply.connection, b);
  ASSERT_EQ(reply.events.size(), 1u);
  const auto& ack = std::get<Ack>(reply.events[0]);
  EXPECT_EQ(ack.ref, Ref{std::string("m-17")});
  EXPECT_EQ(ack.id, event.message.id);
  EXPECT_EQ(ack.channel, "news");
  EXPECT_EQ(ack.seq, 1);
}

TEST_F(ChannelsMessage, WithoutSubscribersOnlyTheAckGoes) {
  const Actions out = commit(send_with(ChannelAnswer{news, {}}, b, "bob"), 1, "bob", "\"x\"");
  EXPECT_TRUE(sent<ChannelEventForLoop>(out).empty());
  EXPECT_EQ(sent<ToConnection>(out).size(), 1u);
}

TEST_F(ChannelsMessage, AFailedCommitIsNeitherDeliveredNorAcked) {
  join(a, "alice", news);
  const Actions appended = send_with(ChannelAnswer{news, {}}, b, "bob", Ref{std::int64_t{4}});
  const Actions out = fail(job_of<AppendMessage>(appended).token, "overloaded");
  EXPECT_TRUE(sent<ChannelEventForLoop>(out).empty());
  const ErrorEvent& e = error_in(replies(out));
  EXPECT_EQ(e.code, "overloaded");
  EXPECT_EQ(e.ref, Ref{std::int64_t{4}});
}

TEST_F(ChannelsMessage, TheRefusalsOfTodayInTodaysOrder) {
  const ChannelInfo team = channel_info(id, "team", ChannelType::kPrivate);
  ChannelInfo old = team;
  old.archived = true;
  struct Case {
    ChannelAnswer access;
    bool admin;
    std::string code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {ChannelAnswer{}, false, "not_found", "no channel \"news\""},
      {ChannelAnswer{team, {}}, false, "forbidden", "not a member of private channel \"team\""},
      {ChannelAnswer{team, Membership{false, 0}}, false, "forbidden",
       "you may not send to channel \"team\" (can_send is false)"},
      // Once seen archived, the channel stays so: these come last.
      {ChannelAnswer{old, {}}, true, "forbidden", "channel \"team\" is archived (read-only)"},
      {ChannelAnswer{old, Membership{false, 0}}, false, "forbidden",
       "channel \"team\" is archived (read-only)"},
  };
  int user = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    // A user of its own: an answer that lets a member in is cached.
    const Actions out =
        send_with(c.access, b, "u" + std::to_string(++user), Ref{std::int64_t{2}}, c.admin);
    EXPECT_EQ(count_jobs<AppendMessage>(out), 0u);
    const ErrorEvent& e = error_in(replies(out));
    EXPECT_EQ(e.code, c.code);
    EXPECT_EQ(e.message, c.message);
    EXPECT_EQ(e.ref, Ref{std::int64_t{2}});
  }
}

TEST_F(ChannelsMessage, AnAdminMaySendToAPrivateChannel) {
  const ChannelInfo team = channel_info(id, "team", ChannelType::kPrivate);
  const Actions out = send_with(ChannelAnswer{team, {}}, b, "zed", {}, /*admin=*/true);
  EXPECT_EQ(count_jobs<AppendMessage>(out), 1u);
}

TEST_F(ChannelsMessage, TheSubscribeAnswerFillsTheAccessCacheForAccessTtl) {
  join(a, "alice", news);
  EXPECT_EQ(count_jobs<AppendMessage>(send(a, "alice", news, "1")), 1u);
  advance(std::chrono::milliseconds(29'999));
  EXPECT_EQ(count_jobs<ReadAccess>(send(a, "alice", news, "2")), 0u);
  advance(1ms);
  const Actions out = send(a, "alice", news, "3");
  EXPECT_EQ(count_jobs<ReadAccess>(out), 1u);
  EXPECT_EQ(count_jobs<AppendMessage>(out), 0u);
}

TEST_F(ChannelsMessage, ARefusalIsNotCached) {
  const ChannelInfo team = channel_info(id, "team", ChannelType::kPrivate);
  send_with(ChannelAnswer{team, {}}, b, "bob");
  // Added as a member since: asked again, it gets in.
  const Actions out = send_with(ChannelAnswer{team, Membership{true, 0}}, b, "bob");
  EXPECT_EQ(count_jobs<AppendMessage>(out), 1u);
}

TEST_F(ChannelsMessage, RequestsOfOneUserWaitInOrderBehindOneRead) {
  const Actions first = send(b, "bob", news, "1");
  const Actions second = send(b, "bob", news, "2");
  EXPECT_EQ(count_jobs<ReadAccess>(second), 0u);
  EXPECT_TRUE(second.empty());
  const Actions out = answer(job_of<ReadAccess>(first).token, ChannelAnswer{news, {}});
  ASSERT_EQ(count_jobs<AppendMessage>(out), 2u);
  EXPECT_EQ(std::get<AppendMessage>(std::get<Store>(out[0]).job.request).content_json, "1");
  EXPECT_EQ(std::get<AppendMessage>(std::get<Store>(out[1]).job.request).content_json, "2");
}

TEST_F(ChannelsMessage, AFailedAccessReadAnswersEveryWaitingRequest) {
  const Actions first = send(b, "bob", news, "1", Ref{std::int64_t{1}});
  send(b, "bob", news, "2", Ref{std::int64_t{2}});
  const Actions out = fail(job_of<ReadAccess>(first).token, "unavailable");
  const auto list = sent<ToConnection>(out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(error_in(list[0].second.events).ref, Ref{std::int64_t{1}});
  EXPECT_EQ(error_in(list[1].second.events).ref, Ref{std::int64_t{2}});
  EXPECT_EQ(error_in(list[1].second.events).code, "unavailable");
}

TEST_F(ChannelsMessage, AnArchiveDropsTheCacheAndRefusesAtOnce) {
  join(a, "alice", news);
  handle(AdminChannelArchived{id});
  const Actions out = send(a, "alice", news, "1", Ref{std::int64_t{2}});
  const Actions refused = answer(job_of<ReadAccess>(out).token, ChannelAnswer{news, {}});
  EXPECT_EQ(error_in(replies(refused)).message, "channel \"news\" is archived (read-only)");
}

TEST_F(ChannelsMessage, ARevokeDropsThatUsersCacheEntryOnly) {
  join(a, "alice", news);
  join(b, "bob", news);
  handle(AdminMemberRevoked{id, "alice"});
  EXPECT_EQ(count_jobs<ReadAccess>(send(a, "alice", news, "1")), 1u);
  EXPECT_EQ(count_jobs<AppendMessage>(send(b, "bob", news, "1")), 1u);
}

TEST_F(ChannelsMessage, AnEphemeralMessageIsNumberedFannedOutAndAckedAtOnce) {
  const ChannelInfo air = channel_info(id, "air", ChannelType::kPublic, false);
  join(a, "alice", air);
  for (std::int64_t seq = 1; seq <= 2; ++seq) {
    const Actions out = send(a, "alice", air, "\"now\"", Ref{seq});
    EXPECT_EQ(count_jobs<AppendMessage>(out), 0u);
    ASSERT_EQ(out.size(), 2u);
    const auto& fan = std::get<ChannelEventForLoop>(std::get<ToShard>(out[0]).message);
    const auto& message = std::get<MessageEvent>(*fan.event).message;
    EXPECT_EQ(message.seq, seq);
    EXPECT_EQ(message.user_id, "alice");
    EXPECT_EQ(message.content_json, "\"now\"");
    EXPECT_EQ(message.created_at, now_.wall);
    EXPECT_TRUE(std::regex_match(
        message.id,
        std::regex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << message.id;
    const auto& ack =
        std::get<Ack>(std::get<ToConnection>(std::get<ToShard>(out[1]).message).events[0]);
    EXPECT_EQ(ack.seq, seq);
    EXPECT_EQ(ack.id, message.id);
    EXPECT_EQ(ack.ref, Ref{seq});
  }
}

TEST_F(ChannelsMessage, TheFanOutGoesOnceToEachLoopWithSubscribersSharingOneEvent) {
  shard_ = std::make_unique<Shard>(0, 3, EngineOptions{}, verifier_);
  const std::string three = channel_owned_by(0, 3);
  const ChannelInfo air = channel_info(three, "air", ChannelType::kPublic, false);
  join(make_connection_id(2, 1), "carol", air);
  join(make_connection_id(1, 1), "alice", air);
  join(make_connection_id(1, 2), "bob", air);
  const auto fan = sent<ChannelEventForLoop>(send(make_connection_id(2, 1), "carol", air, "1"));
  ASSERT_EQ(fan.size(), 2u);
  EXPECT_EQ(fan[0].first, 1u);
  EXPECT_EQ(fan[1].first, 2u);
  EXPECT_EQ(fan[0].second.event, fan[1].second.event);
}

TEST_F(ChannelsMessage, AnAdminPublishIsCommittedFannedOutAndAnswered) {
  join(a, "alice", news);
  const Actions asked = handle(AdminPublish{42, news, "admin", "{\"text\":\"hi\"}"});
  EXPECT_EQ(count_jobs<ReadAccess>(asked), 0u);
  const auto& append = std::get<AppendMessage>(job_of<AppendMessage>(asked).request);
  EXPECT_EQ(append.user_id, "admin");
  const Actions out = commit(asked, 4, "admin", "{\"text\":\"hi\"}");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<MessageEvent>(
                *std::get<ChannelEventForLoop>(std::get<ToShard>(out[0]).message).event)
                .message.seq,
            4);
  const auto& done = std::get<AdminDone>(out[1]);
  EXPECT_EQ(done.request_id, 42u);
  EXPECT_EQ(done.failure, std::nullopt);
  ASSERT_TRUE(done.message);
  EXPECT_EQ(done.message->seq, 4);

  const Actions failed = fail(
      job_of<AppendMessage>(handle(AdminPublish{43, news, "admin", "1"})).token, "unavailable");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(std::get<AdminDone>(failed[0]).failure, std::optional<std::string>("unavailable"));
  EXPECT_EQ(std::get<AdminDone>(failed[0]).request_id, 43u);
}

TEST_F(ChannelsMessage, AnEphemeralAdminPublishIsAnsweredAtOnce) {
  const ChannelInfo air = channel_info(id, "air", ChannelType::kPublic, false);
  join(a, "alice", air);
  const Actions out = handle(AdminPublish{7, air, "admin", "1"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<ToShard>(out[0]));
  const auto& done = std::get<AdminDone>(out[1]);
  ASSERT_TRUE(done.message);
  EXPECT_EQ(done.message->seq, 1);
  EXPECT_EQ(done.message->user_id, "admin");
}

}  // namespace
