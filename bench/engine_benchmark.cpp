// One engine Shard (src/core/engine/shard.hpp) on its own: decisions per
// second for a message to an ephemeral channel, a subscribe (with its
// unsubscribe) and a presence update, with no store, socket or encoding in
// the loop. Store jobs are answered at once with canned values, so the
// figure is the engine's decision cost alone; "actions" counts what was
// decided per iteration, so a run shows at a glance that every role took part
// (figures: docs/BENCHMARKS.md, "The pure engine").
//   cmake --build build/release --target engine_benchmark && build/release/bench/engine_benchmark

#include <benchmark/benchmark.h>

#include <chrono>
#include <climits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/engine/shard.hpp"
#include "core/protocol/requests.hpp"

namespace {

namespace ce = nself::core::engine;
namespace auth = nself::core::auth;

const ce::ChannelInfo kEphemeral{"00000000-0000-4000-8000-000000000001",
                                 "live",
                                 nself::core::ChannelType::kPublic,
                                 false,
                                 1'000'000,
                                 false,
                                 0};
const ce::ChannelInfo kPresence{"00000000-0000-4000-8000-000000000002",
                                "lobby",
                                nself::core::ChannelType::kPresence,
                                false,
                                1'000'000,
                                false,
                                0};

// A shard with one authenticated connection, the clock moving 1 ms per input
// and limits high enough that nothing is refused.
class Bench {
 public:
  Bench()
      : verifier_({auth::JwtKey{auth::JwtAlgorithm::kHS256, "bench-secret-0123456789"}}),
        shard_(0, 1, options(), verifier_) {
    now_.steady = ce::SteadyTime{} + std::chrono::hours{1};
    now_.wall = std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::time_point{} + std::chrono::hours{24 * 365 * 56});
    ce::ConnectionOpened opened;
    opened.connection = connection_;
    opened.public_id = "00000000-0000-4000-8000-0000000000aa";
    opened.claims = auth::Claims{"bench-user", "user", false, std::nullopt};
    input(std::move(opened));
  }

  static ce::EngineOptions options() {
    ce::EngineOptions options;
    options.max_messages_per_second = INT_MAX / 2;
    options.max_subscriptions = 1'000'000;
    return options;
  }

  void frame(const nself::core::protocol::ParsedFrame& parsed) {
    input(ce::ClientFrame{connection_, parsed});
  }

  // Handles `in` and everything it leads to (store answers) on this shard.
  void input(ce::Input in) {
    now_.steady += std::chrono::milliseconds{1};
    now_.wall += std::chrono::milliseconds{1};
    pending_.clear();
    pending_.push_back(std::move(in));
    while (!pending_.empty()) {
      ce::Input next = std::move(pending_.back());
      pending_.pop_back();
      out_.clear();
      shard_.handle(std::move(next), now_, out_);
      actions += out_.size();
      for (auto& action : out_) {
        if (auto* store = std::get_if<ce::Store>(&action)) answer(store->job);
      }
    }
  }

  std::uint64_t actions = 0;

 private:
  void answer(const ce::StoreJob& job) {
    if (job.token == 0) return;
    ce::StoreReply reply;
    reply.token = job.token;
    std::visit(
        [&](const auto& request) {
          using T = std::decay_t<decltype(request)>;
          if constexpr (std::is_same_v<T, ce::ResolveChannel> ||
                        std::is_same_v<T, ce::ReadAccess>) {
            reply.answer = ce::ChannelAnswer{channel_named(request), ce::Membership{}};
          } else if constexpr (std::is_same_v<T, ce::ReadForSubscribe>) {
            ce::SubscribeAnswer read;
            read.channel = channel_named(request);
            reply.answer = std::move(read);
          } else if constexpr (std::is_same_v<T, ce::ReadHistory>) {
            reply.answer = ce::HistoryAnswer{};
          } else {
            reply.answer = ce::Done{};
          }
        },
        job.request);
    pending_.push_back(ce::StoreDone{std::move(reply)});
  }

  static ce::ChannelInfo channel_named(const ce::ResolveChannel& request) {
    return request.name == kPresence.slug || request.name == kPresence.id ? kPresence : kEphemeral;
  }
  template <typename T>
  static ce::ChannelInfo channel_named(const T& request) {
    return request.channel_id == kPresence.id ? kPresence : kEphemeral;
  }

  auth::JwtVerifier verifier_;
  ce::Shard shard_;
  ce::Now now_;
  ce::ConnectionId connection_ = ce::make_connection_id(0, 1);
  ce::Actions out_;
  std::vector<ce::Input> pending_;
};

void report(benchmark::State& state, const Bench& bench) {
  state.counters["decisions/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["actions"] = static_cast<double>(bench.actions);
}

void BM_MessageEphemeral(benchmark::State& state) {
  Bench bench;
  bench.frame(nself::core::protocol::parse_frame(R"({"type":"subscribe","channel":"live"})"));
  const auto message =
      nself::core::protocol::parse_frame(R"({"type":"message","channel":"live","content":"hi"})");
  for (auto _ : state) bench.frame(message);
  report(state, bench);
}
BENCHMARK(BM_MessageEphemeral);

void BM_SubscribeUnsubscribe(benchmark::State& state) {
  Bench bench;
  const auto subscribe =
      nself::core::protocol::parse_frame(R"({"type":"subscribe","channel":"live","ref":1})");
  const auto unsubscribe =
      nself::core::protocol::parse_frame(R"({"type":"unsubscribe","channel":"live","ref":2})");
  for (auto _ : state) {
    bench.frame(subscribe);
    bench.frame(unsubscribe);
  }
  report(state, bench);
}
BENCHMARK(BM_SubscribeUnsubscribe);

void BM_Presence(benchmark::State& state) {
  Bench bench;
  bench.frame(nself::core::protocol::parse_frame(R"({"type":"subscribe","channel":"lobby"})"));
  const auto away = nself::core::protocol::parse_frame(R"({"type":"presence","status":"away"})");
  const auto online =
      nself::core::protocol::parse_frame(R"({"type":"presence","status":"online"})");
  bool flip = false;
  for (auto _ : state) bench.frame((flip = !flip) ? away : online);
  report(state, bench);
}
BENCHMARK(BM_Presence);

}  // namespace

BENCHMARK_MAIN();
