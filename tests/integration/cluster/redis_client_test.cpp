// RedisClient: the command thread, pipelining, scripts, degraded mode,
// reconnection after Redis was killed and started again.

#include "cluster/redis_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "cluster_test_support.hpp"
#include "support/process.hpp"

namespace nself::cluster {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::eventually;
using test::parse;

RedisClientOptions fast_options() {
  RedisClientOptions options;
  options.connect.connect_timeout = 2000ms;
  options.connect.command_timeout = 3000ms;
  options.backoff_initial = 20ms;
  options.backoff_max = 200ms;
  return options;
}

Result<RedisReply> run(RedisClient& client, RedisArgv argv) {
  return await<RedisReply>([&](Callback<RedisReply> done) { client.submit(argv, done); });
}

TEST(RedisClient, RepliesArriveOnTheCommandThreadInSubmissionOrder) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  RedisClient client(url, fast_options());
  ASSERT_TRUE(test::start_and_wait(client));
  const auto key = test::unique_prefix() + "counter";
  std::mutex mutex;
  std::vector<std::int64_t> seen;
  std::atomic<bool> on_caller_thread{false};
  const auto caller = std::this_thread::get_id();
  constexpr int kCount = 2000;
  for (int index = 0; index < kCount; ++index) {
    client.submit({"INCR", key}, [&](Result<RedisReply> reply) {
      if (std::this_thread::get_id() == caller) on_caller_thread = true;
      std::lock_guard lock(mutex);
      seen.push_back(reply ? reply->integer : -1);
    });
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return seen.size() == kCount;
  }));
  EXPECT_FALSE(on_caller_thread);
  for (int index = 0; index < kCount; ++index) ASSERT_EQ(seen[index], index + 1);
  EXPECT_TRUE(client.state().connected());
  EXPECT_TRUE(run(client, {"DEL", key}).ok());
}

TEST(RedisClient, ErrorRepliesAreRedisErrors) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  RedisClient client(url, fast_options());
  ASSERT_TRUE(test::start_and_wait(client));
  const auto reply = run(client, {"NOT-A-COMMAND"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "redis_error");
  EXPECT_NE(reply.error().message.find("unknown command"), std::string::npos);
}

TEST(RedisClient, ScriptsSurviveAScriptFlush) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  RedisClient client(url, fast_options());
  ASSERT_TRUE(test::start_and_wait(client));
  const RedisScript script("return ARGV[1] .. '!'");
  auto eval = [&] {
    return await<RedisReply>(
        [&](Callback<RedisReply> done) { client.eval(script, {}, {"hello"}, done); });
  };
  auto first = eval();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->text, "hello!");
  ASSERT_TRUE(run(client, {"SCRIPT", "FLUSH"}).ok());
  auto second = eval();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->text, "hello!");
}

TEST(RedisClient, ScriptsAreLoadedAgainAtReconnectSoCommandsKeepTheirOrder) {
  nself::test::RedisServer server;
  RedisClient client(parse(server.url()), fast_options());
  ASSERT_TRUE(test::start_and_wait(client));
  const RedisScript set("redis.call('SET', ARGV[1], ARGV[2]) return 1");
  ASSERT_TRUE(await<RedisReply>([&](Callback<RedisReply> done) {
                client.eval(set, {}, {"k", "before"}, done);
              }).ok());
  server.kill();
  EXPECT_FALSE(run(client, {"PING"}).ok());
  server.start();  // empty: no scripts
  ASSERT_TRUE(eventually([&] { return client.state().connected(); }));
  // The script and a GET queued together: the GET must see the script's write.
  std::promise<Result<RedisReply>> got;
  client.eval(set, {}, {"k", "after"});
  client.submit({"GET", "k"}, [&](Result<RedisReply> reply) { got.set_value(std::move(reply)); });
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  const auto value = future.get();
  ASSERT_TRUE(value.ok()) << value.error().message;
  EXPECT_EQ(value->text, "after");
}

TEST(RedisClient, DownFromTheStartFailsFastAndReportsDegraded) {
  const int port = nself::test::free_port();
  RedisClient client(parse("redis://127.0.0.1:" + std::to_string(port)), fast_options());
  std::atomic<int> degraded_reports{0};
  client.on_state([&](const RedisState& state) {
    if (state.link == RedisState::Link::kDegraded) ++degraded_reports;
  });
  client.start();
  const auto reply = run(client, {"PING"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "unavailable");
  EXPECT_NE(reply.error().message.find(std::to_string(port)), std::string::npos);
  const auto state = client.state();
  EXPECT_EQ(state.link, RedisState::Link::kDegraded);
  EXPECT_FALSE(state.last_error.empty());
  // Repeated failed attempts are one transition, reported once.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(degraded_reports.load(), 1);
}

TEST(RedisClient, ReconnectsAfterRedisIsKilledAndStartedAgain) {
  nself::test::RedisServer server;
  RedisClient client(parse(server.url()), fast_options());
  std::mutex mutex;
  std::vector<RedisState::Link> transitions;
  client.on_state([&](const RedisState& state) {
    std::lock_guard lock(mutex);
    transitions.push_back(state.link);
  });
  ASSERT_TRUE(test::start_and_wait(client));
  ASSERT_TRUE(run(client, {"SET", "k", "v"}).ok());

  server.kill();
  // The first command after the kill finds the broken connection.
  const auto broken = run(client, {"GET", "k"});
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, "unavailable");
  EXPECT_EQ(client.state().link, RedisState::Link::kDegraded);
  // While down, calls fail fast rather than wait.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(run(client, {"PING"}).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

  server.start();
  ASSERT_TRUE(eventually([&] { return client.state().connected(); }));
  const auto after = run(client, {"PING"});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->text, "PONG");
  // Redis restarted empty.
  EXPECT_TRUE(run(client, {"GET", "k"})->is_nil());
  const auto state = client.state();
  EXPECT_EQ(state.reconnects, 1u);
  EXPECT_NE(state.last_error, "");
  std::lock_guard lock(mutex);
  EXPECT_EQ(transitions, (std::vector<RedisState::Link>{RedisState::Link::kConnected,
                                                        RedisState::Link::kDegraded,
                                                        RedisState::Link::kConnected}));
}

TEST(RedisClient, AnIdleClientNoticesThatRedisWentAway) {
  nself::test::RedisServer server;
  auto options = fast_options();
  options.idle_ping = 50ms;
  RedisClient client(parse(server.url()), options);
  std::atomic<bool> degraded{false};
  client.on_state([&](const RedisState& state) {
    if (state.link == RedisState::Link::kDegraded) degraded = true;
  });
  client.start();
  ASSERT_TRUE(eventually([&] { return client.state().connected(); }));
  server.kill();
  // No command is submitted: the idle PING finds out.
  EXPECT_TRUE(eventually([&] { return degraded.load(); }, 5s));
  EXPECT_FALSE(client.state().last_error.empty());
  server.start();
  EXPECT_TRUE(eventually([&] { return client.state().connected(); }));
}

TEST(RedisClient, AFullQueueRefusesInsteadOfGrowingAndKeepsOrder) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  auto options = fast_options();
  options.max_queued = 10;
  RedisClient client(url, options);  // not started: everything stays queued
  std::mutex mutex;
  std::vector<std::string> outcomes;
  for (int index = 0; index < 15; ++index) {
    client.submit({"PING"}, [&, index](Result<RedisReply> reply) {
      std::lock_guard lock(mutex);
      outcomes.push_back(std::to_string(index) + (reply ? ":ok" : ":" + reply.error().message));
    });
  }
  EXPECT_EQ(client.stats().queued, 15u);
  client.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return outcomes.size() == 15;
  }));
  std::lock_guard lock(mutex);
  for (int index = 0; index < 15; ++index) {
    const auto& outcome = outcomes[static_cast<std::size_t>(index)];
    EXPECT_EQ(outcome.substr(0, outcome.find(':')), std::to_string(index)) << "in order";
    if (index < 10) {
      EXPECT_EQ(outcome, std::to_string(index) + ":ok");
    } else {
      EXPECT_NE(outcome.find("queue is full"), std::string::npos) << outcome;
    }
  }
  const auto stats = client.stats();
  EXPECT_EQ(stats.failed, 5u);
  EXPECT_GE(stats.commands, 10u);
  EXPECT_EQ(stats.queued, 0u);
}

TEST(RedisClient, PeriodicTasksRunOnTheCommandThread) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  RedisClient client(url, fast_options());
  // The command thread is where replies are handed over (and where on_state
  // runs); every run of the task must be on that same thread.
  std::mutex mutex;
  std::vector<std::thread::id> task_threads;
  std::thread::id state_thread;
  client.on_state([&](const RedisState&) {
    std::lock_guard lock(mutex);
    state_thread = std::this_thread::get_id();
  });
  client.every(20ms, [&] {
    std::lock_guard lock(mutex);
    task_threads.push_back(std::this_thread::get_id());
  });
  ASSERT_TRUE(test::start_and_wait(client));
  std::thread::id reply_thread;
  ASSERT_TRUE(await<RedisReply>([&](Callback<RedisReply> done) {
                client.submit({"PING"}, [&, done](Result<RedisReply> reply) {
                  {
                    std::lock_guard lock(mutex);
                    reply_thread = std::this_thread::get_id();
                  }
                  done(std::move(reply));
                });
              }).ok());
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return task_threads.size() >= 3;
  }));
  std::lock_guard lock(mutex);
  EXPECT_NE(reply_thread, std::this_thread::get_id());
  EXPECT_EQ(state_thread, reply_thread);
  for (const auto& thread : task_threads) EXPECT_EQ(thread, reply_thread);
}

TEST(RedisClient, StopFailsWhatIsQueuedAndIsIdempotent) {
  RedisClient client(parse("redis://127.0.0.1:1"), fast_options());
  std::atomic<int> unavailable{0};
  for (int index = 0; index < 10; ++index) {
    client.submit({"PING"}, [&](Result<RedisReply> reply) {
      if (!reply && reply.error().code == "unavailable") ++unavailable;
    });
  }
  client.stop();  // never started: the queue is failed here
  client.stop();
  EXPECT_EQ(unavailable.load(), 10);
}

}  // namespace
}  // namespace nself::cluster
