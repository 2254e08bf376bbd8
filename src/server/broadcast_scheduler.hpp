#pragma once

// Delivers broadcasts (docs/PROTOCOL.md, "Broadcasts"). The database is the
// queue: whoever creates a broadcast (the CLI, the HTTP API through
// schedule()) stores a row in realtime.broadcasts; the scheduler polls every
// poll_interval and, on the StoreWorker thread (never on the loop), claims
// the due rows atomically (Store::claim_due_broadcasts: with several servers
// on one database each broadcast is claimed by exactly one), then hands them
// to RealtimeService::deliver_broadcast on the loop thread. A scheduled
// broadcast is therefore delivered when due, also after a restart; an
// expired one never is (the claim skips it).
//
// Each poll also reads the active system announcements (sent, no channel,
// unexpired) and gives them to RealtimeService::set_announcements, so a
// connection that authenticates later gets them without waiting for the
// database.
//
// Several nodes: a claimed broadcast is delivered to the claiming node's
// connections only; forwarding to other nodes belongs to the cluster bus.
//
// Thread safety: schedule(), wake() and stop() may be called from any
// thread. The handler must outlive the scheduler. Deliveries run on
// `executor` (the server's loop); none starts after stop() returns.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/result.hpp"
#include "server/realtime_service.hpp"
#include "server/store_worker.hpp"
#include "store/store.hpp"

namespace nself::server {

struct BroadcastSchedulerOptions {
  // How often the database is asked for due broadcasts (REALTIME_BROADCAST_POLL_MS).
  std::chrono::milliseconds poll_interval{250};
  // At most this many broadcasts are claimed per poll; a full batch polls again at once.
  int batch_limit = 100;
};

class BroadcastScheduler {
 public:
  // Called on the loop executor: the stored broadcast, or an error
  // (not_found: unknown channel; unavailable: the database failed).
  using ScheduleDone = std::function<void(Result<store::Broadcast>)>;

  // Starts polling at once (the first poll delivers what became due while the
  // server was down). `store` and `handler` must outlive the scheduler.
  BroadcastScheduler(boost::asio::any_io_executor executor, StoreWorker& store,
                     RealtimeService& handler, BroadcastSchedulerOptions options = {});
  // stop().
  ~BroadcastScheduler();
  BroadcastScheduler(const BroadcastScheduler&) = delete;
  BroadcastScheduler& operator=(const BroadcastScheduler&) = delete;

  // Stores `broadcast` (Store::create_broadcast; channel_id may be an id or a
  // slug) and wakes the scheduler, so a broadcast due now goes out at once.
  // `done` (optional) is called on the loop with the stored row.
  void schedule(store::Broadcast broadcast, ScheduleDone done = {});
  // Polls now rather than at the next interval (after writing a row directly).
  void wake();
  // Stops polling; idempotent. Claims nothing after it is called, delivers
  // nothing after it returns, and gives back (Store::release_broadcast) every
  // broadcast claimed but not delivered, so the next server delivers it: a
  // graceful stop loses no broadcast. (A crash between claim and delivery
  // can: delivery is at most once.) Blocks until a poll in flight finished.
  void stop();

  // Broadcasts claimed and handed to the handler so far, and polls made (tests, metrics).
  std::uint64_t delivered() const;
  std::uint64_t polls() const;

 private:
  struct State;
  void run();

  std::shared_ptr<State> state_;
  std::thread thread_;  // waits between polls; the database work runs on the StoreWorker
};

}  // namespace nself::server
