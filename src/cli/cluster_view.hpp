#pragma once

// Commands that show the whole cluster (docs/SCALING.md): `stats` and
// `connections` ask the local node which nodes are live (its /health), then
// every node's API with this project's admin secret. Nodes of one cluster
// therefore share REALTIME_ADMIN_SECRET as they share REALTIME_JWT_SECRET.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command_context.hpp"

namespace nself::cli {

struct ClusterNode {
  std::string id;
  std::string address;
  std::uint16_t port = 0;
  bool self = false;  // the node of this project directory
};

struct ClusterView {
  std::vector<ClusterNode> nodes;  // the live nodes, this one included
  boost::json::value health;       // the "cluster" object of this node's /health
};

// The cluster as this node's /health reports it; none when the server runs
// alone (no REDIS_URL) or does not answer.
std::optional<ClusterView> cluster_view(CommandContext& context);

// GET `target` on `node` with the admin secret: the JSON body of a 2xx answer,
// else none with the reason in `why`.
std::optional<boost::json::value> call_node_api(CommandContext& context, const ClusterNode& node,
                                                const std::string& target, std::string& why);

// Prints the Redis link and a table of the live nodes from a /health body
// (nothing when it has no "cluster").
void print_cluster(std::ostream& out, const std::optional<boost::json::object>& health);

}  // namespace nself::cli
