#include "cluster/cluster_bus.hpp"

#include "cluster/scripts.hpp"

namespace nself::cluster {

ClusterBus::ClusterBus(RedisClient& client, ClusterBusOptions options, EventCallback on_event,
                       RedisSubscriber::StateCallback on_state)
    : client_(client),
      options_(std::move(options)),
      channel_(options_.prefix + "bus"),
      on_event_(std::move(on_event)) {
  subscriber_ = std::make_unique<RedisSubscriber>(
      client_.url(), std::vector<std::string>{channel_},
      [this](const std::string& channel, const std::string& payload) {
        on_message(channel, payload);
      },
      std::move(on_state), options_.subscriber);
}

ClusterBus::~ClusterBus() {
  stop();
}

void ClusterBus::start() {
  subscriber_->start();
}

void ClusterBus::stop() {
  subscriber_->stop();
}

RedisState ClusterBus::state() const {
  return subscriber_->state();
}

Status ClusterBus::publish(core::ClusterEnvelope envelope, Callback<std::int64_t> done) {
  envelope.node_id = options_.node_id;
  auto bytes = core::encode_envelope(envelope);
  if (!bytes) return bytes.error();
  RedisArgv argv;  // built by moves: the payload is not copied
  argv.reserve(3);
  argv.emplace_back("PUBLISH");
  argv.push_back(channel_);
  argv.push_back(std::move(*bytes));
  client_.submit(std::move(argv), [done = std::move(done)](Result<RedisReply> reply) {
    if (!reply) return detail::finish(done, Result<std::int64_t>(reply.error()));
    const auto count = detail::as_integer(*reply);
    if (!count) return detail::finish<std::int64_t>(done, detail::bad_reply("PUBLISH"));
    detail::finish<std::int64_t>(done, *count);
  });
  return Ok{};
}

void ClusterBus::on_message(const std::string& channel, const std::string& payload) {
  if (channel != channel_) return;
  auto envelope = core::decode_envelope(payload);
  if (!envelope) {
    ++malformed_;
    return;
  }
  if (envelope->node_id == options_.node_id) return;  // our own, back from Redis
  ++received_;
  if (on_event_) on_event_(std::move(*envelope));
}

void EphemeralSeq::next(const std::string& channel_id, std::int64_t floor,
                        Callback<std::int64_t> done) {
  client_.eval(scripts::next_ephemeral_seq(), {}, {prefix_, channel_id, std::to_string(floor)},
               [done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return detail::finish(done, Result<std::int64_t>(reply.error()));
                 const auto seq = detail::as_integer(*reply);
                 if (!seq) return detail::finish<std::int64_t>(done, detail::bad_reply("INCR"));
                 detail::finish<std::int64_t>(done, *seq);
               });
}

}  // namespace nself::cluster
