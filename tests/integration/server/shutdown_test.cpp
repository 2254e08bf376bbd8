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

TEST(ServerShutdown, DestroyingTheServerWaitsForStoreJobsThatPostToItsLoops) {
  TempDir dir;
  store::StoreOptions store_options;
  store_options.sqlite_path = (dir.path() / "realtime.db").string();
  store::open_store(store_options)->migrate();
  server::StoreWorker worker([store_options] { return store::open_store(store_options); });
  const core::auth::JwtVerifier verifier(
      {core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"}});
  server::RealtimeHandler handler(verifier, worker);
  auto server = std::make_unique<RunningServer>(test_server_options(), handler);

  // The worker is held in a first job until `block.release()`; behind it waits a job
  // that posts to the control loop, as the handler's own jobs do.
  WorkerBlock block(worker);
  std::atomic<bool> posted{false};
  worker.submit([executor = server->server().io_context().get_executor(), &posted](store::Store*) {
    boost::asio::post(executor, [] {});
    posted = true;
  });

  std::thread releaser([&block] {
    std::this_thread::sleep_for(200ms);
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
