// PresenceTracker: joins and leaves counted per user, status and metadata,
// automatic away after idle time and back online on activity.

#include "core/presence_tracker.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

using namespace std::chrono_literals;
using Timestamp = PresenceTracker::Timestamp;

const Timestamp kT0 = Timestamp{} + 1'000'000'000ms;

TEST(PresenceTracker, FirstConnectionJoinsAndLastOneLeaves) {
  PresenceTracker tracker;
  auto joined = tracker.join("room", "alice", kT0);
  ASSERT_TRUE(joined.has_value());
  EXPECT_EQ(joined->user_id, "alice");
  EXPECT_EQ(joined->status, PresenceState::kOnline);
  EXPECT_FALSE(joined->meta_json.has_value());
  EXPECT_EQ(joined->last_active, kT0);
  // A second tab of the same user is not a second member.
  EXPECT_FALSE(tracker.join("room", "alice", kT0 + 1s).has_value());
  EXPECT_EQ(tracker.members("room").size(), 1u);
  EXPECT_EQ(tracker.find("room", "alice")->connections, 2);
  EXPECT_FALSE(tracker.leave("room", "alice"));
  EXPECT_NE(tracker.find("room", "alice"), nullptr);
  EXPECT_TRUE(tracker.leave("room", "alice"));
  EXPECT_EQ(tracker.find("room", "alice"), nullptr);
  EXPECT_TRUE(tracker.members("room").empty());
}

TEST(PresenceTracker, LeavingWhatOneIsNotInIsNoLeave) {
  PresenceTracker tracker;
  EXPECT_FALSE(tracker.leave("room", "alice"));
  tracker.join("room", "alice", kT0);
  EXPECT_FALSE(tracker.leave("room", "bob"));
  EXPECT_FALSE(tracker.leave("other", "alice"));
  EXPECT_TRUE(tracker.leave("room", "alice"));
  EXPECT_FALSE(tracker.leave("room", "alice"));
}

TEST(PresenceTracker, MembersArePerChannelAndSortedByUser) {
  PresenceTracker tracker;
  tracker.join("a", "carol", kT0);
  tracker.join("a", "alice", kT0);
  tracker.join("b", "bob", kT0);
  auto members = tracker.members("a");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].user_id, "alice");
  EXPECT_EQ(members[1].user_id, "carol");
  EXPECT_EQ(tracker.members("b").size(), 1u);
  EXPECT_EQ(tracker.all().size(), 3u);
}

TEST(PresenceTracker, UpdateSetsStatusAndMetaAndKeepsMetaWhenAbsent) {
  PresenceTracker tracker;
  tracker.join("room", "alice", kT0);
  auto updated =
      tracker.update("room", "alice", PresenceState::kAway, R"({"device":"phone"})", kT0 + 5s);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->status, PresenceState::kAway);
  EXPECT_EQ(updated->meta_json, R"({"device":"phone"})");
  EXPECT_EQ(updated->last_active, kT0 + 5s);
  updated = tracker.update("room", "alice", PresenceState::kOnline, std::nullopt, kT0 + 6s);
  EXPECT_EQ(updated->status, PresenceState::kOnline);
  EXPECT_EQ(updated->meta_json, R"({"device":"phone"})");
  EXPECT_FALSE(tracker.update("room", "bob", PresenceState::kOnline, std::nullopt, kT0));
  EXPECT_FALSE(tracker.update("nowhere", "alice", PresenceState::kOnline, std::nullopt, kT0));
}

TEST(PresenceTracker, IdleMembersBecomeAwayOnceAndComeBackOnActivity) {
  PresenceTracker tracker;
  tracker.join("a", "alice", kT0);
  tracker.join("b", "alice", kT0);
  tracker.join("a", "bob", kT0 + 2min);
  EXPECT_TRUE(tracker.expire_idle(kT0 + 5min - 1ms, 5min).empty());
  auto away = tracker.expire_idle(kT0 + 5min, 5min);
  ASSERT_EQ(away.size(), 2u);  // alice in a and in b; bob is not idle long enough
  for (const auto& change : away) {
    EXPECT_EQ(change.member.user_id, "alice");
    EXPECT_EQ(change.member.status, PresenceState::kAway);
  }
  EXPECT_TRUE(tracker.expire_idle(kT0 + 7min - 1ms, 5min).empty());
  EXPECT_EQ(tracker.expire_idle(kT0 + 7min, 5min).size(), 1u);  // now bob; alice not again
  auto back = tracker.touch("alice", kT0 + 10min);
  ASSERT_EQ(back.size(), 2u);
  for (const auto& change : back) {
    EXPECT_EQ(change.member.status, PresenceState::kOnline);
    EXPECT_EQ(change.member.last_active, kT0 + 10min);
  }
  EXPECT_TRUE(tracker.touch("alice", kT0 + 11min).empty());  // already online
  EXPECT_EQ(tracker.find("a", "bob")->status, PresenceState::kAway);
}

TEST(PresenceTracker, ActivityPostponesAway) {
  PresenceTracker tracker;
  tracker.join("room", "alice", kT0);
  EXPECT_TRUE(tracker.touch("alice", kT0 + 4min).empty());
  EXPECT_TRUE(tracker.expire_idle(kT0 + 5min, 5min).empty());
  EXPECT_EQ(tracker.expire_idle(kT0 + 9min, 5min).size(), 1u);
}

TEST(PresenceTracker, AnAwayTheUserAskedForSurvivesActivity) {
  PresenceTracker tracker;
  tracker.join("room", "alice", kT0);
  tracker.update("room", "alice", PresenceState::kAway, std::nullopt, kT0);
  EXPECT_TRUE(tracker.touch("alice", kT0 + 1s).empty());
  EXPECT_EQ(tracker.find("room", "alice")->status, PresenceState::kAway);
  EXPECT_TRUE(tracker.expire_idle(kT0 + 1h, 5min).empty());  // already away
  // Asking for online ends it.
  tracker.update("room", "alice", PresenceState::kOnline, std::nullopt, kT0 + 1h);
  EXPECT_EQ(tracker.find("room", "alice")->status, PresenceState::kOnline);
}

TEST(PresenceTracker, ActivityOfAUserInNoChannelChangesNothing) {
  PresenceTracker tracker;
  EXPECT_TRUE(tracker.touch("ghost", kT0).empty());
  tracker.join("room", "alice", kT0);
  tracker.leave("room", "alice");
  EXPECT_TRUE(tracker.touch("alice", kT0).empty());
  EXPECT_TRUE(tracker.expire_idle(kT0 + 1h, 1s).empty());
}

TEST(PresenceTracker, RejoiningStartsFresh) {
  PresenceTracker tracker;
  tracker.join("room", "alice", kT0);
  tracker.update("room", "alice", PresenceState::kAway, R"({"x":1})", kT0);
  tracker.leave("room", "alice");
  auto joined = tracker.join("room", "alice", kT0 + 1s);
  ASSERT_TRUE(joined.has_value());
  EXPECT_EQ(joined->status, PresenceState::kOnline);
  EXPECT_FALSE(joined->meta_json.has_value());
}

}  // namespace
}  // namespace nself::core
