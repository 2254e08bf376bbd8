#include "cluster/node_registry.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cassert>

#include "cluster/scripts.hpp"

namespace nself::cluster {

using detail::as_integer;
using detail::bad_reply;
using detail::finish;

namespace {

std::int64_t to_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

std::string encode_node_info(const NodeInfo& node) {
  boost::json::object object;
  object["id"] = node.id;
  object["address"] = node.address;
  object["port"] = node.port;
  object["connections"] = node.connections;
  object["started_at"] = to_ms(node.started_at);
  object["last_heartbeat"] = to_ms(node.last_heartbeat);
  return boost::json::serialize(object);
}

std::optional<NodeInfo> decode_node_info(std::string_view json) {
  boost::system::error_code error;
  const auto value = boost::json::parse(json, error);
  if (error || !value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto* id = object.if_contains("id");
  const auto* address = object.if_contains("address");
  const auto* port = object.if_contains("port");
  const auto* connections = object.if_contains("connections");
  const auto* started = object.if_contains("started_at");
  const auto* heartbeat = object.if_contains("last_heartbeat");
  if (id == nullptr || !id->is_string() || address == nullptr || !address->is_string() ||
      port == nullptr || !port->is_int64() || connections == nullptr || !connections->is_int64() ||
      started == nullptr || !started->is_int64() || heartbeat == nullptr ||
      !heartbeat->is_int64()) {
    return std::nullopt;
  }
  NodeInfo node;
  node.id = std::string(id->as_string());
  node.address = std::string(address->as_string());
  node.port = static_cast<int>(port->as_int64());
  node.connections = connections->as_int64();
  node.started_at = from_ms(started->as_int64());
  node.last_heartbeat = from_ms(heartbeat->as_int64());
  return node;
}

NodeRegistry::NodeRegistry(RedisClient& client, NodeInfo self, NodeRegistryOptions options,
                           std::function<void(DeadNode)> on_dead, std::function<void()> on_rejoined)
    : client_(client),
      self_(std::move(self)),
      options_(std::move(options)),
      on_dead_(std::move(on_dead)),
      on_rejoined_(std::move(on_rejoined)) {
  assert(options_.ttl >= 2 * options_.heartbeat_interval);
}

void NodeRegistry::start() {
  // Registered first on every new connection (EVAL: the script cache may be
  // empty), so that no entry of this node is ever written while the reaper
  // could not find the node.
  client_.on_connect(
      [this] {
        RedisArgv argv{"EVAL", scripts::heartbeat().source(), "0"};
        for (auto& arg : heartbeat_args()) argv.push_back(std::move(arg));
        return argv;
      },
      [this](Result<RedisReply> reply) { heartbeat_done(std::move(reply), {}); });
  heartbeat();
  client_.every(options_.heartbeat_interval, [this] { heartbeat(); });
  client_.every(options_.reap_interval, [this] { reap(); });
}

std::vector<std::string> NodeRegistry::heartbeat_args() const {
  NodeInfo info = self_;
  info.connections = connections_.load();
  info.last_heartbeat = std::chrono::system_clock::now();
  return {options_.prefix, self_.id, encode_node_info(info), std::to_string(options_.ttl.count())};
}

void NodeRegistry::heartbeat(Callback<bool> done) {
  client_.eval(scripts::heartbeat(), {}, heartbeat_args(),
               [this, done = std::move(done)](Result<RedisReply> reply) {
                 heartbeat_done(std::move(reply), done);
               });
}

void NodeRegistry::heartbeat_done(Result<RedisReply> reply, const Callback<bool>& done) {
  if (!reply) return finish(done, Result<bool>(reply.error()));
  const auto added = as_integer(*reply);
  if (!added) return finish<bool>(done, bad_reply("heartbeat"));
  // Added although registered before: Redis lost us (restart) or we were
  // reaped while cut off.
  const bool was_registered = registered_.exchange(true);
  if (*added == 1 && was_registered && on_rejoined_) on_rejoined_();
  finish<bool>(done, *added == 1);
}

void NodeRegistry::reap(Callback<std::vector<DeadNode>> done) {
  client_.eval(scripts::reap_dead_nodes(), {}, {options_.prefix, self_.id},
               [this, done = std::move(done)](Result<RedisReply> reply) {
                 using Value = std::vector<DeadNode>;
                 if (!reply) return finish(done, Result<Value>(reply.error()));
                 const auto& flat = reply->elements;
                 Value dead;
                 std::size_t index = 0;
                 while (index < flat.size()) {
                   if (index + 1 >= flat.size()) return finish<Value>(done, bad_reply("reap"));
                   const auto count = as_integer(flat[index + 1]);
                   if (!count || *count < 0) return finish<Value>(done, bad_reply("reap"));
                   DeadNode node{flat[index].text, {}};
                   if (!decode_left(flat, index + 2, static_cast<std::size_t>(*count), node.left)) {
                     return finish<Value>(done, bad_reply("reap"));
                   }
                   index += 2 + 2 * static_cast<std::size_t>(*count);
                   dead.push_back(std::move(node));
                 }
                 if (on_dead_) {
                   for (const auto& node : dead) on_dead_(node);
                 }
                 finish<Value>(done, std::move(dead));
               });
}

void NodeRegistry::list(Callback<std::vector<NodeInfo>> done) {
  // One script-free round trip pair: the ids, then their keys.
  client_.submit({"SMEMBERS", options_.prefix + "nodes"}, [this, done = std::move(done)](
                                                              Result<RedisReply> reply) mutable {
    using Value = std::vector<NodeInfo>;
    if (!reply) return finish(done, Result<Value>(reply.error()));
    if (reply->elements.empty()) return finish<Value>(done, Value{});
    RedisArgv mget{"MGET"};
    for (const auto& id : reply->elements) mget.push_back(options_.prefix + "node:" + id.text);
    client_.submit(std::move(mget), [done = std::move(done)](Result<RedisReply> values) {
      if (!values) return finish(done, Result<Value>(values.error()));
      Value nodes;
      for (const auto& value : values->elements) {
        if (value.is_nil()) continue;  // expired between the two commands
        if (auto node = decode_node_info(value.text)) nodes.push_back(std::move(*node));
      }
      std::sort(nodes.begin(), nodes.end(),
                [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
      finish<Value>(done, std::move(nodes));
    });
  });
}

void NodeRegistry::leave(Callback<std::vector<PresenceLeft>> done) {
  registered_.store(false);
  client_.eval(scripts::remove_node(), {}, {options_.prefix, self_.id},
               [done = std::move(done)](Result<RedisReply> reply) {
                 using Value = std::vector<PresenceLeft>;
                 if (!reply) return finish(done, Result<Value>(reply.error()));
                 Value left;
                 if (reply->elements.size() % 2 != 0 ||
                     !decode_left(reply->elements, 0, reply->elements.size() / 2, left)) {
                   return finish<Value>(done, bad_reply("leave"));
                 }
                 finish<Value>(done, std::move(left));
               });
}

}  // namespace nself::cluster
