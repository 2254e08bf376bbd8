#pragma once

// A RealtimeHandler in-process on a store, with the byte-level client: the
// fixture of the presence and limits tests, parameterized by backend:
// "sqlite" (a file in a temp dir) or "postgres" (a throwaway database in
// NSELF_TEST_POSTGRES_URL; skipped without it unless services are required).
// Channels:
//   general (public), room and lounge (presence), small (public, max_members 2),
//   team (private; alice a member, bob a member with can_send false),
//   old (public, archived).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/auth/jwt_verifier.hpp"
#include "server/realtime_handler.hpp"
#include "store/store.hpp"
#include "support/postgres_database.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_backend.hpp"

namespace nself::test {

class ProtocolTest : public ::testing::TestWithParam<std::string> {
 protected:
  using Json = boost::json::object;

  void SetUp() override;
  // The channels the tests use; a suite with other needs overrides it.
  // Sets general_id_ (and the other ids it creates).
  virtual void create_channels(store::Store& store);
  void start(server::RealtimeOptions realtime = {},
             server::ServerOptions options = test_server_options());

  // An HS256 token for `user` with role `role`, expiring at `exp` (Unix seconds) when given.
  std::string token_for(const std::string& user, std::optional<std::int64_t> exp = std::nullopt,
                        const std::string& role = "user") const;
  // A client authenticated as `user` with a first auth message.
  std::unique_ptr<RawClient> login(const std::string& user, const std::string& role = "user");
  static void send(RawClient& client, const Json& request);
  // The next JSON event; fails the test (returns {}) when none comes in time.
  static Json receive(RawClient& client,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // A barrier: sends a protocol ping and expects its pong as the very next text
  // event, so nothing the server had queued for `client` before the ping is
  // unread (an unexpected event fails the test, naming it). An absence check
  // ends with this or with a positive control (an event caused after the one
  // that must not arrive, through the same path, which must come first):
  // never with a quiet period, which a late delivery passes.
  static void expect_pong_next(RawClient& client);
  static std::string type_of(const Json& event);
  static std::string code_of(const Json& event);
  static void expect_close(RawClient& client, std::uint16_t code);
  // Subscribes; returns the `subscribed` reply (the presence_state that may follow is not read).
  static Json subscribe(RawClient& client, const std::string& channel);
  // A store opened next to the server's (for checking what it wrote).
  std::unique_ptr<store::Store> open_store() const;

  TempDir dir_;
  std::optional<TestDatabase> database_;
  store::StoreOptions store_options_;
  std::string general_id_, room_id_, team_id_;
  core::auth::JwtVerifier verifier_;
  std::unique_ptr<server::StoreWorker> worker_;
  std::unique_ptr<server::RealtimeHandler> handler_;
  server::Metrics metrics_;  // the handler's counters
  std::unique_ptr<RunningServer> server_;

  ProtocolTest();
};

// Names the backend in test names: .../sqlite, .../postgres.
inline const auto kBackends = kStoreBackends;

}  // namespace nself::test
