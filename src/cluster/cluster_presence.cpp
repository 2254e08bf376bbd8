#include "cluster/cluster_presence.hpp"

#include "cluster/scripts.hpp"

namespace nself::cluster {

using detail::as_integer;
using detail::bad_reply;
using detail::finish;

ClusterMember decode_member(std::string user_id, const std::string& stored, int connections) {
  ClusterMember member;
  member.user_id = std::move(user_id);
  const auto newline = stored.find('\n');
  member.status = stored.substr(0, newline);
  member.meta_json = newline == std::string::npos ? "null" : stored.substr(newline + 1);
  member.connections = connections;
  return member;
}

bool decode_left(const std::vector<RedisReply>& flat, std::size_t begin, std::size_t count,
                 std::vector<PresenceLeft>& out) {
  if (begin + 2 * count > flat.size()) return false;
  for (std::size_t index = 0; index < count; ++index) {
    out.push_back(PresenceLeft{flat[begin + 2 * index].text, flat[begin + 2 * index + 1].text});
  }
  return true;
}

ClusterPresence::ClusterPresence(RedisClient& client, std::string node_id, std::string prefix)
    : client_(client), node_id_(std::move(node_id)), prefix_(std::move(prefix)) {}

void ClusterPresence::join(const std::string& channel_id, const std::string& user_id,
                           std::string status, std::string meta_json, Callback<PresenceJoin> done) {
  client_.eval(scripts::presence_join(), {},
               {prefix_, node_id_, channel_id, user_id, std::move(status), std::move(meta_json)},
               [user_id, done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return finish(done, Result<PresenceJoin>(reply.error()));
                 const auto& items = reply->elements;
                 if (items.size() != 3 || !as_integer(items[0]) || !as_integer(items[2])) {
                   return finish<PresenceJoin>(done, bad_reply("presence join"));
                 }
                 PresenceJoin join;
                 join.joined = *as_integer(items[0]) == 1;
                 join.member =
                     decode_member(user_id, items[1].text, static_cast<int>(*as_integer(items[2])));
                 finish<PresenceJoin>(done, std::move(join));
               });
}

void ClusterPresence::leave(const std::string& channel_id, const std::string& user_id,
                            Callback<bool> done) {
  client_.eval(scripts::presence_leave(), {}, {prefix_, node_id_, channel_id, user_id},
               [done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return finish(done, Result<bool>(reply.error()));
                 const auto& items = reply->elements;
                 if (items.size() != 2 || !as_integer(items[0])) {
                   return finish<bool>(done, bad_reply("presence leave"));
                 }
                 finish<bool>(done, *as_integer(items[0]) == 1);
               });
}

void ClusterPresence::update(const std::string& channel_id, const std::string& user_id,
                             std::string status, std::optional<std::string> meta_json,
                             Callback<std::optional<ClusterMember>> done) {
  const bool has_meta = meta_json.has_value();
  client_.eval(scripts::presence_update(), {},
               {prefix_, channel_id, user_id, std::move(status), has_meta ? "1" : "0",
                has_meta ? std::move(*meta_json) : std::string()},
               [user_id, done = std::move(done)](Result<RedisReply> reply) {
                 using Value = std::optional<ClusterMember>;
                 if (!reply) return finish(done, Result<Value>(reply.error()));
                 if (reply->is_nil()) return finish<Value>(done, Value{});
                 const auto& items = reply->elements;
                 if (items.size() != 2 || !as_integer(items[1])) {
                   return finish<Value>(done, bad_reply("presence update"));
                 }
                 finish<Value>(done, Value{decode_member(user_id, items[0].text,
                                                         static_cast<int>(*as_integer(items[1])))});
               });
}

void ClusterPresence::members(const std::string& channel_id,
                              Callback<std::vector<ClusterMember>> done) {
  client_.eval(
      scripts::presence_members(), {}, {prefix_, channel_id},
      [done = std::move(done)](Result<RedisReply> reply) {
        using Value = std::vector<ClusterMember>;
        if (!reply) return finish(done, Result<Value>(reply.error()));
        const auto& items = reply->elements;
        if (items.size() != 2) return finish<Value>(done, bad_reply("presence members"));
        std::map<std::string, ClusterMember> by_user;
        const auto& presence = items[0].elements;
        for (std::size_t index = 0; index + 1 < presence.size(); index += 2) {
          by_user.emplace(presence[index].text,
                          decode_member(presence[index].text, presence[index + 1].text, 0));
        }
        const auto& counts = items[1].elements;
        for (std::size_t index = 0; index + 1 < counts.size(); index += 2) {
          const auto& field = counts[index].text;  // node \n user
          const auto newline = field.find('\n');
          if (newline == std::string::npos) continue;
          const auto it = by_user.find(field.substr(newline + 1));
          const auto count = as_integer(counts[index + 1]);
          if (it == by_user.end() || !count) continue;
          it->second.connections_by_node[field.substr(0, newline)] += static_cast<int>(*count);
          it->second.connections += static_cast<int>(*count);
        }
        Value members;
        members.reserve(by_user.size());
        for (auto& [user, member] : by_user) members.push_back(std::move(member));
        finish<Value>(done, std::move(members));
      });
}

void ClusterPresence::sync_node(const std::vector<LocalPresence>& local,
                                Callback<PresenceSync> done) {
  std::vector<std::string> args{prefix_, node_id_};
  args.reserve(2 + 5 * local.size());
  for (const auto& entry : local) {
    if (entry.connections <= 0) continue;
    args.push_back(entry.channel_id);
    args.push_back(entry.user_id);
    args.push_back(std::to_string(entry.connections));
    args.push_back(entry.status);
    args.push_back(entry.meta_json);
  }
  client_.eval(scripts::presence_sync_node(), {}, std::move(args),
               [done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return finish(done, Result<PresenceSync>(reply.error()));
                 const auto& items = reply->elements;
                 if (items.size() != 2 || items[0].elements.size() % 3 != 0 ||
                     items[1].elements.size() % 2 != 0) {
                   return finish<PresenceSync>(done, bad_reply("presence sync"));
                 }
                 PresenceSync sync;
                 const auto& joined = items[0].elements;
                 for (std::size_t index = 0; index < joined.size(); index += 3) {
                   sync.joined.emplace_back(
                       joined[index].text,
                       decode_member(joined[index + 1].text, joined[index + 2].text, 0));
                 }
                 decode_left(items[1].elements, 0, items[1].elements.size() / 2, sync.left);
                 finish<PresenceSync>(done, std::move(sync));
               });
}

void ClusterPresence::remove_node(const std::string& node_id,
                                  Callback<std::vector<PresenceLeft>> done) {
  client_.eval(scripts::remove_node(), {}, {prefix_, node_id},
               [done = std::move(done)](Result<RedisReply> reply) {
                 using Value = std::vector<PresenceLeft>;
                 if (!reply) return finish(done, Result<Value>(reply.error()));
                 Value left;
                 if (reply->elements.size() % 2 != 0 ||
                     !decode_left(reply->elements, 0, reply->elements.size() / 2, left)) {
                   return finish<Value>(done, bad_reply("remove node"));
                 }
                 finish<Value>(done, std::move(left));
               });
}

}  // namespace nself::cluster
