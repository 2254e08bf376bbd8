#include "cluster/redis_subscriber.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <random>
#include <stdexcept>

#include "core/backoff.hpp"

namespace nself::cluster {

RedisSubscriber::RedisSubscriber(core::RedisUrl url, std::vector<std::string> channels,
                                 MessageCallback on_message, StateCallback on_state,
                                 RedisSubscriberOptions options)
    : url_(std::move(url)),
      channels_(std::move(channels)),
      on_message_(std::move(on_message)),
      on_state_(std::move(on_state)),
      options_(options) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error("RedisSubscriber: pipe2 failed");
  }
  state_.since = std::chrono::system_clock::now();
}

RedisSubscriber::~RedisSubscriber() {
  stop();
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void RedisSubscriber::start() {
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void RedisSubscriber::stop() {
  if (!stopping_.exchange(true)) {
    const char byte = 1;
    [[maybe_unused]] const auto written = write(wake_pipe_[1], &byte, 1);
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

RedisState RedisSubscriber::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void RedisSubscriber::set_link(RedisState::Link link, const std::string& error, bool resubscribed) {
  RedisState copy;
  {
    std::lock_guard lock(mutex_);
    if (!error.empty()) state_.last_error = error;
    if (state_.link == link && !resubscribed) return;
    if (link == RedisState::Link::kConnected && state_.link == RedisState::Link::kDegraded) {
      ++state_.reconnects;
    }
    if (state_.link != link) state_.since = std::chrono::system_clock::now();
    state_.link = link;
    copy = state_;
  }
  if (on_state_) on_state_(copy, resubscribed);
}

bool RedisSubscriber::sleep_for(std::chrono::milliseconds duration) {
  pollfd wake{wake_pipe_[0], POLLIN, 0};
  poll(&wake, 1, static_cast<int>(duration.count()));
  return !stopping_;
}

void RedisSubscriber::run() {
  core::Backoff backoff(options_.backoff_initial, options_.backoff_max);
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  while (!stopping_) {
    try {
      RedisConnection connection(url_, options_.connect);
      serve(connection, backoff);  // returns only when stopping
      return;
    } catch (const RedisUnavailable& error) {
      set_link(RedisState::Link::kDegraded, error.what(), false);
    }
    if (!sleep_for(backoff.next(jitter(random)))) return;
  }
}

void RedisSubscriber::serve(RedisConnection& connection, core::Backoff& backoff) {
  RedisArgv subscribe{"SUBSCRIBE"};
  subscribe.insert(subscribe.end(), channels_.begin(), channels_.end());
  connection.send(subscribe);

  using Clock = std::chrono::steady_clock;
  std::size_t confirmed = 0;
  auto last_traffic = Clock::now();
  auto ping_sent = Clock::time_point::min();
  bool waiting_pong = false;
  for (;;) {
    while (auto reply = connection.take_reply()) {
      last_traffic = Clock::now();
      if (reply->type != RedisReply::Type::kArray || reply->elements.empty()) continue;
      const auto& kind = reply->elements[0].text;
      if (kind == "message" && reply->elements.size() == 3) {
        on_message_(reply->elements[1].text, std::move(reply->elements[2].text));
      } else if (kind == "subscribe") {
        if (++confirmed == channels_.size()) {
          backoff.reset();
          set_link(RedisState::Link::kConnected, "", true);
        }
      } else if (kind == "pong") {
        waiting_pong = false;
      }
    }
    if (stopping_) return;

    const auto now = Clock::now();
    if (waiting_pong && now - ping_sent >= options_.connect.command_timeout) {
      throw RedisUnavailable("Redis " + connection.description() +
                             ": no answer to PING on the subscriber connection");
    }
    if (!waiting_pong && now - last_traffic >= options_.ping_interval) {
      connection.send({"PING"});
      ping_sent = now;
      waiting_pong = true;
    }
    const auto wait = waiting_pong ? options_.connect.command_timeout - (now - ping_sent)
                                   : options_.ping_interval - (now - last_traffic);
    const int timeout_ms = static_cast<int>(std::max<long long>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
    pollfd fds[2] = {{connection.fd(), POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, timeout_ms) < 0) continue;  // EINTR
    if (stopping_) return;
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) connection.read_available();
  }
}

}  // namespace nself::cluster
