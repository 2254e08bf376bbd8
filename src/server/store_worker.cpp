#include "server/store_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cassert>
#include <utility>

namespace nself::server {
namespace {

Error unavailable_error() {
  return Error{"unavailable", "the database is unavailable; retry later"};
}

Error overloaded_error() {
  return Error{"overloaded", "too many messages are waiting to be stored; retry later"};
}

Error not_stored_error() {
  return Error{"internal", "the message could not be stored"};
}

store::Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

double seconds_since(std::chrono::system_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::system_clock::now() - since).count();
}

}  // namespace

void add_store_health(const StoreHealth& health, std::chrono::system_clock::time_point now,
                      boost::json::object& body) {
  boost::json::object database;
  database["status"] = health.available ? "ok" : "unavailable";
  if (!health.available) {
    database["unavailable_seconds"] =
        std::chrono::duration_cast<std::chrono::seconds>(now - health.unavailable_since).count();
    body["status"] = "degraded";
  }
  database["pending"] = health.pending;
  database["queue_max"] = health.queue_max;
  database["overloaded"] = health.overloaded;
  database["failed"] = health.failed;
  body["database"] = std::move(database);
}

StoreWorker::StoreWorker(StoreFactory factory, StoreWorkerOptions options)
    : factory_(std::move(factory)), options_(options) {
  options_.queue_max = std::max<std::size_t>(1, options_.queue_max);
  thread_ = std::thread([this] { run(); });
}

StoreWorker::~StoreWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void StoreWorker::submit(std::function<void(store::Store*)> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

bool StoreWorker::append(store::NewMessage message, boost::asio::any_io_executor executor,
                         AppendDone done) {
  bool queued = false;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_ < options_.queue_max) {
      ++pending_;
      appends_.push_back(PendingAppend{std::move(message), executor, std::move(done)});
      queued = true;
      // Only the first append of a batch needs to wake the worker: it takes
      // everything queued when it wakes.
      wake = appends_.size() == 1;
    } else {
      ++health_.overloaded;
    }
  }
  if (!queued) {
    // Refused: answered at once, on the caller's executor like every completion.
    if (done) boost::asio::post(executor, [done = std::move(done)] { done(overloaded_error()); });
    return false;
  }
  if (wake) wake_.notify_one();
  return true;
}

void StoreWorker::drain() {
  assert(std::this_thread::get_id() != thread_.get_id());
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return !busy_ && jobs_.empty() && appends_.empty(); });
}

StoreHealth StoreWorker::health() const {
  std::lock_guard lock(mutex_);
  StoreHealth health = health_;
  health.pending = pending_;
  health.queue_max = options_.queue_max;
  return health;
}

std::uint64_t StoreWorker::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

std::uint64_t StoreWorker::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

store::Store* StoreWorker::usable_store() {
  if (available_ && store_) return store_.get();
  if (!available_ && Clock::now() < next_retry_) return nullptr;
  try {
    if (!store_) store_ = factory_();
    if (!available_) store_->schema_version();  // it answers a query, not only a connect
    mark_available();
    return store_.get();
  } catch (const std::exception& error) {
    mark_unavailable(error);
    return nullptr;
  }
}

void StoreWorker::mark_unavailable(const std::exception& error) {
  store_.reset();  // reconnect from scratch at the next attempt
  next_retry_ = Clock::now() + options_.retry_interval;
  if (!available_) return;  // logged when it became unavailable
  available_ = false;
  spdlog::error(
      "database unavailable: {}; messages to persistent channels are refused (unavailable) "
      "until it is back; retrying every {} ms",
      error.what(), options_.retry_interval.count());
  std::lock_guard lock(mutex_);
  health_.available = false;
  health_.error = error.what();
  health_.unavailable_since = std::chrono::system_clock::now();
  ++health_.outages;
}

void StoreWorker::mark_available() {
  if (available_) return;
  available_ = true;
  std::lock_guard lock(mutex_);
  spdlog::warn("database available again after {:.1f} s ({} messages refused meanwhile)",
               seconds_since(health_.unavailable_since), health_.failed);
  health_.available = true;
  health_.error.clear();
}

void StoreWorker::ping() {
  store::Store* store = usable_store();
  if (store == nullptr) return;
  try {
    store->schema_version();
  } catch (const store::StoreUnavailable& error) {
    mark_unavailable(error);
  } catch (const std::exception& error) {
    spdlog::error("database check failed: {}", error.what());
  }
}

void StoreWorker::run() {
  last_activity_ = Clock::now();
  while (true) {
    std::deque<std::function<void(store::Store*)>> jobs;
    std::vector<PendingAppend> batch;
    {
      std::unique_lock lock(mutex_);
      const auto has_work = [this] { return stopping_ || !jobs_.empty() || !appends_.empty(); };
      const auto idle_wait = available_ ? options_.ping_interval : options_.retry_interval;
      if (idle_wait.count() > 0) {
        wake_.wait_until(lock, last_activity_ + idle_wait, has_work);
      } else {
        wake_.wait(lock, has_work);
      }
      if (stopping_ && jobs_.empty() && appends_.empty()) return;
      jobs.swap(jobs_);
      const std::size_t take = std::min(appends_.size(), kMaxBatch);
      batch.reserve(take);
      std::move(appends_.begin(), appends_.begin() + static_cast<std::ptrdiff_t>(take),
                std::back_inserter(batch));
      appends_.erase(appends_.begin(), appends_.begin() + static_cast<std::ptrdiff_t>(take));
      busy_ = !jobs.empty() || !batch.empty();
    }
    if (jobs.empty() && batch.empty()) {
      // Idle for a while: check the database (reconnects when unavailable).
      ping();
      last_activity_ = Clock::now();
      continue;
    }
    for (auto& job : jobs) {
      store::Store* store = usable_store();
      try {
        job(store);
        // A job that caught the StoreUnavailable itself still left a broken connection.
        if (store != nullptr && store->connection_lost()) {
          throw store::StoreUnavailable("lost the connection to the database (" +
                                        store->describe() + ")");
        }
      } catch (const store::StoreUnavailable& error) {
        mark_unavailable(error);
      } catch (const std::exception& error) {
        spdlog::error("database job failed: {}", error.what());
      }
    }
    if (!batch.empty()) commit(batch);
    last_activity_ = Clock::now();
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void StoreWorker::observe_commit(std::size_t messages, std::chrono::nanoseconds took) {
  if (metrics_ != nullptr) metrics_->observe_store_batch(took);
  if (took > slow_batch_) {
    spdlog::warn("slow store batch: {} messages in {} ms (threshold {} ms)", messages,
                 std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                 slow_batch_.count());
  }
  std::lock_guard lock(mutex_);
  ++batches_;
  messages_ += messages;
}

void StoreWorker::commit(std::vector<PendingAppend>& batch) {
  std::vector<Result<store::StoredMessage>> results;
  results.reserve(batch.size());
  store::Store* store = usable_store();
  if (store == nullptr) {
    {
      std::lock_guard lock(mutex_);
      health_.failed += batch.size();
    }
    for (std::size_t i = 0; i < batch.size(); ++i) results.emplace_back(unavailable_error());
    complete(batch, results);
    return;
  }
  std::vector<store::NewMessage> messages;
  messages.reserve(batch.size());
  for (auto& pending : batch) messages.push_back(std::move(pending.message));
  try {
    const auto started = Clock::now();
    auto stored = store->append_messages(messages, now_ms());
    if (stored.size() != messages.size()) {
      throw store::StoreError("append_messages returned " + std::to_string(stored.size()) +
                              " rows for " + std::to_string(messages.size()) + " messages");
    }
    observe_commit(stored.size(), Clock::now() - started);
    for (auto& message : stored) results.emplace_back(std::move(message));
  } catch (const store::StoreUnavailable& error) {
    spdlog::error("cannot store {} messages: {}", batch.size(), error.what());
    mark_unavailable(error);
    {
      std::lock_guard lock(mutex_);
      health_.failed += batch.size();
    }
    for (std::size_t i = 0; i < batch.size(); ++i) results.emplace_back(unavailable_error());
  } catch (const std::exception& error) {
    spdlog::error("cannot store a batch of {} messages: {}", batch.size(), error.what());
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].message = std::move(messages[i]);
    results.clear();
    commit_one_by_one(batch, results);
  }
  complete(batch, results);
}

void StoreWorker::commit_one_by_one(std::vector<PendingAppend>& batch,
                                    std::vector<Result<store::StoredMessage>>& results) {
  for (auto& pending : batch) {
    store::Store* store = usable_store();
    if (store == nullptr) {
      results.emplace_back(unavailable_error());
      continue;
    }
    try {
      auto stored = store->append_messages(std::span(&pending.message, 1), now_ms());
      if (stored.size() != 1) throw store::StoreError("append_messages returned no row");
      {
        std::lock_guard lock(mutex_);
        ++batches_;
        ++messages_;
      }
      results.emplace_back(std::move(stored.front()));
    } catch (const store::StoreUnavailable& error) {
      mark_unavailable(error);
      results.emplace_back(unavailable_error());
    } catch (const std::exception& error) {
      spdlog::error("cannot store a message to channel {}: {}", pending.message.channel_id,
                    error.what());
      results.emplace_back(not_stored_error());
    }
  }
}

void StoreWorker::complete(std::vector<PendingAppend>& batch,
                           std::vector<Result<store::StoredMessage>>& results) {
  assert(results.size() == batch.size());
  // One post per executor (usually one per event loop) rather than one per
  // message: a cross-thread post wakes the loop, which is the costly part.
  using Completion = std::pair<AppendDone, Result<store::StoredMessage>>;
  std::vector<std::pair<boost::asio::any_io_executor, std::vector<Completion>>> groups;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& entry) { return entry.first == batch[i].executor; });
    if (group == groups.end()) {
      groups.emplace_back(batch[i].executor, std::vector<Completion>{});
      group = std::prev(groups.end());
    }
    group->second.emplace_back(std::move(batch[i].done), std::move(results[i]));
  }
  {
    std::lock_guard lock(mutex_);
    pending_ -= batch.size();
  }
  for (auto& [executor, completions] : groups) {
    boost::asio::post(executor, [completions = std::move(completions)]() mutable {
      for (auto& [done, result] : completions) {
        if (done) done(std::move(result));
      }
    });
  }
}

}  // namespace nself::server
