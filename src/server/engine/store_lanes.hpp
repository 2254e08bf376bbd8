#pragma once

// The engine's store work in order and in bounds (issue 15, item 5;
// docs/ENGINE_DESIGN.md, "Store work"). Jobs wait in three lanes by class:
// commits (message appends), reads, bookkeeping (connection, subscription and
// presence rows, heartbeats, audit; a pump's bookkeeping is one transaction). One pump at a time runs on the
// StoreWorker's thread and takes, in this order of preference, every waiting
// commit (up to `batch`, one group commit), else up to `reads_per_pump`
// reads, else up to `bookkeeping_per_pump` bookkeeping jobs; then it queues
// the next pump.
// So a message waits behind at most one pump of other work, whatever the
// amount of connection churn.
//
// Bounds: a lane that is full refuses what comes: a job that wants an answer
// is answered "overloaded" at once (submit's return value); bookkeeping has no
// one to answer, so it is dropped and counted (stats().dropped) — a lost
// connection row costs statistics, never a message.
//
// Thread safety: submit() and stats() from any thread (one short lock per
// call: a loop submits the jobs of one turn together); the runner and the
// delivery run on the worker's thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "core/engine/store_requests.hpp"
#include "server/store_worker.hpp"

namespace nself::server::engine {

struct StoreLaneBounds {
  std::size_t commits = 50'000;       // REALTIME_STORE_QUEUE_MAX
  std::size_t reads = 20'000;         // waiting reads
  std::size_t bookkeeping = 100'000;  // waiting bookkeeping jobs
  std::size_t batch = 4096;           // most commits per pump (one group commit)
  std::size_t reads_per_pump = 64;
  // A pump's bookkeeping is written in one transaction (run_bookkeeping_batch:
  // one commit, one fsync under synchronous=FULL). When each job was its own
  // commit, a pump of 4096 held a message or a read for seconds after a burst
  // of connects (fanout -n 10000: 9 s; docs/BENCHMARKS.md, "The engine, side
  // by side"); now a pump costs one commit plus a statement or two per job,
  // and 256 keeps a message's wait behind it to a few milliseconds.
  std::size_t bookkeeping_per_pump = 256;
};

struct StoreLaneStats {
  std::size_t waiting[3] = {0, 0, 0};  // by StoreClass
  std::uint64_t overloaded = 0;        // jobs answered "overloaded" (a full lane)
  std::uint64_t dropped = 0;           // bookkeeping refused by a full lane
  std::uint64_t pumps = 0;
};

class StoreLanes {
 public:
  using StoreJob = core::engine::StoreJob;
  using StoreReply = core::engine::StoreReply;
  using StoreClass = core::engine::StoreClass;
  // Worker thread: runs jobs of one class against the store (null while it is
  // unavailable) and returns the replies of those that carry a token.
  using Runner =
      std::function<std::vector<StoreReply>(store::Store*, std::vector<StoreJob>&, StoreClass)>;
  // Worker thread: replies for the shard `origin`, to be posted to its loop.
  using Deliver =
      std::function<void(core::engine::ShardIndex origin, std::vector<StoreReply> replies)>;

  // `worker` must outlive this object and have drained before it goes.
  StoreLanes(StoreWorker& worker, Runner run, Deliver deliver, StoreLaneBounds bounds = {});
  StoreLanes(const StoreLanes&) = delete;
  StoreLanes& operator=(const StoreLanes&) = delete;

  // Queues `jobs` (emptied). Returns the "overloaded" replies of those a full
  // lane refused, for the caller to feed back to their shard.
  std::vector<StoreReply> submit(std::vector<StoreJob>& jobs);

  StoreLaneStats stats() const;

 private:
  // Worker thread: one batch of one lane (`store`: null while unavailable).
  void pump(store::Store* store);

  StoreWorker& worker_;
  Runner run_;
  Deliver deliver_;
  StoreLaneBounds bounds_;
  mutable std::mutex mutex_;
  std::deque<StoreJob> lanes_[3];  // guarded by mutex_, by StoreClass
  bool pump_queued_ = false;       // guarded by mutex_
  StoreLaneStats stats_;           // guarded by mutex_ (waiting filled by stats())
};

}  // namespace nself::server::engine
