#pragma once

// A driver for the pure engine (src/core/engine/) with no sockets and no
// real time: N Shards, a fake clock, a real SQLite store (temporary,
// migrated) and a real JwtVerifier. It carries out the shards' actions the
// way the server's driver will: ToShard handed to the target as FromShard,
// store jobs run against the store (appends group-committed), their answers
// fed back as StoreDone to the shard that asked, Send/Deliver encoded with
// the native adapter into each connection's list of received frames, Close
// recorded and followed by ConnectionClosed, Tick on advance().
//
// Deterministic: one FIFO of pending inputs (shard messages, store answers,
// closes), drained before the next store round; every public call returns
// once nothing is pending ("quiet").

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/shard.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace nself::test::engine {

namespace ce = core::engine;

// What a connection got: an event's JSON text, or the server's close.
struct Received {
  enum class Kind { kEvent, kClose } kind = Kind::kEvent;
  std::string text;  // kEvent: the frame; kClose: the reason
  int code = 0;      // kClose
};

class Simulator {
 public:
  static constexpr const char* kJwtSecret = "engine-simulator-secret-0123456789abcdef";

  struct Options {
    ce::ShardIndex shards = 1;
    ce::EngineOptions engine;
    // The wall clock's start (steady time starts at its epoch + 1 h).
    ce::WallTime start = std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::sys_days{std::chrono::year{2026} / 1 / 30} + std::chrono::hours{10});
  };

  explicit Simulator(Options options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // ---- the clock
  ce::Now now() const { return now_; }
  // Moves both clocks forward in steps of at most tick_interval, feeding a
  // Tick to every shard after each step (the server's sweep).
  void advance(std::chrono::milliseconds by);
  std::chrono::milliseconds tick_interval{1000};

  // ---- the store and setup rows (before or between steps)
  store::Store& store() { return *store_; }
  std::string create_channel(const std::string& slug, core::ChannelType type,
                             bool persistent = true, int max_members = 100);
  std::string channel_id(const std::string& slug) const;
  ce::ChannelInfo channel_info(const std::string& slug);
  void add_member(const std::string& slug, const std::string& user, bool can_send = true);
  store::StoredMessage store_message(const std::string& slug, const std::string& user,
                                     const std::string& content_json);
  void archive_channel(const std::string& slug);
  // Store faults: when it returns a failure ("unavailable", "overloaded"),
  // the job is not run and is answered with it.
  std::function<std::optional<std::string>(const ce::StoreJob&)> store_fault;

  // ---- tokens
  const core::auth::JwtVerifier& verifier() const { return verifier_; }
  // Signs `claims_json` (HS256, kJwtSecret).
  static std::string sign(std::string_view claims_json);
  // A token for `user` expiring `ttl` after now().
  std::string token(const std::string& user, std::chrono::seconds ttl = std::chrono::hours{1},
                    const std::string& role = "user") const;

  // ---- connections
  ce::ShardIndex shards() const { return static_cast<ce::ShardIndex>(shards_.size()); }
  ce::Shard& shard(ce::ShardIndex index) { return *shards_.at(index); }
  // Opens a connection on `shard`; `claims`: verified at the upgrade.
  ce::ConnectionId connect(ce::ShardIndex shard, std::optional<core::auth::Claims> claims = {},
                           bool batch = false);
  // One text frame, parsed as the native adapter does.
  void send_frame(ce::ConnectionId connection, std::string_view text);
  // The client closes (or drops) the connection.
  void close(ce::ConnectionId connection);
  const std::string& public_id(ce::ConnectionId connection) const;
  // Frames received and not taken yet; take() pops the oldest.
  std::deque<Received>& received(ce::ConnectionId connection);
  std::optional<Received> take(ce::ConnectionId connection);
  bool closed(ce::ConnectionId connection) const;
  bool batching(ce::ConnectionId connection) const;

  // ---- inputs from outside (admin API, broadcast scheduler)
  void input(ce::ShardIndex shard, ce::Input input);
  void input_to_all(const std::function<ce::Input()>& make);
  // Carries out `actions` as if `shard` had emitted them, then runs until
  // quiet: tests of the simulator's own machinery, independent of the roles.
  void perform(ce::ShardIndex shard, ce::Actions actions);
  // AdminDone actions, in order.
  std::vector<ce::AdminDone> admin_done;

  // Counters, for tests of the simulator itself.
  std::uint64_t store_jobs_run = 0;
  std::uint64_t append_batches = 0;

 private:
  struct Connection {
    std::string public_id;
    std::deque<Received> received;
    bool closed = false;
    bool batch = false;
  };
  struct Pending {
    ce::ShardIndex shard = 0;
    ce::Input input;
  };

  void handle(ce::ShardIndex shard, ce::Input input);
  void carry_out(ce::ShardIndex shard, ce::Actions& actions);
  void deliver(ce::ConnectionId connection, const std::string& text);
  void run_store_round();
  void run_until_quiet();
  Connection& connection(ce::ConnectionId id);

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  core::auth::JwtVerifier verifier_;
  std::vector<std::unique_ptr<ce::Shard>> shards_;
  ce::Now now_;
  std::map<std::string, std::string> channel_ids_;  // slug -> id
  std::map<ce::ConnectionId, Connection> connections_;
  std::vector<std::uint64_t> serials_;  // per shard
  std::deque<Pending> pending_;
  std::vector<ce::StoreJob> store_queue_;
  bool running_ = false;  // inside run_until_quiet (re-entrant calls only queue)
};

}  // namespace nself::test::engine
