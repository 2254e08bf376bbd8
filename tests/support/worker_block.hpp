#pragma once

// Blocks a StoreWorker's thread until release() (a job that waits), so that
// later jobs pile up in its queue behind it. The job touches nothing of this
// object: it may still be running (returning from its wait) when this object
// is gone. release() may be called from any thread, more than once.

#include <atomic>
#include <future>
#include <memory>

#include "server/store_worker.hpp"

namespace nself::test {

class WorkerBlock {
 public:
  // Returns once the blocking job runs on the worker's thread.
  explicit WorkerBlock(server::StoreWorker& worker) {
    auto started = std::make_shared<std::promise<void>>();
    auto started_future = started->get_future();
    worker.submit([started, released = released_.get_future().share()](store::Store*) {
      started->set_value();
      released.wait();
    });
    started_future.wait();
  }
  ~WorkerBlock() { release(); }
  WorkerBlock(const WorkerBlock&) = delete;
  WorkerBlock& operator=(const WorkerBlock&) = delete;

  void release() {
    if (!released_flag_.exchange(true)) released_.set_value();
  }

 private:
  std::promise<void> released_;
  std::atomic<bool> released_flag_{false};
};

}  // namespace nself::test
