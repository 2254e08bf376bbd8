#include "cluster/cluster_limits.hpp"

#include "cluster/scripts.hpp"

namespace nself::cluster {

using detail::as_integer;
using detail::bad_reply;
using detail::finish;

ClusterLimits::ClusterLimits(RedisClient& client, std::string node_id, std::string prefix)
    : client_(client), node_id_(std::move(node_id)), prefix_(std::move(prefix)) {}

void ClusterLimits::acquire_connection(const std::string& user_id, int max,
                                       Callback<ConnectionAdmission> done) {
  client_.eval(scripts::acquire_connection(), {}, {prefix_, node_id_, user_id, std::to_string(max)},
               [done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return finish(done, Result<ConnectionAdmission>(reply.error()));
                 const auto& items = reply->elements;
                 if (items.size() != 2 || !as_integer(items[0]) || !as_integer(items[1])) {
                   return finish<ConnectionAdmission>(done, bad_reply("connection admission"));
                 }
                 finish<ConnectionAdmission>(
                     done, ConnectionAdmission{*as_integer(items[0]) == 1, *as_integer(items[1])});
               });
}

void ClusterLimits::release_connection(const std::string& user_id, Callback<bool> done) {
  client_.eval(scripts::release_connection(), {}, {prefix_, node_id_, user_id},
               [done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return finish(done, Result<bool>(reply.error()));
                 const auto released = as_integer(*reply);
                 if (!released) return finish<bool>(done, bad_reply("connection release"));
                 finish<bool>(done, *released == 1);
               });
}

void ClusterLimits::take_message_token(const std::string& user_id, int rate, Callback<bool> done) {
  client_.eval(scripts::take_message_token(), {}, {prefix_, user_id, std::to_string(rate)},
               [done = std::move(done)](Result<RedisReply> reply) {
                 if (!reply) return finish(done, Result<bool>(reply.error()));
                 const auto& items = reply->elements;
                 if (items.size() != 2 || !as_integer(items[0])) {
                   return finish<bool>(done, bad_reply("message rate"));
                 }
                 finish<bool>(done, *as_integer(items[0]) == 1);
               });
}

void ClusterLimits::sync_node(const std::vector<std::pair<std::string, int>>& counts,
                              Callback<bool> done) {
  std::vector<std::string> args{prefix_, node_id_};
  for (const auto& [user, count] : counts) {
    if (count <= 0) continue;
    args.push_back(user);
    args.push_back(std::to_string(count));
  }
  client_.eval(scripts::limits_sync_node(), {}, std::move(args),
               [done = std::move(done)](const Result<RedisReply>& reply) {
                 if (!reply) return finish(done, Result<bool>(reply.error()));
                 finish<bool>(done, true);
               });
}

}  // namespace nself::cluster
