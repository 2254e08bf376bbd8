// The server's destruction and the store worker. A store job's completion is
// posted to the loop that asked for it, so the loops (and their io_contexts)
// must outlive every job queued before the server goes: `nself realtime
// start` destroys its Server before its StoreWorker, and ASan caught a message
// job posting into a destroyed io_context during a graceful stop under load.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "core/auth/jwt_verifier.hpp"
#include "server/realtime_handler.hpp"
#include "server/store_worker.hpp"
#include "store/store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/worker_block.hpp"

namespace nself::test {
namespace {

using namespace std::chrono_literals;

// Forwards everything to `inner` and tells when the server's destructor has
// reached on_loops_closing(), so the test can release the worker exactly while
// the destruction is under way (not after a guessed delay).
class ClosingSignal final : public server::SessionHandler {
 public:
  explicit ClosingSignal(server::SessionHandler& inner) : inner_(inner) {}
  std::future<void> closing() { return closing_.get_future(); }

  std::optional<server::HttpResponse> check_upgrade(const server::HttpRequest& request) override {
    return inner_.check_upgrade(request);
  }
  void on_loops(const std::vector<server::Loop*>& loops) override { inner_.on_loops(loops); }
  void on_loops_closing() override {
    closing_.set_value();
    inner_.on_loops_closing();
  }
  void on_open(server::WsSession& session) override { inner_.on_open(session); }
  void on_text(server::WsSession& session, std::string text) override {
    inner_.on_text(session, std::move(text));
  }
  void on_binary(server::WsSession& session, std::string data) override {
    inner_.on_binary(session, std::move(data));
  }
  void on_sweep(std::chrono::steady_clock::time_point now) override { inner_.on_sweep(now); }
  void on_tick(server::WsSession& session, std::chrono::steady_clock::time_point now) override {
    inner_.on_tick(session, now);
  }
  void on_slow_consumer(server::WsSession& session) override { inner_.on_slow_consumer(session); }
  void on_closed(server::WsSession& session) override { inner_.on_closed(session); }

 private:
  server::SessionHandler& inner_;
  std::promise<void> closing_;
};

TEST(ServerShutdown, DestroyingTheServerWaitsForStoreJobsThatPostToItsLoops) {
  TempDir dir;
  store::StoreOptions store_options;
  store_options.sqlite_path = (dir.path() / "realtime.db").string();
  store::open_store(store_options)->migrate();
  server::StoreWorker worker([store_options] { return store::open_store(store_options); });
  const core::auth::JwtVerifier verifier(
      {core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"}});
  server::RealtimeHandler realtime(verifier, worker);
  ClosingSignal handler(realtime);
  auto closing = handler.closing();
  auto server = std::make_unique<RunningServer>(test_server_options(), handler);

  // The worker is held in a first job until `block.release()`; behind it waits a job
  // that posts to the control loop, as the handler's own jobs do.
  WorkerBlock block(worker);
  std::atomic<bool> posted{false};
  worker.submit([executor = server->server().io_context().get_executor(), &posted](store::Store*) {
    boost::asio::post(executor, [] {});
    posted = true;
  });

  // Released only once the destructor has begun closing the loops: the job
  // then always runs during the destruction, which must wait for it.
  std::thread releaser([&block, &closing] {
    closing.wait();
    block.release();
  });
  server.reset();
  // The post happened before the loops were destroyed (under ASan, a post
  // after would also be reported as a use after free).
  EXPECT_TRUE(posted);
  releaser.join();
}

}  // namespace
}  // namespace nself::test
