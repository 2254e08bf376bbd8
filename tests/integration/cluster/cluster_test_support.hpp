#pragma once

// Helpers for the cluster tests: waiting for a callback, polling for a
// condition, a unique key prefix per test, the shared Redis URL.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "cluster/callback.hpp"
#include "cluster/redis_client.hpp"
#include "core/redis_url.hpp"
#include "support/postgres_database.hpp"
#include "support/redis_server.hpp"

namespace nself::cluster::test {

using namespace std::chrono_literals;

// Calls `call` with a callback and waits for it (10 s at most).
template <class T>
Result<T> await(const std::function<void(Callback<T>)>& call,
                std::chrono::milliseconds timeout = 10s) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  call([promise](Result<T> result) { promise->set_value(std::move(result)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Error{"timeout", "the callback did not run"};
  }
  return future.get();
}

// Polls `condition` every 10 ms until true or `timeout`.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

// Starts the client and waits until it is connected: a first connect that
// fails on a loaded machine would fail the first commands (by design), which
// is not what these tests are about.
inline bool start_and_wait(RedisClient& client) {
  client.start();
  return eventually([&] { return client.state().connected(); });
}

// A prefix no other test uses, so tests share one Redis without interfering.
inline std::string unique_prefix() {
  static thread_local std::mt19937_64 random(std::random_device{}());
  return "t" + std::to_string(random() % 1'000'000'000'000ULL) + ":";
}

inline core::RedisUrl parse(const std::string& url) {
  auto parsed = core::parse_redis_url(url);
  EXPECT_TRUE(parsed.ok()) << url;
  return *parsed;
}

}  // namespace nself::cluster::test

// In SetUp(): sets `url` (core::RedisUrl) from NSELF_TEST_REDIS_URL, or skips
// (fails with NSELF_TEST_REQUIRE_SERVICES=1) without it.
#define NSELF_TEST_USE_SHARED_REDIS(url)                                              \
  do {                                                                                \
    const auto text = ::nself::test::redis_test_url();                                \
    if (!text) {                                                                      \
      if (::nself::test::services_required()) FAIL() << "NSELF_TEST_REDIS_URL unset"; \
      GTEST_SKIP() << "NSELF_TEST_REDIS_URL unset (run under scripts/test-env.sh)";   \
    }                                                                                 \
    url = ::nself::cluster::test::parse(*text);                                       \
  } while (false)
