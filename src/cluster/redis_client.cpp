#include "cluster/redis_client.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <algorithm>
#include <random>

#include "core/backoff.hpp"

namespace nself::cluster {
namespace {

std::string sha1_hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  for (const unsigned char byte : digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

Result<RedisReply> to_result(RedisReply reply) {
  if (reply.is_error()) return Error{"redis_error", std::move(reply.text)};
  return reply;
}

void deliver(const ReplyCallback& done, Result<RedisReply> result) {
  if (done) done(std::move(result));
}

}  // namespace

RedisScript::RedisScript(std::string source)
    : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

std::string_view to_string(RedisState::Link link) {
  switch (link) {
    case RedisState::Link::kConnecting:
      return "connecting";
    case RedisState::Link::kConnected:
      return "connected";
    case RedisState::Link::kDegraded:
      return "degraded";
  }
  return "degraded";
}

RedisClient::RedisClient(core::RedisUrl url, RedisClientOptions options)
    : url_(std::move(url)), options_(options) {
  state_.since = std::chrono::system_clock::now();
}

RedisClient::~RedisClient() {
  stop();
}

void RedisClient::on_state(std::function<void(const RedisState&)> callback) {
  on_state_ = std::move(callback);
}

void RedisClient::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void RedisClient::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  // Never started, or joined: whatever is left is failed here.
  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  fail_all(left, "the cluster client is stopped");
}

void RedisClient::enqueue(Pending pending) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.max_queued) {
      pending.argv.clear();
      pending.overflow = true;
    }
    queue_.push_back(std::move(pending));
  }
  wake_.notify_one();
}

void RedisClient::submit(RedisArgv argv, ReplyCallback done) {
  enqueue(Pending{std::move(argv), std::move(done), nullptr});
}

RedisClient::Stats RedisClient::stats() const {
  Stats stats;
  stats.commands = commands_.load();
  stats.failed = failed_.load();
  stats.batches = batches_.load();
  std::lock_guard lock(mutex_);
  stats.queued = queue_.size();
  return stats;
}

void RedisClient::eval(const RedisScript& script, std::vector<std::string> keys,
                       std::vector<std::string> args, ReplyCallback done) {
  RedisArgv argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  {
    std::lock_guard lock(mutex_);
    if (std::find(scripts_.begin(), scripts_.end(), &script) == scripts_.end()) {
      scripts_.push_back(&script);
    }
  }
  argv.push_back(script.sha1());
  argv.push_back(std::to_string(keys.size()));
  for (auto& key : keys) argv.push_back(std::move(key));
  for (auto& arg : args) argv.push_back(std::move(arg));
  enqueue(Pending{std::move(argv), std::move(done), &script});
}

void RedisClient::on_connect(std::function<RedisArgv()> make, ReplyCallback done) {
  std::lock_guard lock(mutex_);
  connect_command_ = std::move(make);
  connect_done_ = std::move(done);
}

void RedisClient::every(std::chrono::milliseconds interval, std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    periodics_.push_back(
        Periodic{interval, std::move(task), std::chrono::steady_clock::now() + interval});
  }
  wake_.notify_one();
}

RedisState RedisClient::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void RedisClient::set_link(RedisState::Link link, const std::string& error) {
  RedisState copy;
  {
    std::lock_guard lock(mutex_);
    if (!error.empty()) state_.last_error = error;
    if (state_.link == link) return;
    if (link == RedisState::Link::kConnected && state_.link == RedisState::Link::kDegraded) {
      ++state_.reconnects;
    }
    state_.link = link;
    state_.since = std::chrono::system_clock::now();
    copy = state_;
  }
  if (on_state_) on_state_(copy);
}

bool RedisClient::try_connect() {
  try {
    connection_ = std::make_unique<RedisConnection>(url_, options_.connect);
    // Every script used so far is loaded before any command runs, so that a
    // Redis restarted empty answers EVALSHA at once and commands keep their
    // order (a NOSCRIPT retry would run after the commands queued behind it).
    std::vector<const RedisScript*> scripts;
    std::function<RedisArgv()> connect_command;
    ReplyCallback connect_done;
    {
      std::lock_guard lock(mutex_);
      scripts = scripts_;
      connect_command = connect_command_;
      connect_done = connect_done_;
    }
    for (const auto* script : scripts) connection_->append({"SCRIPT", "LOAD", script->source()});
    for (std::size_t index = 0; index < scripts.size(); ++index) {
      const auto reply = connection_->read_reply();
      if (reply.is_error()) {
        throw RedisUnavailable("Redis " + connection_->description() +
                               ": SCRIPT LOAD failed: " + reply.text);
      }
    }
    if (connect_command) {
      auto reply = connection_->command(connect_command());
      deliver(connect_done, to_result(std::move(reply)));
    }
    set_link(RedisState::Link::kConnected, "");
    return true;
  } catch (const RedisUnavailable& error) {
    connection_.reset();
    set_link(RedisState::Link::kDegraded, error.what());
    return false;
  }
}

void RedisClient::fail_all(std::deque<Pending>& batch, const std::string& why) {
  failed_ += batch.size();
  for (auto& pending : batch) deliver(pending.done, Error{"unavailable", why});
  batch.clear();
}

void RedisClient::execute(std::deque<Pending>& batch) {
  // Runs of commands refused at submission are answered in their place, so
  // callbacks keep the submission order.
  while (!batch.empty()) {
    std::deque<Pending> run;
    const bool overflow = batch.front().overflow;
    while (!batch.empty() && batch.front().overflow == overflow) {
      run.push_back(std::move(batch.front()));
      batch.pop_front();
    }
    if (overflow) {
      fail_all(run, "the cluster command queue is full (Redis too slow)");
    } else if (connection_) {
      execute_run(run);
    } else {
      fail_all(run, "the connection to Redis broke");
    }
  }
}

void RedisClient::execute_run(std::deque<Pending>& batch) {
  ++batches_;
  commands_ += batch.size();
  std::size_t delivered = 0;  // callbacks that ran
  try {
    // One round trip: everything is written before the first reply is read.
    for (const auto& pending : batch) connection_->append(pending.argv);
    std::vector<RedisReply> replies;
    replies.reserve(batch.size());
    for (std::size_t index = 0; index < batch.size(); ++index) {
      replies.push_back(connection_->read_reply());
    }
    for (; delivered < batch.size(); ++delivered) {
      auto& pending = batch[delivered];
      auto& reply = replies[delivered];
      if (pending.script != nullptr && reply.is_error() && reply.text.starts_with("NOSCRIPT")) {
        // Redis forgot the script although it was loaded at connect (SCRIPT
        // FLUSH): send it whole. It then runs after the rest of the batch.
        RedisArgv argv = pending.argv;
        argv[0] = "EVAL";
        argv[1] = pending.script->source();
        reply = connection_->command(argv);
      }
      deliver(pending.done, to_result(std::move(reply)));
    }
    batch.clear();
  } catch (const RedisUnavailable& error) {
    connection_.reset();
    set_link(RedisState::Link::kDegraded, error.what());
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(delivered));
    fail_all(batch, error.what());
  }
}

std::chrono::steady_clock::time_point RedisClient::next_periodic() const {
  auto next = std::chrono::steady_clock::time_point::max();
  for (const auto& periodic : periodics_) next = std::min(next, periodic.next);
  return next;
}

void RedisClient::run_due_periodics() {
  // Copied under the lock and called outside it, so that tasks may submit.
  std::vector<std::function<void()>> tasks;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    for (auto& periodic : periodics_) {
      if (periodic.next <= now) {
        periodic.next = now + periodic.interval;
        tasks.push_back(periodic.task);
      }
    }
  }
  for (auto& task : tasks) task();
}

void RedisClient::run() {
  core::Backoff backoff(options_.backoff_initial, options_.backoff_max);
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  auto retry_at = std::chrono::steady_clock::time_point::min();
  auto last_command = std::chrono::steady_clock::now();

  for (;;) {
    if (!connection_ && std::chrono::steady_clock::now() >= retry_at) {
      if (try_connect()) {
        backoff.reset();
      } else {
        retry_at = std::chrono::steady_clock::now() + backoff.next(jitter(random));
      }
    }

    std::deque<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      auto deadline = next_periodic();
      if (!connection_) deadline = std::min(deadline, retry_at);
      if (connection_) deadline = std::min(deadline, last_command + options_.idle_ping);
      wake_.wait_until(lock, deadline, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty() && connection_ &&
        std::chrono::steady_clock::now() - last_command >= options_.idle_ping) {
      // An idle connection is probed, so a Redis that went away is reported
      // degraded without waiting for the next command.
      batch.push_back(Pending{{"PING"}, {}, nullptr});
    }
    if (!batch.empty()) {
      last_command = std::chrono::steady_clock::now();
      if (connection_) {
        execute(batch);
      } else {
        std::string why;
        {
          std::lock_guard lock(mutex_);
          why = state_.last_error;
        }
        fail_all(batch, why.empty() ? "Redis is not connected" : why);
      }
    }
    run_due_periodics();
  }

  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  fail_all(left, "the cluster client is stopped");
  connection_.reset();
}

}  // namespace nself::cluster
