// The hand-over between loops (server/engine/mailboxes.hpp) on real
// io_contexts and threads: order per source and target, nothing lost, one
// lock and one wake-up per batch. Run under ThreadSanitizer by make test-tsan
// (label "concurrent") with two and four loops.
#include "server/engine/mailboxes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>
#include <vector>

namespace nself::server::engine {
namespace {

namespace asio = boost::asio;

struct Note {
  std::size_t source = 0;
  int serial = 0;
};

class Loops {
 public:
  explicit Loops(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      ios_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(ios_.back()->get_executor());
    }
  }
  ~Loops() { stop(); }
  std::vector<asio::any_io_executor> executors() {
    std::vector<asio::any_io_executor> out;
    for (auto& io : ios_) out.push_back(io->get_executor());
    return out;
  }
  asio::io_context& io(std::size_t i) { return *ios_[i]; }
  void run() {
    for (auto& io : ios_) threads_.emplace_back([&io] { io->run(); });
  }
  // Waits (up to 60 s) until `done` says every expected message arrived:
  // only then may the loops run out of work (a loop that returned from run()
  // would never run a drain posted to it later).
  template <class Done>
  void wait_for(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  void stop() {
    guards_.clear();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

void every_message_arrives_in_order(std::size_t loop_count) {
  constexpr int kPerPair = 2000;
  constexpr int kChunk = 7;  // messages sent per handler: several turns per pair
  Loops loops(loop_count);
  // received[target][source]: serials in arrival order; touched only on target's thread.
  const std::size_t messages = loop_count * loop_count * kPerPair;
  std::atomic<std::size_t> arrived{0};
  std::vector<std::vector<std::vector<int>>> received(loop_count,
                                                      std::vector<std::vector<int>>(loop_count));
  Mailboxes<Note> boxes(loops.executors(), [&](std::size_t target, std::vector<Note>& notes) {
    for (const Note& note : notes) received[target][note.source].push_back(note.serial);
    arrived += notes.size();
  });
  // Each source sends kPerPair notes to every target (itself too), kChunk per
  // handler, from its own thread.
  std::vector<std::function<void(int)>> senders(loop_count);
  for (std::size_t source = 0; source < loop_count; ++source) {
    senders[source] = [&, source](int from) {
      for (int serial = from; serial < std::min(from + kChunk, kPerPair); ++serial) {
        for (std::size_t target = 0; target < loop_count; ++target) {
          boxes.send(source, target, Note{source, serial});
        }
      }
      if (from + kChunk < kPerPair) {
        asio::post(loops.io(source), [&, source, from] { senders[source](from + kChunk); });
      }
    };
    asio::post(loops.io(source), [&, source] { senders[source](0); });
  }
  loops.run();
  loops.wait_for([&] { return arrived.load() == messages; });
  loops.stop();
  ASSERT_EQ(arrived.load(), messages);

  std::vector<int> expected(kPerPair);
  for (int i = 0; i < kPerPair; ++i) expected[i] = i;
  for (std::size_t target = 0; target < loop_count; ++target) {
    for (std::size_t source = 0; source < loop_count; ++source) {
      EXPECT_EQ(received[target][source], expected) << "from " << source << " to " << target;
    }
  }
  // At most one batch per (turn of a source, target): far fewer than messages.
  EXPECT_LE(boxes.batches(), messages / kChunk + loop_count * loop_count);
}

TEST(MailboxesTest, TwoLoopsDeliverEveryMessageInOrderPerSource) {
  every_message_arrives_in_order(2);
}

TEST(MailboxesTest, FourLoopsDeliverEveryMessageInOrderPerSource) {
  every_message_arrives_in_order(4);
}

TEST(MailboxesTest, OneTurnIsOneBatchPerTarget) {
  Loops loops(3);
  std::vector<std::size_t> drains(3, 0);
  std::vector<std::size_t> counts(3, 0);
  std::atomic<std::size_t> arrived{0};
  Mailboxes<int> boxes(loops.executors(), [&](std::size_t target, std::vector<int>& messages) {
    ++drains[target];
    counts[target] += messages.size();
    arrived += messages.size();
  });
  // One handler on loop 0 sends 100 messages to loop 1 and 50 to loop 2.
  asio::post(loops.io(0), [&] {
    for (int i = 0; i < 100; ++i) boxes.send(0, 1, i);
    for (int i = 0; i < 50; ++i) boxes.send(0, 2, i);
  });
  loops.run();
  loops.wait_for([&] { return arrived.load() == 150; });
  loops.stop();
  EXPECT_EQ(boxes.batches(), 2u);
  EXPECT_EQ(drains[1], 1u);
  EXPECT_EQ(drains[2], 1u);
  EXPECT_EQ(counts[1], 100u);
  EXPECT_EQ(counts[2], 50u);
  EXPECT_EQ(drains[0], 0u);
}

}  // namespace
}  // namespace nself::server::engine
