// The per-channel reorder buffer: release in seq order, hold after a gap,
// report due gaps once, fill or skip them, drop duplicates.

#include "core/seq_reorder.hpp"

#include <gtest/gtest.h>

#include <random>

namespace nself::core {
namespace {

using namespace std::chrono_literals;
using Buffer = SeqReorderBuffer<std::string>;
using Time = Buffer::Time;

const Time kT0 = Time{} + 1000s;

std::vector<std::int64_t> seqs(const std::vector<Buffer::Event>& events) {
  std::vector<std::int64_t> out;
  for (const auto& event : events) out.push_back(event.seq);
  return out;
}

std::vector<std::string> values(const std::vector<Buffer::Event>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(event.value);
  return out;
}

using Seqs = std::vector<std::int64_t>;

TEST(SeqReorder, InOrderEventsAreReleasedAtOnce) {
  Buffer buffer;
  buffer.track("c", 10);
  EXPECT_EQ(values(buffer.push("c", 11, "m11", kT0)), std::vector<std::string>{"m11"});
  EXPECT_EQ(seqs(buffer.push("c", 12, "m12", kT0)), Seqs{12});
  EXPECT_EQ(buffer.last_seq("c"), 12);
  EXPECT_EQ(buffer.held(), 0u);
  EXPECT_FALSE(buffer.next_deadline());
}

TEST(SeqReorder, AnEventAfterAGapWaitsForTheMissingOne) {
  Buffer buffer;
  buffer.track("c", 0);
  EXPECT_TRUE(buffer.push("c", 2, "m2", kT0).empty());
  EXPECT_TRUE(buffer.push("c", 3, "m3", kT0 + 1ms).empty());
  EXPECT_EQ(buffer.held(), 2u);
  const auto released = buffer.push("c", 1, "m1", kT0 + 2ms);
  EXPECT_EQ(seqs(released), (Seqs{1, 2, 3}));
  EXPECT_EQ(values(released), (std::vector<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(buffer.held(), 0u);
  EXPECT_TRUE(buffer.due_gaps(kT0 + 1h).empty());
}

TEST(SeqReorder, UntrackedChannelStartsAtItsFirstEvent) {
  Buffer buffer;
  EXPECT_FALSE(buffer.tracked("c"));
  EXPECT_FALSE(buffer.last_seq("c"));
  EXPECT_EQ(seqs(buffer.push("c", 57, "x", kT0)), Seqs{57});
  EXPECT_TRUE(buffer.tracked("c"));
  EXPECT_EQ(buffer.last_seq("c"), 57);
  // Older events are then duplicates.
  EXPECT_TRUE(buffer.push("c", 56, "y", kT0).empty());
  EXPECT_EQ(buffer.duplicates(), 1u);
}

TEST(SeqReorder, TrackDoesNotMoveATrackedChannel) {
  Buffer buffer;
  EXPECT_TRUE(buffer.track("c", 5));
  EXPECT_FALSE(buffer.track("c", 100));
  EXPECT_EQ(buffer.last_seq("c"), 5);
  EXPECT_EQ(seqs(buffer.push("c", 6, "", kT0)), Seqs{6});
}

TEST(SeqReorder, DuplicatesAreDroppedWhetherReleasedOrHeld) {
  Buffer buffer;
  buffer.track("c", 0);
  buffer.push("c", 1, "a", kT0);
  EXPECT_TRUE(buffer.push("c", 1, "again", kT0).empty());
  buffer.push("c", 3, "c3", kT0);
  EXPECT_TRUE(buffer.push("c", 3, "c3 again", kT0).empty());
  EXPECT_EQ(buffer.duplicates(), 2u);
  // The first copy of a held event is the one released.
  EXPECT_EQ(values(buffer.push("c", 2, "b", kT0)), (std::vector<std::string>{"b", "c3"}));
}

TEST(SeqReorder, ChannelsAreIndependent) {
  Buffer buffer;
  buffer.track("a", 0);
  buffer.track("b", 0);
  EXPECT_TRUE(buffer.push("a", 2, "a2", kT0).empty());
  EXPECT_EQ(seqs(buffer.push("b", 1, "b1", kT0)), Seqs{1});
  EXPECT_EQ(seqs(buffer.push("b", 2, "b2", kT0)), Seqs{2});
  EXPECT_EQ(buffer.held(), 1u);
  EXPECT_EQ(seqs(buffer.push("a", 1, "a1", kT0)), (Seqs{1, 2}));
}

TEST(SeqReorder, AGapIsDueAfterMaxHoldAndReportedOnce) {
  Buffer buffer({.max_hold = 500ms, .max_held = 100});
  buffer.track("c", 4);
  buffer.push("c", 7, "m7", kT0);
  buffer.push("c", 8, "m8", kT0 + 100ms);
  EXPECT_EQ(buffer.next_deadline(), kT0 + 500ms);
  EXPECT_TRUE(buffer.due_gaps(kT0 + 499ms).empty());
  const auto gaps = buffer.due_gaps(kT0 + 500ms);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], (SeqGap{"c", 4, 7}));
  EXPECT_TRUE(buffer.due_gaps(kT0 + 10s).empty()) << "reported once";
  EXPECT_FALSE(buffer.next_deadline()) << "no timer while the caller resolves";
}

TEST(SeqReorder, AChannelTrackedFromAStoreReadHasItsFirstGapDueAtOnce) {
  Buffer buffer({.max_hold = 500ms, .max_held = 100});
  buffer.track("c", 4, /*first_gap_due_at_once=*/true);
  buffer.push("c", 7, "m7", kT0);
  EXPECT_EQ(buffer.next_deadline(), kT0);
  const auto gaps = buffer.due_gaps(kT0);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], (SeqGap{"c", 4, 7}));
  EXPECT_EQ(seqs(buffer.resolve(gaps[0], {{5, "m5"}, {6, "m6"}})), (Seqs{5, 6, 7}));
  // Later gaps wait max_hold as usual.
  buffer.push("c", 9, "m9", kT0 + 1ms);
  EXPECT_TRUE(buffer.due_gaps(kT0 + 1ms).empty());
  EXPECT_EQ(buffer.due_gaps(kT0 + 501ms).size(), 1u);
}

TEST(SeqReorder, AnInOrderFirstEventEndsTheAtOnceGapRule) {
  Buffer buffer({.max_hold = 500ms, .max_held = 100});
  buffer.track("c", 4, /*first_gap_due_at_once=*/true);
  EXPECT_EQ(seqs(buffer.push("c", 5, "m5", kT0)), Seqs{5});
  buffer.push("c", 7, "m7", kT0);
  EXPECT_TRUE(buffer.due_gaps(kT0).empty());
  EXPECT_EQ(buffer.next_deadline(), kT0 + 500ms);
}

TEST(SeqReorder, TheAtOnceRuleAppliesOnlyWhenTrackingBegins) {
  Buffer buffer({.max_hold = 500ms, .max_held = 100});
  buffer.track("c", 4);
  EXPECT_FALSE(buffer.track("c", 4, /*first_gap_due_at_once=*/true));
  buffer.push("c", 7, "m7", kT0);
  EXPECT_TRUE(buffer.due_gaps(kT0).empty());
}

TEST(SeqReorder, ResolveWithTheStoresEventsReleasesEverythingInOrder) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 4);
  buffer.push("c", 7, "m7", kT0);
  buffer.push("c", 8, "m8", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 100ms);
  ASSERT_EQ(gaps.size(), 1u);
  // The store answers out of order, and with events outside the gap.
  const auto released =
      buffer.resolve(gaps[0], {{6, "s6"}, {3, "old"}, {5, "s5"}, {7, "s7"}, {9, "s9"}});
  EXPECT_EQ(seqs(released), (Seqs{5, 6, 7, 8}));
  EXPECT_EQ(values(released), (std::vector<std::string>{"s5", "s6", "m7", "m8"}));
  EXPECT_EQ(buffer.skipped(), 0u);
  EXPECT_EQ(buffer.held(), 0u);
  EXPECT_EQ(buffer.last_seq("c"), 8);
}

TEST(SeqReorder, ResolveWithNothingSkipsTheMissingSeqs) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 0);
  buffer.push("c", 4, "m4", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 1s);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(seqs(buffer.resolve(gaps[0], {})), Seqs{4});
  EXPECT_EQ(buffer.skipped(), 3u);
  // The skipped seqs arriving late are duplicates now: never out of order.
  EXPECT_TRUE(buffer.push("c", 2, "late", kT0 + 2s).empty());
  EXPECT_EQ(seqs(buffer.push("c", 5, "m5", kT0 + 2s)), Seqs{5});
}

TEST(SeqReorder, PartialFillSkipsOnlyWhatIsStillMissing) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 0);
  buffer.push("c", 6, "m6", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 1s);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], (SeqGap{"c", 0, 6}));
  // The store has 2 and 4 (1, 3 and 5 were never committed, say).
  const auto released = buffer.resolve(gaps[0], {{2, "s2"}, {4, "s4"}});
  EXPECT_EQ(seqs(released), (Seqs{2, 4, 6}));
  EXPECT_EQ(buffer.skipped(), 3u);
}

TEST(SeqReorder, ResolveLeavesLaterGapsToTheirOwnTimers) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 0);
  buffer.push("c", 3, "m3", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 100ms);
  ASSERT_EQ(gaps.size(), 1u);
  // Meanwhile a second gap opens after 3.
  buffer.push("c", 6, "m6", kT0 + 150ms);
  const auto released = buffer.resolve(gaps[0], {{1, "s1"}});
  EXPECT_EQ(seqs(released), (Seqs{1, 3}));
  EXPECT_EQ(buffer.held(), 1u);
  EXPECT_EQ(buffer.next_deadline(), kT0 + 250ms);
  EXPECT_TRUE(buffer.due_gaps(kT0 + 249ms).empty());
  const auto second = buffer.due_gaps(kT0 + 250ms);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0], (SeqGap{"c", 3, 6}));
  EXPECT_EQ(seqs(buffer.resolve(second[0], {{4, "s4"}, {5, "s5"}})), (Seqs{4, 5, 6}));
}

TEST(SeqReorder, AGapClosedByPushesBeforeResolveMakesResolveHarmless) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 0);
  buffer.push("c", 2, "m2", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 1s);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(seqs(buffer.push("c", 1, "m1", kT0 + 1s)), (Seqs{1, 2}));
  EXPECT_EQ(seqs(buffer.push("c", 3, "m3", kT0 + 1s)), Seqs{3});
  // The store's answer comes late: nothing is released twice or skipped.
  EXPECT_TRUE(buffer.resolve(gaps[0], {{1, "s1"}}).empty());
  EXPECT_EQ(buffer.skipped(), 0u);
  EXPECT_EQ(buffer.last_seq("c"), 3);
}

TEST(SeqReorder, EventsPushedDuringResolutionStillCount) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 0);
  buffer.push("c", 4, "m4", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 1s);
  // 2 arrives from the bus while the store is read.
  EXPECT_TRUE(buffer.push("c", 2, "bus2", kT0 + 1s).empty());
  const auto released = buffer.resolve(gaps[0], {{1, "s1"}, {2, "s2"}, {3, "s3"}});
  EXPECT_EQ(values(released), (std::vector<std::string>{"s1", "bus2", "s3", "m4"}));
}

TEST(SeqReorder, TooManyHeldEventsMakeTheGapDueAtOnce) {
  Buffer buffer({.max_hold = 1h, .max_held = 3});
  buffer.track("c", 0);
  for (std::int64_t seq = 2; seq <= 4; ++seq) buffer.push("c", seq, "x", kT0);
  EXPECT_TRUE(buffer.due_gaps(kT0).empty());
  buffer.push("c", 5, "x", kT0);
  EXPECT_EQ(buffer.next_deadline(), kT0);
  const auto gaps = buffer.due_gaps(kT0);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], (SeqGap{"c", 0, 2}));
  EXPECT_EQ(seqs(buffer.resolve(gaps[0], {})), (Seqs{2, 3, 4, 5}));
}

TEST(SeqReorder, DeadlineFollowsTheOldestHeldEvent) {
  Buffer buffer({.max_hold = 500ms, .max_held = 100});
  buffer.track("a", 0);
  buffer.track("b", 0);
  buffer.push("b", 2, "", kT0 + 300ms);
  buffer.push("a", 5, "", kT0 + 100ms);
  buffer.push("a", 3, "", kT0 + 200ms);
  EXPECT_EQ(buffer.next_deadline(), kT0 + 600ms);
  const auto gaps = buffer.due_gaps(kT0 + 600ms);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0], (SeqGap{"a", 0, 3}));
  EXPECT_EQ(buffer.next_deadline(), kT0 + 800ms);
}

TEST(SeqReorder, ForgetDropsHeldEventsAndResolveOfAForgottenChannelDoesNothing) {
  Buffer buffer({.max_hold = 100ms, .max_held = 100});
  buffer.track("c", 0);
  buffer.push("c", 3, "m3", kT0);
  const auto gaps = buffer.due_gaps(kT0 + 1s);
  ASSERT_EQ(gaps.size(), 1u);
  buffer.forget("c");
  EXPECT_EQ(buffer.held(), 0u);
  EXPECT_FALSE(buffer.tracked("c"));
  EXPECT_TRUE(buffer.resolve(gaps[0], {{1, "s1"}}).empty());
  EXPECT_FALSE(buffer.next_deadline());
}

TEST(SeqReorder, MoveOnlyValues) {
  SeqReorderBuffer<std::unique_ptr<int>> buffer;
  buffer.track("c", 0);
  EXPECT_TRUE(buffer.push("c", 2, std::make_unique<int>(2), kT0).empty());
  const auto released = buffer.push("c", 1, std::make_unique<int>(1), kT0);
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(*released[0].value, 1);
  EXPECT_EQ(*released[1].value, 2);
}

// Events of three "nodes", each in order but interleaved and delayed at
// random, with duplicates: the output is exactly 1..N, once each, in order.
TEST(SeqReorder, RandomInterleavingsComeOutInOrderExactlyOnce) {
  for (unsigned seed = 1; seed <= 50; ++seed) {
    std::mt19937 random(seed);
    constexpr std::int64_t kCount = 300;
    std::vector<std::int64_t> arrivals;
    for (std::int64_t seq = 1; seq <= kCount; ++seq) arrivals.push_back(seq);
    // Local shuffles: each event moves at most a few places.
    for (std::size_t index = 0; index + 1 < arrivals.size(); ++index) {
      const std::size_t span = std::min<std::size_t>(5, arrivals.size() - index);
      std::swap(arrivals[index], arrivals[index + random() % span]);
    }
    for (int copy = 0; copy < 20; ++copy) {
      arrivals.insert(arrivals.begin() + static_cast<long>(random() % arrivals.size()),
                      1 + static_cast<std::int64_t>(random() % kCount));
    }
    Buffer buffer({.max_hold = 1h, .max_held = 10'000});
    buffer.track("c", 0);
    std::vector<std::int64_t> out;
    for (const auto seq : arrivals) {
      for (const auto& event : buffer.push("c", seq, std::to_string(seq), kT0)) {
        EXPECT_EQ(event.value, std::to_string(event.seq));
        out.push_back(event.seq);
      }
    }
    ASSERT_EQ(out.size(), static_cast<std::size_t>(kCount)) << "seed " << seed;
    for (std::int64_t index = 0; index < kCount; ++index) {
      ASSERT_EQ(out[static_cast<std::size_t>(index)], index + 1) << "seed " << seed;
    }
    EXPECT_EQ(buffer.held(), 0u);
  }
}

}  // namespace
}  // namespace nself::core
