// The StoreWorker against a real SQLite store: group commit, the bounded
// queue (overloaded), a database that fails and comes back (unavailable,
// health, reconnect without traffic), and a batch with one bad message.

#include "server/store_worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "support/temp_dir.hpp"
#include "support/worker_block.hpp"

namespace nself::server {
namespace {

using namespace std::chrono_literals;

store::Timestamp now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// A loop thread that receives the worker's completions, as a server loop does.
class LoopThread {
 public:
  LoopThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~LoopThread() {
    work_.reset();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  bool on_loop() const { return thread_.get_id() == std::this_thread::get_id(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Results of appends, keyed by the order they were made, filled on the loop thread.
class Results {
 public:
  StoreWorker::AppendDone callback(int index, LoopThread* loop = nullptr) {
    return [this, index, loop](Result<store::StoredMessage> result) {
      std::lock_guard lock(mutex_);
      if (loop != nullptr && !loop->on_loop()) wrong_thread_ = true;
      results_.emplace(index, std::move(result));
      changed_.notify_all();
    };
  }
  // Waits until `count` results arrived; false after 10 s.
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return results_.size() >= count; });
  }
  std::map<int, Result<store::StoredMessage>> take() {
    std::lock_guard lock(mutex_);
    return std::move(results_);
  }
  bool wrong_thread() const {
    std::lock_guard lock(mutex_);
    return wrong_thread_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, Result<store::StoredMessage>> results_;
  bool wrong_thread_ = false;
};

class StoreWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.sqlite_path = (dir_.path() / "realtime.db").string();
    auto store = store::open_store(options_);
    store->migrate();
    store::NewChannel channel;
    channel.name = "room";
    channel.slug = "room";
    channel_id_ = store->create_channel(channel, now_ms()).value().id;
    channel.name = channel.slug = "other";
    other_id_ = store->create_channel(channel, now_ms()).value().id;
  }

  StoreWorker::StoreFactory factory() {
    return [this] {
      if (down_) throw store::StoreUnavailable("test: the database is down");
      ++opens_;
      return store::open_store(options_);
    };
  }

  store::NewMessage message(const std::string& channel_id, int n) {
    store::NewMessage message;
    message.channel_id = channel_id;
    message.user_id = "user-" + std::to_string(n);
    message.content = std::to_string(n);
    return message;
  }

  std::int64_t stored_count(const std::string& channel_id) {
    return store::open_store(options_)->find_channel(channel_id)->last_seq;
  }

  test::TempDir dir_;
  store::StoreOptions options_;
  std::string channel_id_;
  std::string other_id_;
  std::atomic<bool> down_{false};
  std::atomic<int> opens_{0};
};

using test::WorkerBlock;

TEST_F(StoreWorkerTest, GroupCommitsQueuedAppendsAndAnswersOnTheCallersExecutor) {
  LoopThread loop;
  Results results;
  StoreWorker worker(factory());
  {
    WorkerBlock block(worker);
    for (int i = 0; i < 300; ++i) {
      EXPECT_TRUE(worker.append(message(i % 3 == 0 ? other_id_ : channel_id_, i), loop.executor(),
                                results.callback(i, &loop)));
    }
    EXPECT_EQ(worker.health().pending, 300u);
  }
  ASSERT_TRUE(results.wait_for(300));
  auto done = results.take();
  std::int64_t next_room = 1;
  std::int64_t next_other = 1;
  for (auto& [index, result] : done) {
    ASSERT_TRUE(result.ok()) << index << ": " << result.error().code;
    EXPECT_EQ(result->content, std::to_string(index));
    // Per channel, seqs follow the order of the appends, without a gap.
    EXPECT_EQ(result->seq, index % 3 == 0 ? next_other++ : next_room++);
  }
  EXPECT_FALSE(results.wrong_thread());
  // Everything queued behind the block went into one commit.
  EXPECT_EQ(worker.batches(), 1u);
  EXPECT_EQ(worker.messages(), 300u);
  EXPECT_EQ(worker.health().pending, 0u);
  EXPECT_EQ(stored_count(channel_id_), 200);
  EXPECT_EQ(stored_count(other_id_), 100);
}

TEST_F(StoreWorkerTest, ABatchLargerThanTheMostPerCommitIsSplit) {
  LoopThread loop;
  Results results;
  StoreWorker worker(factory());
  const int count = static_cast<int>(StoreWorker::kMaxBatch) + 10;
  {
    WorkerBlock block(worker);
    for (int i = 0; i < count; ++i) {
      worker.append(message(channel_id_, i), loop.executor(), results.callback(i));
    }
  }
  ASSERT_TRUE(results.wait_for(static_cast<std::size_t>(count)));
  for (auto& [index, result] : results.take()) {
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->seq, index + 1);
  }
  EXPECT_EQ(worker.batches(), 2u);
}

TEST_F(StoreWorkerTest, AFullQueueRefusesAppendsAtOnceWithOverloaded) {
  LoopThread loop;
  Results results;
  StoreWorkerOptions options;
  options.queue_max = 5;
  StoreWorker worker(factory(), options);
  {
    WorkerBlock block(worker);
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(worker.append(message(channel_id_, i), loop.executor(), results.callback(i)));
    }
    for (int i = 5; i < 8; ++i) {
      EXPECT_FALSE(worker.append(message(channel_id_, i), loop.executor(), results.callback(i)));
    }
    // The refused ones are answered while the worker is still blocked.
    ASSERT_TRUE(results.wait_for(3));
    auto refused = results.take();
    ASSERT_EQ(refused.size(), 3u);
    for (auto& [index, result] : refused) {
      EXPECT_GE(index, 5);
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.error().code, "overloaded");
      EXPECT_NE(result.error().message.find("retry"), std::string::npos);
    }
    const StoreHealth health = worker.health();
    EXPECT_EQ(health.pending, 5u);
    EXPECT_EQ(health.queue_max, 5u);
    EXPECT_EQ(health.overloaded, 3u);
    EXPECT_TRUE(health.available);  // overloaded is not an outage
  }
  ASSERT_TRUE(results.wait_for(5));
  auto stored = results.take();
  for (auto& [index, result] : stored) {
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->seq, index + 1);  // the refused ones took no seq
  }
  EXPECT_EQ(stored_count(channel_id_), 5);
  // Room again once the queue drained.
  EXPECT_TRUE(worker.append(message(channel_id_, 9), loop.executor(), results.callback(9)));
  ASSERT_TRUE(results.wait_for(1));
  EXPECT_EQ(results.take().at(9)->seq, 6);
}

TEST_F(StoreWorkerTest, AQueueBoundOfZeroIsTreatedAsOne) {
  LoopThread loop;
  Results results;
  StoreWorkerOptions options;
  options.queue_max = 0;
  StoreWorker worker(factory(), options);
  EXPECT_EQ(worker.health().queue_max, 1u);
  worker.append(message(channel_id_, 1), loop.executor(), results.callback(1));
  ASSERT_TRUE(results.wait_for(1));
}

TEST_F(StoreWorkerTest, AnUnavailableDatabaseIsReportedAndReconnectedWithoutTraffic) {
  LoopThread loop;
  Results results;
  StoreWorkerOptions options;
  options.retry_interval = 100ms;
  options.ping_interval = 100ms;
  down_ = true;
  StoreWorker worker(factory(), options);
  worker.append(message(channel_id_, 1), loop.executor(), results.callback(1));
  ASSERT_TRUE(results.wait_for(1));
  auto failed = results.take();
  ASSERT_FALSE(failed.at(1).ok());
  EXPECT_EQ(failed.at(1).error().code, "unavailable");
  StoreHealth health = worker.health();
  EXPECT_FALSE(health.available);
  EXPECT_NE(health.error.find("down"), std::string::npos);
  EXPECT_EQ(health.failed, 1u);
  EXPECT_EQ(health.outages, 1u);

  // A job sees no store while it is down.
  std::promise<bool> job_store;
  worker.submit([&](store::Store* store) { job_store.set_value(store != nullptr); });
  EXPECT_FALSE(job_store.get_future().get());

  // Back: the worker reconnects by itself, no append needed.
  down_ = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!worker.health().available && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  health = worker.health();
  EXPECT_TRUE(health.available);
  EXPECT_TRUE(health.error.empty());
  worker.append(message(channel_id_, 2), loop.executor(), results.callback(2));
  ASSERT_TRUE(results.wait_for(1));
  auto stored = results.take();
  ASSERT_TRUE(stored.at(2).ok());
  EXPECT_EQ(stored.at(2)->seq, 1);  // the failed append took no seq
  EXPECT_EQ(worker.health().outages, 1u);
}

// A store whose operations fail as a lost connection does.
class FailingStore final : public store::Store {
 public:
  explicit FailingStore(std::unique_ptr<store::Store> inner, std::atomic<bool>& failing)
      : inner_(std::move(inner)), failing_(failing) {}
  std::string_view backend() const override { return inner_->backend(); }
  bool connection_lost() const override { return lost_; }
  std::vector<std::size_t> run_in_one_transaction(
      std::span<const std::function<void()>> steps) override {
    return inner_->run_in_one_transaction(steps);
  }
  std::string describe() const override { return inner_->describe(); }
  store::MigrationReport migrate() override { return inner_->migrate(); }
  int schema_version() override {
    check();
    return inner_->schema_version();
  }
  Result<store::Channel> create_channel(const store::NewChannel& c, store::Timestamp t) override {
    return inner_->create_channel(c, t);
  }
  std::vector<store::Channel> list_channels(bool a) override { return inner_->list_channels(a); }
  std::optional<store::Channel> find_channel(std::string_view id) override {
    return inner_->find_channel(id);
  }
  bool delete_channel(std::string_view id) override { return inner_->delete_channel(id); }
  bool archive_channel(std::string_view id, store::Timestamp t) override {
    return inner_->archive_channel(id, t);
  }
  void upsert_member(const store::ChannelMember& m) override { inner_->upsert_member(m); }
  bool remove_member(std::string_view c, std::string_view u) override {
    return inner_->remove_member(c, u);
  }
  std::vector<store::ChannelMember> get_channel_members(std::string_view c) override {
    return inner_->get_channel_members(c);
  }
  std::optional<store::ChannelMember> find_member(std::string_view c, std::string_view u) override {
    return inner_->find_member(c, u);
  }
  void mark_read(std::string_view c, std::string_view u, std::int64_t s,
                 store::Timestamp t) override {
    inner_->mark_read(c, u, s, t);
  }
  std::vector<store::StoredMessage> append_messages(std::span<const store::NewMessage> m,
                                                    store::Timestamp t) override {
    check();
    return inner_->append_messages(m, t);
  }
  std::vector<store::StoredMessage> history(std::string_view c, std::optional<std::int64_t> b,
                                            int l) override {
    return inner_->history(c, b, l);
  }
  std::vector<store::StoredMessage> messages_since(std::string_view c, std::int64_t a,
                                                   int l) override {
    return inner_->messages_since(c, a, l);
  }
  std::int64_t prune_before(store::PruneTable table, store::Timestamp t,
                            std::int64_t limit) override {
    return inner_->prune_before(table, t, limit);
  }
  void record_connection(const store::ConnectionRecord& c) override {
    inner_->record_connection(c);
  }
  void record_disconnect(std::string_view c, store::Timestamp t) override {
    inner_->record_disconnect(c, t);
  }
  void touch_connections(std::span<const std::string> c, store::Timestamp t) override {
    inner_->touch_connections(c, t);
  }
  std::vector<store::ConnectionRecord> list_connections(bool d) override {
    return inner_->list_connections(d);
  }
  void add_subscription(std::string_view c, std::string_view ch, std::string_view u,
                        store::Timestamp t) override {
    inner_->add_subscription(c, ch, u, t);
  }
  void remove_subscription(std::string_view c, std::string_view ch) override {
    inner_->remove_subscription(c, ch);
  }
  std::int64_t count_subscriptions(std::string_view c) override {
    return inner_->count_subscriptions(c);
  }
  void update_presence(const store::PresenceRecord& p) override { inner_->update_presence(p); }
  std::vector<store::PresenceRecord> list_presence(std::string_view c) override {
    return inner_->list_presence(c);
  }
  store::Broadcast create_broadcast(const store::Broadcast& b, store::Timestamp t) override {
    return inner_->create_broadcast(b, t);
  }
  std::vector<store::Broadcast> due_broadcasts(store::Timestamp t) override {
    return inner_->due_broadcasts(t);
  }
  void mark_broadcast_sent(std::string_view b, store::Timestamp t) override {
    inner_->mark_broadcast_sent(b, t);
  }
  std::vector<store::Broadcast> claim_due_broadcasts(store::Timestamp t, int l) override {
    return inner_->claim_due_broadcasts(t, l);
  }
  void release_broadcast(std::string_view b) override { inner_->release_broadcast(b); }
  std::vector<store::Broadcast> active_announcements(store::Timestamp t) override {
    return inner_->active_announcements(t);
  }
  std::vector<store::Broadcast> list_broadcasts() override { return inner_->list_broadcasts(); }
  bool delete_broadcast(std::string_view b) override { return inner_->delete_broadcast(b); }
  std::int64_t cleanup_stale_connections(store::Timestamp t) override {
    return inner_->cleanup_stale_connections(t);
  }
  std::int64_t cleanup_expired_broadcasts(store::Timestamp t) override {
    return inner_->cleanup_expired_broadcasts(t);
  }
  std::int64_t cleanup_stale_presence(store::Timestamp t) override {
    return inner_->cleanup_stale_presence(t);
  }
  store::StoreStats stats(store::Timestamp t) override { return inner_->stats(t); }
  std::optional<std::string> get_state(std::string_view k) override { return inner_->get_state(k); }
  void set_state(std::string_view k, std::string_view v) override { inner_->set_state(k, v); }
  void append_audit(const store::AuditEntry& e) override { inner_->append_audit(e); }
  std::vector<store::AuditEntry> list_audit(int l) override { return inner_->list_audit(l); }

 private:
  void check() {
    if (!failing_) return;
    lost_ = true;
    throw store::StoreUnavailable("test: lost the connection");
  }
  std::unique_ptr<store::Store> inner_;
  std::atomic<bool>& failing_;
  bool lost_ = false;
};

TEST_F(StoreWorkerTest, AConnectionLostWhileIdleIsNoticedByThePing) {
  LoopThread loop;
  Results results;
  std::atomic<bool> failing{false};
  StoreWorkerOptions options;
  options.retry_interval = 50ms;
  options.ping_interval = 50ms;
  StoreWorker worker(
      [&] { return std::make_unique<FailingStore>(store::open_store(options_), failing); },
      options);
  worker.append(message(channel_id_, 1), loop.executor(), results.callback(1));
  ASSERT_TRUE(results.wait_for(1));
  ASSERT_TRUE(results.take().at(1).ok());
  failing = true;  // no traffic from here: only the ping can notice
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (worker.health().available && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(worker.health().available);
  failing = false;
  deadline = std::chrono::steady_clock::now() + 5s;
  while (!worker.health().available && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(worker.health().available);
  EXPECT_EQ(worker.health().outages, 1u);
}

TEST_F(StoreWorkerTest, AnOutageAJobSwallowedIsStillNoticed) {
  std::atomic<bool> failing{false};
  StoreWorkerOptions options;
  options.retry_interval = 1h;
  options.ping_interval = 0ms;
  StoreWorker worker(
      [&] { return std::make_unique<FailingStore>(store::open_store(options_), failing); },
      options);
  failing = true;
  std::promise<void> ran;
  worker.submit([&](store::Store* store) {
    try {
      store->schema_version();
    } catch (const store::StoreError&) {
      // Answered "unavailable" to its own caller, as the handler's jobs do.
    }
    ran.set_value();
  });
  ran.get_future().wait();
  std::promise<bool> next_store;
  worker.submit([&](store::Store* store) { next_store.set_value(store != nullptr); });
  EXPECT_FALSE(next_store.get_future().get());
  EXPECT_FALSE(worker.health().available);
  EXPECT_EQ(worker.health().outages, 1u);
}

TEST_F(StoreWorkerTest, AFailedBatchAnswersEveryAppendUnavailableAndStoresNone) {
  LoopThread loop;
  Results results;
  std::atomic<bool> failing{false};
  StoreWorkerOptions options;
  options.retry_interval = 1h;  // no reconnect during the test
  options.ping_interval = 0ms;
  StoreWorker worker(
      [&] { return std::make_unique<FailingStore>(store::open_store(options_), failing); },
      options);
  {
    WorkerBlock block(worker);
    failing = true;
    for (int i = 0; i < 10; ++i) {
      worker.append(message(channel_id_, i), loop.executor(), results.callback(i));
    }
  }
  ASSERT_TRUE(results.wait_for(10));
  for (auto& [index, result] : results.take()) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "unavailable");
  }
  EXPECT_EQ(stored_count(channel_id_), 0);
  const StoreHealth health = worker.health();
  EXPECT_FALSE(health.available);
  EXPECT_EQ(health.failed, 10u);
  EXPECT_EQ(health.pending, 0u);
  // While unavailable and before the next retry, appends fail at once.
  failing = false;
  worker.append(message(channel_id_, 11), loop.executor(), results.callback(11));
  ASSERT_TRUE(results.wait_for(1));
  EXPECT_EQ(results.take().at(11).error().code, "unavailable");
}

TEST_F(StoreWorkerTest, OneBadMessageFailsAloneNotItsWholeBatch) {
  LoopThread loop;
  Results results;
  StoreWorker worker(factory());
  {
    WorkerBlock block(worker);
    worker.append(message(channel_id_, 0), loop.executor(), results.callback(0));
    // A channel deleted after the message was validated: a UUID naming nothing.
    worker.append(message("00000000-0000-4000-8000-000000000000", 1), loop.executor(),
                  results.callback(1));
    worker.append(message(channel_id_, 2), loop.executor(), results.callback(2));
  }
  ASSERT_TRUE(results.wait_for(3));
  auto done = results.take();
  ASSERT_TRUE(done.at(0).ok());
  EXPECT_EQ(done.at(0)->seq, 1);
  ASSERT_FALSE(done.at(1).ok());
  EXPECT_EQ(done.at(1).error().code, "internal");
  ASSERT_TRUE(done.at(2).ok());
  EXPECT_EQ(done.at(2)->seq, 2);
  EXPECT_TRUE(worker.health().available);  // a bad message is not an outage
}

TEST_F(StoreWorkerTest, DestroyingTheWorkerFinishesQueuedAppends) {
  LoopThread loop;
  Results results;
  {
    StoreWorker worker(factory());
    WorkerBlock block(worker);
    for (int i = 0; i < 20; ++i) {
      worker.append(message(channel_id_, i), loop.executor(), results.callback(i));
    }
    block.release();
  }
  ASSERT_TRUE(results.wait_for(20));
  EXPECT_EQ(stored_count(channel_id_), 20);
}

TEST_F(StoreWorkerTest, DrainReturnsOnceEveryJobAndAppendQueuedBeforeItIsDone) {
  LoopThread loop;
  Results results;
  StoreWorker worker(factory());
  worker.drain();  // idle: at once
  WorkerBlock block(worker);
  // More appends than one batch takes: the rest wait in the queue meanwhile.
  const int count = static_cast<int>(StoreWorker::kMaxBatch) + 10;
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(worker.append(message(channel_id_, i), loop.executor(), results.callback(i)));
  }
  std::atomic<bool> job_ran{false};
  worker.submit([&job_ran](store::Store*) { job_ran = true; });
  std::thread releaser([&block] {
    std::this_thread::sleep_for(100ms);
    block.release();
  });
  worker.drain();
  EXPECT_TRUE(job_ran);
  EXPECT_EQ(worker.health().pending, 0u);
  EXPECT_EQ(worker.messages(), static_cast<std::uint64_t>(count));
  releaser.join();
  ASSERT_TRUE(results.wait_for(static_cast<std::size_t>(count)));
}

TEST(StoreHealthJson, OkAndDegraded) {
  const auto now = std::chrono::system_clock::now();
  StoreHealth health;
  health.pending = 3;
  health.queue_max = 10;
  health.overloaded = 2;
  boost::json::object body{{"status", "ok"}};
  add_store_health(health, now, body);
  EXPECT_EQ(body.at("status"), "ok");
  EXPECT_EQ(body.at("database").at("status"), "ok");
  EXPECT_EQ(body.at("database").at("pending"), 3);
  EXPECT_EQ(body.at("database").at("queue_max"), 10);
  EXPECT_EQ(body.at("database").at("overloaded"), 2);
  EXPECT_FALSE(body.at("database").as_object().contains("unavailable_seconds"));

  health.available = false;
  health.error = "cannot connect to PostgreSQL at db:5432 (password=secret)";
  health.unavailable_since = now - 42s;
  boost::json::object degraded{{"status", "ok"}};
  add_store_health(health, now, degraded);
  EXPECT_EQ(degraded.at("status"), "degraded");
  EXPECT_EQ(degraded.at("database").at("status"), "unavailable");
  EXPECT_EQ(degraded.at("database").at("unavailable_seconds"), 42);
  // /health needs no credentials: the failure's text stays in the log.
  EXPECT_EQ(boost::json::serialize(degraded).find("5432"), std::string::npos);
}

}  // namespace
}  // namespace nself::server
