#pragma once

// The one thread that talks to the database, so that no event loop ever
// blocks on it. Loops hand it jobs; results come back by posting to the
// executor the caller names (its loop). Messages for persistent channels are
// group-committed: everything queued while the previous batch was being
// stored goes into ONE Store::append_messages call.
//
// Thread safety: submit() and append() may be called from any thread. The
// Store is opened, used and destroyed on the worker thread only.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/metrics.hpp"
#include "store/store.hpp"

namespace nself::server {

class StoreWorker {
 public:
  using StoreFactory = std::function<std::unique_ptr<store::Store>()>;
  // Called on the caller's executor: the stored message, or none when the
  // batch could not be stored (database down): then nothing of it was stored.
  using AppendDone = std::function<void(std::optional<store::StoredMessage>)>;

  // `factory` opens the store (on the worker thread; it is opened again
  // after a failure). The thread starts at once.
  explicit StoreWorker(StoreFactory factory);
  // Finishes the queued work, then joins the thread.
  ~StoreWorker();
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  // Runs `job` on the worker thread with the store, or with nullptr when the
  // store cannot be opened. The job posts its own results where they belong.
  // A job must catch the store's exceptions it cares about; others are logged.
  void submit(std::function<void(store::Store*)> job);
  // Queues `message` for the next group commit; `done` is posted to `executor`.
  void append(store::NewMessage message, boost::asio::any_io_executor executor, AppendDone done);

  // Observability, set before the first append: batch durations go to
  // `metrics` (may be null) and a batch slower than `slow_batch` is logged.
  void observe(Metrics* metrics, std::chrono::milliseconds slow_batch) {
    metrics_ = metrics;
    slow_batch_ = slow_batch;
  }

  // Number of append_messages calls made, and messages stored (for tests and metrics).
  std::uint64_t batches() const;
  std::uint64_t messages() const;

 private:
  struct PendingAppend {
    store::NewMessage message;
    boost::asio::any_io_executor executor;
    AppendDone done;
  };
  void run();
  store::Store* ensure_store();
  void commit(std::vector<PendingAppend>& batch);

  StoreFactory factory_;
  std::unique_ptr<store::Store> store_;  // worker thread only
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void(store::Store*)>> jobs_;
  std::vector<PendingAppend> appends_;
  bool stopping_ = false;
  std::uint64_t batches_ = 0;
  std::uint64_t messages_ = 0;
  Metrics* metrics_ = nullptr;
  std::chrono::milliseconds slow_batch_{100};
  std::thread thread_;
};

}  // namespace nself::server
