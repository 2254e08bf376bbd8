#pragma once

// The one thread that talks to the database, so that no event loop ever
// blocks on it. Loops hand it jobs; results come back by posting to the
// executor the caller names (its loop). Messages for persistent channels are
// group-committed: everything queued while the previous batch was being
// stored (up to kMaxBatch) goes into ONE Store::append_messages call, and the
// results go back with one post per executor, not one per message.
//
// Back-pressure: at most `queue_max` appends wait or are being committed;
// past it append() fails at once with "overloaded" (nothing queued), so a
// database slower than the traffic never grows memory without bound.
//
// Faults: a StoreUnavailable (database down, connection lost) marks the
// store unavailable: health() says so, appends fail at once with
// "unavailable" and jobs get a null store, while the worker tries to
// reconnect every `retry_interval` on its own (traffic or not). The first
// operation that succeeds marks it available again. While available and
// idle, the worker checks every `ping_interval` that the database still
// answers, so health() notices an outage without traffic.
//
// Thread safety: submit(), append() and health() may be called from any
// thread. The Store is opened, used and destroyed on the worker thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "server/metrics.hpp"
#include "store/store.hpp"

namespace nself::server {

struct StoreWorkerOptions {
  // Appends waiting or being committed (REALTIME_STORE_QUEUE_MAX); past it,
  // append() answers "overloaded" at once. At least 1.
  std::size_t queue_max = 50'000;
  // While unavailable: how often the worker tries to reconnect.
  std::chrono::milliseconds retry_interval{1000};
  // While available and idle: how often it checks the database answers (0: never).
  std::chrono::milliseconds ping_interval{5000};
};

// A snapshot of the worker's state, for /health, `status` and tests.
struct StoreHealth {
  bool available = true;  // false from a StoreUnavailable until an operation succeeds
  std::string error;      // the failure that made it unavailable (empty when available)
  std::chrono::system_clock::time_point unavailable_since{};  // when it became unavailable
  std::size_t pending = 0;                                    // appends queued or being committed
  std::size_t queue_max = 0;                                  // the bound on `pending`
  std::uint64_t overloaded = 0;  // appends refused because the queue was full
  std::uint64_t failed = 0;      // appends answered "unavailable"
  std::uint64_t outages = 0;     // times it became unavailable
};

// Adds the store's state to a /health body: "database": {"status": "ok" or
// "unavailable", "unavailable_seconds", "pending", "queue_max", "overloaded",
// "failed"}, and "status": "degraded" while unavailable. The failure's text
// is left out (/health needs no credentials; the log has it). `now` is the
// current time.
void add_store_health(const StoreHealth& health, std::chrono::system_clock::time_point now,
                      boost::json::object& body);

class StoreWorker {
 public:
  using StoreFactory = std::function<std::unique_ptr<store::Store>()>;
  // Called on the caller's executor: the stored message, or an Error whose
  // code is "unavailable" (the database failed: nothing of it was stored) or
  // "overloaded" (the queue was full: it was never queued). Either error is
  // retryable and means the message was neither stored nor delivered.
  using AppendDone = std::function<void(Result<store::StoredMessage>)>;

  // Most messages stored by one append_messages call.
  static constexpr std::size_t kMaxBatch = 4096;

  // `factory` opens the store (on the worker thread; it is opened again
  // after a failure). The thread starts at once.
  explicit StoreWorker(StoreFactory factory, StoreWorkerOptions options = {});
  // Finishes the queued work, then joins the thread.
  ~StoreWorker();
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  // Runs `job` on the worker thread with the store, or with nullptr when the
  // store is unavailable. The job posts its own results where they belong.
  // A job must catch the store's exceptions it cares about; a StoreUnavailable
  // it lets through marks the store unavailable; others are logged.
  void submit(std::function<void(store::Store*)> job);
  // Blocks until every job and append queued before the call has run and
  // posted its completion. For shutdown: the executors the completions go to
  // must outlive it (Server's destructor drains through its handler before
  // destroying its loops). Not from the worker thread.
  void drain();
  // Queues `message` for the next group commit; `done` is posted to
  // `executor` once it is committed or failed. When the queue is full, `done`
  // is posted at once with "overloaded" and false is returned.
  bool append(store::NewMessage message, boost::asio::any_io_executor executor, AppendDone done);

  // Observability, set before the first append: batch durations go to
  // `metrics` (may be null) and a batch slower than `slow_batch` is logged.
  void observe(Metrics* metrics, std::chrono::milliseconds slow_batch) {
    metrics_ = metrics;
    slow_batch_ = slow_batch;
  }
  // Worker thread: a group commit of `messages` took `took` (the histogram,
  // the slow-batch log, batches() and messages()). Called by commit() and by
  // the engine's store lanes, which commit through run_append_batch.
  void observe_commit(std::size_t messages, std::chrono::nanoseconds took);

  StoreHealth health() const;
  // Number of append_messages calls that succeeded, and messages stored.
  std::uint64_t batches() const;
  std::uint64_t messages() const;

 private:
  struct PendingAppend {
    store::NewMessage message;
    boost::asio::any_io_executor executor;
    AppendDone done;
  };
  using Clock = std::chrono::steady_clock;

  void run();
  // The store when available (opening it when needed); nullptr while
  // unavailable and no reconnect attempt is due, or when the attempt fails.
  store::Store* usable_store();
  void mark_unavailable(const std::exception& error);
  void mark_available();
  void ping();
  void commit(std::vector<PendingAppend>& batch);
  // Stores `batch` one message at a time after the batch failed with a
  // StoreError, so one bad message (a channel deleted meanwhile) fails alone.
  void commit_one_by_one(std::vector<PendingAppend>& batch,
                         std::vector<Result<store::StoredMessage>>& results);
  void complete(std::vector<PendingAppend>& batch,
                std::vector<Result<store::StoredMessage>>& results);

  StoreFactory factory_;
  StoreWorkerOptions options_;
  // Worker thread only:
  std::unique_ptr<store::Store> store_;
  Clock::time_point next_retry_{};
  Clock::time_point last_activity_{};
  bool available_ = true;  // mirrored in health_.available

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void(store::Store*)>> jobs_;
  std::deque<PendingAppend> appends_;
  bool stopping_ = false;

  // True while the worker holds jobs or appends taken from the queues (drain()).
  bool busy_ = false;
  std::condition_variable idle_;  // notified when busy_ becomes false

  std::size_t pending_ = 0;  // appends_ plus the batch being committed
  StoreHealth health_;       // guarded by mutex_ (pending and queue_max filled on read)
  std::uint64_t batches_ = 0;
  std::uint64_t messages_ = 0;
  Metrics* metrics_ = nullptr;
  std::chrono::milliseconds slow_batch_{100};
  std::thread thread_;
};

}  // namespace nself::server
