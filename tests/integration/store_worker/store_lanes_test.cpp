// StoreLanes (server/engine/store_lanes.hpp) on a real StoreWorker thread with
// a real SQLite store: commits are served before reads before bookkeeping,
// full lanes answer "overloaded" or drop bookkeeping, answers go to the shard
// that asked.
#include "server/engine/store_lanes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "support/worker_block.hpp"

namespace nself::server::engine {
namespace {

namespace ce = core::engine;

ce::StoreJob job(ce::ShardIndex origin, std::uint64_t token, ce::StoreRequest request) {
  return ce::StoreJob{origin, token, std::move(request)};
}

class StoreLanesTest : public ::testing::Test {
 protected:
  StoreLanesTest()
      : worker_(StoreWorker::StoreFactory([path = dir_.path() / "lanes.db"] {
          std::unique_ptr<store::Store> store =
              store::open_sqlite_store(path, std::chrono::milliseconds(5000));
          store->migrate();
          return store;
        })) {}

  // Records the class of every batch the runner is given, and answers every
  // job that has a token with Done.
  StoreLanes::Runner recording_runner() {
    return [this](store::Store*, std::vector<ce::StoreJob>& jobs, ce::StoreClass cls) {
      std::vector<ce::StoreReply> replies;
      std::lock_guard lock(mutex_);
      for (const auto& j : jobs) {
        order_.push_back(cls);
        if (j.token != 0) replies.push_back(ce::StoreReply{j.token, std::nullopt, ce::Done{}});
      }
      return replies;
    };
  }
  StoreLanes::Deliver recording_delivery() {
    return [this](ce::ShardIndex origin, std::vector<ce::StoreReply> replies) {
      std::lock_guard lock(mutex_);
      for (auto& reply : replies) delivered_.emplace_back(origin, reply.token);
    };
  }

  test::TempDir dir_;
  StoreWorker worker_;
  std::mutex mutex_;
  std::vector<ce::StoreClass> order_;                                // guarded by mutex_
  std::vector<std::pair<ce::ShardIndex, std::uint64_t>> delivered_;  // guarded by mutex_
};

TEST_F(StoreLanesTest, CommitsGoBeforeReadsBeforeBookkeepingWhateverTheArrivalOrder) {
  StoreLanes lanes(worker_, recording_runner(), recording_delivery());
  {
    test::WorkerBlock block(worker_);  // everything below waits behind it
    std::vector<ce::StoreJob> jobs;
    for (int i = 0; i < 5; ++i) jobs.push_back(job(0, 0, ce::RecordDisconnect{"c", {}}));
    jobs.push_back(job(1, 11, ce::ResolveChannel{"general"}));
    jobs.push_back(job(0, 12, ce::AppendMessage{"id", "u", "1"}));
    for (int i = 0; i < 5; ++i) jobs.push_back(job(0, 0, ce::Heartbeat{{"c"}, {}}));
    jobs.push_back(job(1, 13, ce::AppendMessage{"id", "u", "2"}));
    EXPECT_TRUE(lanes.submit(jobs).empty());
    EXPECT_TRUE(jobs.empty());
  }
  worker_.drain();
  std::lock_guard lock(mutex_);
  std::vector<ce::StoreClass> expected = {ce::StoreClass::kCommit, ce::StoreClass::kCommit,
                                          ce::StoreClass::kRead};
  for (int i = 0; i < 10; ++i) expected.push_back(ce::StoreClass::kBookkeeping);
  EXPECT_EQ(order_, expected);
  // Answers go to the shard named in the job.
  std::vector<std::pair<ce::ShardIndex, std::uint64_t>> answers(delivered_.begin(),
                                                                delivered_.end());
  std::sort(answers.begin(), answers.end(), [](auto& a, auto& b) { return a.second < b.second; });
  std::vector<std::pair<ce::ShardIndex, std::uint64_t>> expected_answers = {
      {1, 11}, {0, 12}, {1, 13}};
  EXPECT_EQ(answers, expected_answers);
}

TEST_F(StoreLanesTest, AFullLaneAnswersOverloadedAndDropsBookkeeping) {
  StoreLaneBounds bounds;
  bounds.commits = 2;
  bounds.bookkeeping = 1;
  StoreLanes lanes(worker_, recording_runner(), recording_delivery(), bounds);
  std::vector<ce::StoreReply> refused;
  {
    test::WorkerBlock block(worker_);
    std::vector<ce::StoreJob> jobs;
    for (std::uint64_t token = 1; token <= 3; ++token) {
      jobs.push_back(job(0, token, ce::AppendMessage{"id", "u", "1"}));
    }
    jobs.push_back(job(0, 0, ce::RecordDisconnect{"a", {}}));
    jobs.push_back(job(0, 0, ce::RecordDisconnect{"b", {}}));
    refused = lanes.submit(jobs);
    auto stats = lanes.stats();
    EXPECT_EQ(stats.waiting[0], 2u);
    EXPECT_EQ(stats.waiting[2], 1u);
    EXPECT_EQ(stats.overloaded, 1u);
    EXPECT_EQ(stats.dropped, 1u);
  }
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].token, 3u);
  EXPECT_EQ(refused[0].failure, "overloaded");
  worker_.drain();
  std::lock_guard lock(mutex_);
  EXPECT_EQ(order_.size(), 3u);  // two commits and one bookkeeping job ran
  EXPECT_EQ(lanes.stats().waiting[0], 0u);
}

TEST_F(StoreLanesTest, ReadsArePumpedInSlicesSoACommitArrivingMeanwhileWaitsForOneSliceOnly) {
  StoreLaneBounds bounds;
  bounds.reads_per_pump = 4;
  std::promise<void> first_slice_running;
  std::shared_future<void> go_on;
  std::promise<void> go_on_promise;
  go_on = go_on_promise.get_future().share();
  bool first = true;
  auto runner = [&](store::Store* store, std::vector<ce::StoreJob>& jobs, ce::StoreClass cls) {
    if (first) {
      first = false;
      first_slice_running.set_value();
      go_on.wait();  // a commit is submitted while this slice runs
    }
    return recording_runner()(store, jobs, cls);
  };
  StoreLanes lanes(worker_, runner, recording_delivery(), bounds);
  std::vector<ce::StoreJob> reads;
  for (std::uint64_t token = 1; token <= 12; ++token) {
    reads.push_back(job(0, token, ce::ResolveChannel{"general"}));
  }
  lanes.submit(reads);
  first_slice_running.get_future().wait();
  std::vector<ce::StoreJob> commit = {job(0, 99, ce::AppendMessage{"id", "u", "1"})};
  lanes.submit(commit);
  go_on_promise.set_value();
  worker_.drain();
  std::lock_guard lock(mutex_);
  ASSERT_EQ(order_.size(), 13u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(order_[i], ce::StoreClass::kRead) << i;
  EXPECT_EQ(order_[4], ce::StoreClass::kCommit);  // right after the first slice
}

// Bookkeeping is written one commit per job: a burst of connects must not
// hold a read (or a message) for more than one small slice of it.
TEST_F(StoreLanesTest, BookkeepingIsPumpedInSlicesSoAReadArrivingMeanwhileWaitsForOneSliceOnly) {
  StoreLaneBounds bounds;
  bounds.bookkeeping_per_pump = 3;
  std::promise<void> first_slice_running;
  std::promise<void> go_on_promise;
  std::shared_future<void> go_on = go_on_promise.get_future().share();
  bool first = true;
  auto runner = [&](store::Store* store, std::vector<ce::StoreJob>& jobs, ce::StoreClass cls) {
    if (first) {
      first = false;
      first_slice_running.set_value();
      go_on.wait();  // a read is submitted while this slice runs
    }
    return recording_runner()(store, jobs, cls);
  };
  StoreLanes lanes(worker_, runner, recording_delivery(), bounds);
  std::vector<ce::StoreJob> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(job(0, 0, ce::RecordDisconnect{"c", {}}));
  lanes.submit(rows);
  first_slice_running.get_future().wait();
  std::vector<ce::StoreJob> read = {job(0, 7, ce::ResolveChannel{"general"})};
  lanes.submit(read);
  go_on_promise.set_value();
  worker_.drain();
  std::lock_guard lock(mutex_);
  ASSERT_EQ(order_.size(), 11u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(order_[i], ce::StoreClass::kBookkeeping) << i;
  EXPECT_EQ(order_[3], ce::StoreClass::kRead);  // right after the first slice
  for (int i = 4; i < 11; ++i) EXPECT_EQ(order_[i], ce::StoreClass::kBookkeeping) << i;
}

}  // namespace
}  // namespace nself::server::engine
