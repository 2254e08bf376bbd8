#include "cluster/cluster.hpp"

namespace nself::cluster {

std::string ClusterHealth::last_error() const {
  if (commands.last_error.empty()) return subscriber.last_error;
  if (subscriber.last_error.empty()) return commands.last_error;
  return commands.since >= subscriber.since ? commands.last_error : subscriber.last_error;
}

Cluster::Cluster(ClusterOptions options, ClusterCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {
  client_ = std::make_unique<RedisClient>(options_.redis, options_.client);
  client_->on_state([this](const RedisState&) { report_health(); });
  bus_ = std::make_unique<ClusterBus>(
      *client_, ClusterBusOptions{options_.self.id, options_.prefix, options_.subscriber},
      callbacks_.on_event, [this](const RedisState&, bool resubscribed) {
        report_health();
        if (resubscribed && callbacks_.on_resync) callbacks_.on_resync();
      });
  seq_ = std::make_unique<EphemeralSeq>(*client_, options_.prefix);
  auto registry = options_.registry;
  registry.prefix = options_.prefix;
  nodes_ = std::make_unique<NodeRegistry>(
      *client_, options_.self, registry,
      [this](DeadNode node) {
        if (callbacks_.on_node_dead) callbacks_.on_node_dead(std::move(node));
      },
      [this] {
        if (callbacks_.on_resync) callbacks_.on_resync();
      });
  presence_ = std::make_unique<ClusterPresence>(*client_, options_.self.id, options_.prefix);
  limits_ = std::make_unique<ClusterLimits>(*client_, options_.self.id, options_.prefix);
}

Cluster::~Cluster() {
  stop();
}

void Cluster::start() {
  nodes_->start();  // first: its heartbeat is the command thread's first command
  client_->start();
  bus_->start();
}

void Cluster::stop() {
  bus_->stop();
  client_->stop();
}

ClusterHealth Cluster::health() const {
  return ClusterHealth{client_->state(), bus_->state()};
}

void Cluster::report_health() {
  if (callbacks_.on_health) callbacks_.on_health(health());
}

}  // namespace nself::cluster
