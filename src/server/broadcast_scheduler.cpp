#include "server/broadcast_scheduler.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <future>
#include <optional>
#include <string>
#include <vector>

namespace nself::server {
namespace {

store::Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// What one poll found, handed from the worker to the loop.
struct Poll {
  struct Due {
    store::Broadcast broadcast;
    std::optional<std::string> channel_slug;
  };
  std::vector<Due> due;
  std::optional<std::vector<store::Broadcast>> announcements;  // none: could not be read
};

}  // namespace

struct BroadcastScheduler::State {
  State(boost::asio::any_io_executor executor_in, StoreWorker& store_in,
        RealtimeService& handler_in, BroadcastSchedulerOptions options_in)
      : executor(std::move(executor_in)),
        store(store_in),
        handler(handler_in),
        options(options_in) {}

  boost::asio::any_io_executor executor;
  StoreWorker& store;
  RealtimeService& handler;
  BroadcastSchedulerOptions options;

  std::mutex mutex;
  std::condition_variable changed;
  bool stopped = false;  // no post to the loop once set (checked under the mutex)
  bool woken = true;     // the first poll runs at once
  bool polling = false;  // a poll job is queued or running on the worker
  // Claimed (sent_at set in the database) but not delivered yet. What is still
  // here when the scheduler stops is released, so no claimed broadcast is lost
  // by a graceful stop (a crash between claim and delivery still loses it).
  std::vector<std::string> undelivered;
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> polls{0};

  // Worker thread: claims what is due and reads the announcements.
  static void poll(const std::shared_ptr<State>& state, store::Store* store) {
    Poll result;
    if (state->stopped_flag()) store = nullptr;  // stopped before the claim: claim nothing
    if (store != nullptr) {
      try {
        const auto now = now_ms();
        for (auto& broadcast : store->claim_due_broadcasts(now, state->options.batch_limit)) {
          Poll::Due due{std::move(broadcast), std::nullopt};
          if (due.broadcast.channel_id) {
            if (auto channel = store->find_channel(*due.broadcast.channel_id)) {
              due.channel_slug = channel->slug;
            }
          }
          result.due.push_back(std::move(due));
        }
        result.announcements = store->active_announcements(now);
      } catch (const store::StoreError& error) {
        // Claimed rows (if any) are still delivered below; the next poll retries the rest.
        spdlog::error("broadcasts: {}", error.what());
      }
    }
    std::lock_guard lock(state->mutex);
    for (const auto& due : result.due) state->undelivered.push_back(due.broadcast.id);
    state->polling = false;
    // A full batch: more may be due, poll again at once.
    if (result.due.size() >= static_cast<std::size_t>(state->options.batch_limit)) {
      state->woken = true;
    }
    state->changed.notify_all();
    if (state->stopped) return;  // stop() releases what this poll claimed
    boost::asio::post(state->executor, [state, result = std::move(result)]() mutable {
      // Delivers under the mutex, so stop() either sees these delivered or
      // releases them, never both.
      std::lock_guard lock(state->mutex);
      if (state->stopped) return;
      for (const auto& due : result.due) {
        std::erase(state->undelivered, due.broadcast.id);
        const std::size_t sessions = state->handler.deliver_broadcast(
            due.broadcast,
            due.channel_slug ? std::optional<std::string_view>(*due.channel_slug) : std::nullopt);
        state->delivered.fetch_add(1);
        spdlog::debug("broadcast {} ({}) delivered to {} session(s)", due.broadcast.id,
                      due.broadcast.event_type, sessions);
      }
      // After the deliveries: a session authenticating from now on gets the
      // new announcements by replay, one that authenticated before got them
      // by delivery; none gets both.
      if (result.announcements) state->handler.set_announcements(std::move(*result.announcements));
    });
  }

  bool stopped_flag() {
    std::lock_guard lock(mutex);
    return stopped;
  }

  // After stop(): waits for a poll in flight, then gives back (on the worker,
  // waiting for it) every claimed broadcast that was not delivered.
  void release_undelivered() {
    std::vector<std::string> ids;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return !polling; });
      ids.swap(undelivered);
    }
    if (ids.empty()) return;
    auto released = std::make_shared<std::promise<void>>();
    auto done = released->get_future();
    store.submit([ids, released](store::Store* store) {
      try {
        if (store != nullptr) {
          for (const auto& id : ids) store->release_broadcast(id);
        }
      } catch (const store::StoreError& error) {
        spdlog::error("broadcasts: releasing undelivered ones: {}", error.what());
      }
      released->set_value();
    });
    done.wait();
    spdlog::info("{} claimed broadcast(s) not delivered before the stop were released", ids.size());
  }
};

BroadcastScheduler::BroadcastScheduler(boost::asio::any_io_executor executor, StoreWorker& store,
                                       RealtimeService& handler, BroadcastSchedulerOptions options)
    : state_(std::make_shared<State>(std::move(executor), store, handler, options)) {
  if (state_->options.batch_limit < 1) state_->options.batch_limit = 1;
  thread_ = std::thread([this] { run(); });
}

BroadcastScheduler::~BroadcastScheduler() {
  stop();
}

void BroadcastScheduler::stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopped = true;
    state_->changed.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
    state_->release_undelivered();
  }
}

void BroadcastScheduler::wake() {
  std::lock_guard lock(state_->mutex);
  state_->woken = true;
  state_->changed.notify_all();
}

void BroadcastScheduler::run() {
  const std::shared_ptr<State> state = state_;
  std::unique_lock lock(state->mutex);
  for (;;) {
    // One poll at a time; then wait for the interval or a wake().
    state->changed.wait(lock, [&] { return state->stopped || !state->polling; });
    if (state->stopped) return;
    if (!state->woken) {
      state->changed.wait_for(lock, state->options.poll_interval,
                              [&] { return state->stopped || state->woken; });
      if (state->stopped) return;
    }
    state->woken = false;
    state->polling = true;
    state->polls.fetch_add(1);
    lock.unlock();
    state->store.submit([state](store::Store* store) { State::poll(state, store); });
    lock.lock();
  }
}

void BroadcastScheduler::schedule(store::Broadcast broadcast, ScheduleDone done) {
  state_->store.submit([state = state_, broadcast = std::move(broadcast),
                        done = std::move(done)](store::Store* store) mutable {
    Result<store::Broadcast> result =
        Error{"unavailable", "the database is unavailable; retry later"};
    if (store != nullptr) {
      try {
        std::optional<store::Channel> channel;
        if (broadcast.channel_id) channel = store->find_channel(*broadcast.channel_id);
        if (broadcast.channel_id && !channel) {
          result = Error{"not_found", "no channel \"" + *broadcast.channel_id + "\""};
        } else {
          if (channel) broadcast.channel_id = channel->id;
          result = store->create_broadcast(broadcast, now_ms());
        }
      } catch (const store::StoreError& error) {
        spdlog::error("broadcast: {}", error.what());
      }
    }
    std::lock_guard lock(state->mutex);
    if (state->stopped) return;
    state->woken = true;
    state->changed.notify_all();
    if (done) {
      boost::asio::post(state->executor, [done = std::move(done), result = std::move(result)] {
        done(std::move(result));
      });
    }
  });
}

std::uint64_t BroadcastScheduler::delivered() const {
  return state_->delivered.load();
}
std::uint64_t BroadcastScheduler::polls() const {
  return state_->polls.load();
}

}  // namespace nself::server
