#pragma once

// The hand-over of messages between event loops (docs/ENGINE_DESIGN.md,
// "Mailboxes"). Each loop has an outbox per target loop, filled without a
// lock while it handles its inputs, and flushed once per turn of the loop
// (the first message of a turn posts one flush to the loop itself, which runs
// after the handlers already queued: everything they send goes in the same
// batch). A flush moves each outbox into its target's inbox under that
// inbox's one short lock and, when the inbox was empty, posts one drain to
// the target loop. So the lock is taken once per (turn, target), never per
// message, and a target is woken once per batch.
//
// Why a lock per batch and not a lock-free queue: the lock is held for a
// vector move and is contended only by the loops that flush to the same
// target in the same instant; a lock-free multi-producer queue would save
// that at the price of code that is hard to get right. Measured in
// bench/engine_benchmark.cpp next to the engine's own cost.
//
// Order: messages from one loop to another arrive in the order they were
// sent (one outbox, one inbox, appended in order). Nothing is promised
// between different sources.
//
// Lifetime: the handlers it posts refer to it: it must outlive the loops'
// io_contexts' last run.
//
// Thread safety: send() and the outboxes belong to the source loop's thread;
// inboxes are guarded by their mutex; the drain runs on the target's thread.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace nself::server::engine {

template <class Message>
class Mailboxes {
 public:
  // Runs on the target loop with the messages of one drain, in order.
  using Receiver = std::function<void(std::size_t target, std::vector<Message>& messages)>;

  // One executor per loop; `receive` is called on the target's executor.
  Mailboxes(std::vector<boost::asio::any_io_executor> loops, Receiver receive)
      : receive_(std::move(receive)) {
    for (auto& executor : loops) {
      auto loop = std::make_unique<LoopBoxes>();
      loop->executor = std::move(executor);
      loops_.push_back(std::move(loop));
    }
    for (auto& loop : loops_) loop->outboxes.resize(loops_.size());
  }
  Mailboxes(const Mailboxes&) = delete;
  Mailboxes& operator=(const Mailboxes&) = delete;

  std::size_t loops() const { return loops_.size(); }

  // On `source`'s thread: queues `message` for `target`, handed over at the
  // end of this turn of `source`.
  void send(std::size_t source, std::size_t target, Message message) {
    LoopBoxes& from = *loops_[source];
    from.outboxes[target].push_back(std::move(message));
    if (!from.flush_posted) {
      from.flush_posted = true;
      boost::asio::post(from.executor, [this, source] { flush(source); });
    }
  }

  // On `source`'s thread: hands every outbox of `source` over now.
  void flush(std::size_t source) {
    LoopBoxes& from = *loops_[source];
    from.flush_posted = false;
    for (std::size_t target = 0; target < loops_.size(); ++target) {
      auto& outbox = from.outboxes[target];
      if (outbox.empty()) continue;
      LoopBoxes& to = *loops_[target];
      bool wake = false;
      {
        std::lock_guard lock(to.inbox_mutex);
        wake = to.inbox.empty();
        if (wake) {
          to.inbox.swap(outbox);
        } else {
          to.inbox.insert(to.inbox.end(), std::make_move_iterator(outbox.begin()),
                          std::make_move_iterator(outbox.end()));
        }
      }
      from.batches_sent.fetch_add(1, std::memory_order_relaxed);
      outbox.clear();
      if (wake) boost::asio::post(to.executor, [this, target] { drain(target); });
    }
  }

  // Batches handed over so far by every loop (tests, metrics). Each counter
  // has one writer, its loop; any thread may read.
  std::size_t batches() const {
    std::size_t total = 0;
    for (auto& loop : loops_) total += loop->batches_sent.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct LoopBoxes {
    boost::asio::any_io_executor executor;
    std::vector<std::vector<Message>> outboxes;  // by target; the loop's thread only
    bool flush_posted = false;                   // the loop's thread only
    mutable std::mutex inbox_mutex;
    std::vector<Message> inbox;     // guarded by inbox_mutex
    std::vector<Message> draining;  // the loop's thread only
    std::atomic<std::size_t> batches_sent{0};
  };

  void drain(std::size_t target) {
    LoopBoxes& to = *loops_[target];
    {
      std::lock_guard lock(to.inbox_mutex);
      to.draining.swap(to.inbox);
    }
    receive_(target, to.draining);
    to.draining.clear();
  }

  Receiver receive_;
  std::vector<std::unique_ptr<LoopBoxes>> loops_;
};

}  // namespace nself::server::engine
