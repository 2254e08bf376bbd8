#include "server/store_worker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace nself::server {

StoreWorker::StoreWorker(StoreFactory factory)
    : factory_(std::move(factory)), thread_([this] { run(); }) {}

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

void StoreWorker::append(store::NewMessage message, boost::asio::any_io_executor executor,
                         AppendDone done) {
  {
    std::lock_guard lock(mutex_);
    appends_.push_back(PendingAppend{std::move(message), std::move(executor), std::move(done)});
  }
  wake_.notify_one();
}

std::uint64_t StoreWorker::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

std::uint64_t StoreWorker::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

store::Store* StoreWorker::ensure_store() {
  if (store_) return store_.get();
  try {
    store_ = factory_();
  } catch (const std::exception& error) {
    spdlog::error("database unavailable: {}", error.what());
  }
  return store_.get();
}

void StoreWorker::run() {
  while (true) {
    std::deque<std::function<void(store::Store*)>> jobs;
    std::vector<PendingAppend> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty() || !appends_.empty(); });
      if (jobs_.empty() && appends_.empty()) return;  // stopping, nothing left
      jobs.swap(jobs_);
      batch.swap(appends_);
    }
    for (auto& job : jobs) {
      store::Store* store = ensure_store();
      try {
        job(store);
      } catch (const store::StoreUnavailable& error) {
        spdlog::error("database unavailable: {}", error.what());
        store_.reset();  // reconnect next time
      } catch (const std::exception& error) {
        spdlog::error("database job failed: {}", error.what());
      }
    }
    if (!batch.empty()) commit(batch);
  }
}

void StoreWorker::commit(std::vector<PendingAppend>& batch) {
  std::vector<store::NewMessage> messages;
  messages.reserve(batch.size());
  for (auto& pending : batch) messages.push_back(pending.message);
  std::vector<store::StoredMessage> stored;
  bool ok = false;
  if (store::Store* store = ensure_store()) {
    try {
      const auto started = std::chrono::steady_clock::now();
      stored =
          store->append_messages(messages, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now()));
      ok = stored.size() == batch.size();
      const auto took = std::chrono::steady_clock::now() - started;
      if (metrics_ != nullptr) metrics_->observe_store_batch(took);
      if (took > slow_batch_) {
        spdlog::warn("slow store batch: {} messages in {} ms (threshold {} ms)", batch.size(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                     slow_batch_.count());
      }
    } catch (const store::StoreUnavailable& error) {
      spdlog::error("cannot store {} messages, database unavailable: {}", batch.size(),
                    error.what());
      store_.reset();
    } catch (const std::exception& error) {
      spdlog::error("cannot store {} messages: {}", batch.size(), error.what());
    }
  }
  if (ok) {
    std::lock_guard lock(mutex_);
    ++batches_;
    messages_ += stored.size();
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::optional<store::StoredMessage> result;
    if (ok) result = std::move(stored[i]);
    boost::asio::post(batch[i].executor,
                      [done = std::move(batch[i].done), result = std::move(result)]() mutable {
                        done(std::move(result));
                      });
  }
}

}  // namespace nself::server
