#include "store/engine_jobs.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <functional>
#include <string>
#include <type_traits>

#include "store/history_reads.hpp"

namespace nself::store {
namespace {

namespace engine = core::engine;

engine::ChannelInfo info_of(const Channel& channel) {
  return engine::ChannelInfo{channel.id,          channel.slug,
                             channel.type,        channel.is_persistent,
                             channel.max_members, channel.archived_at.has_value(),
                             channel.last_seq};
}

std::optional<engine::Membership> membership_of(Store& store, const std::string& channel_id,
                                                const std::string& user_id) {
  auto member = store.find_member(channel_id, user_id);
  if (!member) return std::nullopt;
  return engine::Membership{member->can_send, member->last_read_seq};
}

engine::MessageRecord record_of(StoredMessage message) {
  return engine::MessageRecord{
      std::move(message.id),      std::move(message.channel_id), message.seq,
      std::move(message.user_id), std::move(message.content),    message.sent_at};
}

std::vector<engine::MessageRecord> records_of(std::vector<StoredMessage> messages) {
  std::vector<engine::MessageRecord> records;
  records.reserve(messages.size());
  for (auto& message : messages) records.push_back(record_of(std::move(message)));
  return records;
}

NewMessage new_message(const engine::AppendMessage& append) {
  NewMessage message;
  message.channel_id = append.channel_id;
  message.user_id = append.user_id;
  message.content = append.content_json;
  return message;
}

// ---- one function per request; each returns the answer or throws the store's error

engine::ChannelAnswer run(Store& store, const engine::ResolveChannel& request, Timestamp) {
  engine::ChannelAnswer answer;
  if (auto channel = store.find_channel(request.name)) answer.channel = info_of(*channel);
  return answer;
}

engine::SubscribeAnswer run(Store& store, const engine::ReadForSubscribe& request, Timestamp now) {
  engine::SubscribeAnswer answer;
  auto channel = store.find_channel(request.channel_id);
  if (!channel) return answer;
  answer.channel = info_of(*channel);
  answer.membership = membership_of(store, channel->id, request.user_id);
  // The replay; the engine cuts it to one page of bytes (history_read.cpp).
  if (request.history || request.since) {
    answer.replay = true;
    MessagePage page = read_replay(store, channel->id, request.history, request.since);
    answer.has_more = page.has_more;
    answer.messages = records_of(std::move(page.messages));
  }
  // Today the row is written once the channel resolved for this user, which
  // for a private channel means a member (the request does not say whether
  // the user is an admin: see the report on ReadForSubscribe).
  const bool resolves = channel->type != core::ChannelType::kPrivate || answer.membership;
  if (resolves && !request.connection_public_id.empty()) {
    store.add_subscription(request.connection_public_id, channel->id, request.user_id, now);
  }
  return answer;
}

engine::ChannelAnswer run(Store& store, const engine::ReadAccess& request, Timestamp) {
  engine::ChannelAnswer answer;
  auto channel = store.find_channel(request.channel_id);
  if (!channel) return answer;
  answer.channel = info_of(*channel);
  answer.membership = membership_of(store, channel->id, request.user_id);
  return answer;
}

engine::AppendAnswer run(Store& store, const engine::AppendMessage& request, Timestamp now) {
  const NewMessage message = new_message(request);
  auto stored = store.append_messages(std::span(&message, 1), now);
  if (stored.size() != 1) throw StoreError("append_messages returned no row");
  return engine::AppendAnswer{record_of(std::move(stored.front()))};
}

engine::HistoryAnswer run(Store& store, const engine::ReadHistory& request, Timestamp) {
  MessagePage page =
      read_history(store, request.channel_id, request.limit, request.before, request.after);
  return engine::HistoryAnswer{records_of(std::move(page.messages)), page.has_more};
}

engine::Done run(Store& store, const engine::MarkRead& request, Timestamp now) {
  auto channel = store.find_channel(request.channel_id);
  if (!channel) return {};
  // A position past the newest message would hide messages still to come.
  const std::int64_t seq =
      channel->is_persistent ? std::min(request.seq, channel->last_seq) : request.seq;
  store.mark_read(channel->id, request.user_id, seq, now);
  return {};
}

engine::Done run(Store& store, const engine::RecordConnection& request, Timestamp) {
  ConnectionRecord record;
  record.connection_id = request.connection_public_id;
  record.user_id = request.user_id;
  record.client_ip = request.client_ip;
  record.user_agent = request.user_agent;
  record.connected_at = request.at;
  record.last_seen_at = request.at;
  store.record_connection(record);
  return {};
}

engine::Done run(Store& store, const engine::RecordDisconnect& request, Timestamp) {
  store.record_disconnect(request.connection_public_id, request.at);
  return {};
}

engine::Done run(Store& store, const engine::RemoveSubscription& request, Timestamp) {
  store.remove_subscription(request.connection_public_id, request.channel_id);
  return {};
}

engine::Done run(Store& store, const engine::WritePresence& request, Timestamp) {
  for (const auto& row : request.rows) {
    PresenceRecord record;
    record.user_id = row.user_id;
    record.channel_id = row.channel_id;
    record.status = row.offline ? PresenceStatus::kOffline
                    : row.away  ? PresenceStatus::kAway
                                : PresenceStatus::kOnline;
    record.metadata = row.offline ? "{}" : row.meta_json;
    record.updated_at = request.at;
    try {
      store.update_presence(record);
    } catch (const StoreUnavailable&) {
      throw;
    } catch (const StoreError&) {
      // A channel deleted meanwhile: the other rows are still written, as today.
    }
  }
  // Rows not rewritten since then belong to a server that died or to users
  // long gone (the handler's heartbeat does the same).
  if (request.remove_stale_before) store.cleanup_stale_presence(*request.remove_stale_before);
  return {};
}

engine::Done run(Store& store, const engine::Heartbeat& request, Timestamp) {
  if (!request.connection_public_ids.empty()) {
    store.touch_connections(request.connection_public_ids, request.at);
  }
  return {};
}

engine::Done run(Store& store, const engine::AuditAuthFailure& request, Timestamp) {
  AuditEntry entry;
  entry.at = request.at;
  entry.actor = request.actor;
  entry.action = "auth.failed";
  entry.details =
      boost::json::serialize(boost::json::object{{"code", request.code}, {"via", "websocket"}});
  store.append_audit(entry);
  return {};
}

engine::StoreReply failed(std::uint64_t token, std::string failure) {
  engine::StoreReply reply;
  reply.token = token;
  reply.failure = std::move(failure);
  return reply;
}

}  // namespace

engine::StoreReply run_engine_job(Store& store, const engine::StoreJob& job, Timestamp now) {
  const engine::StoreClass job_class = engine::class_of(job.request);
  try {
    engine::StoreReply reply;
    reply.token = job.token;
    std::visit([&](const auto& request) { reply.answer = run(store, request, now); }, job.request);
    return reply;
  } catch (const StoreUnavailable&) {
    return failed(job.token, "unavailable");
  } catch (const StoreError&) {
    switch (job_class) {
      case engine::StoreClass::kCommit:
        return failed(job.token, "internal");
      case engine::StoreClass::kRead:
        return failed(job.token, "unavailable");
      case engine::StoreClass::kBookkeeping:
        break;
    }
    engine::StoreReply done;
    done.token = job.token;
    return done;
  }
}

std::vector<engine::StoreReply> run_append_batch(Store& store,
                                                 std::span<const engine::StoreJob> jobs,
                                                 Timestamp now) {
  std::vector<engine::StoreReply> replies(jobs.size());
  std::vector<std::size_t> appends;  // indexes into jobs
  std::vector<NewMessage> messages;
  for (std::size_t index = 0; index < jobs.size(); ++index) {
    if (const auto* append = std::get_if<engine::AppendMessage>(&jobs[index].request)) {
      appends.push_back(index);
      messages.push_back(new_message(*append));
    }
  }
  bool one_by_one = false;
  if (!messages.empty()) {
    try {
      auto stored = store.append_messages(messages, now);
      if (stored.size() != messages.size()) throw StoreError("append_messages lost rows");
      for (std::size_t i = 0; i < appends.size(); ++i) {
        replies[appends[i]].token = jobs[appends[i]].token;
        replies[appends[i]].answer = engine::AppendAnswer{record_of(std::move(stored[i]))};
      }
    } catch (const StoreUnavailable&) {
      for (std::size_t index : appends) replies[index] = failed(jobs[index].token, "unavailable");
    } catch (const StoreError&) {
      one_by_one = true;
    }
  }
  for (std::size_t index = 0; index < jobs.size(); ++index) {
    const bool append = std::holds_alternative<engine::AppendMessage>(jobs[index].request);
    if (!append || one_by_one) replies[index] = run_engine_job(store, jobs[index], now);
  }
  return replies;
}

std::vector<engine::StoreReply> run_bookkeeping_batch(Store& store,
                                                      std::span<const engine::StoreJob> jobs,
                                                      Timestamp now) {
  std::vector<engine::StoreReply> replies(jobs.size());
  std::vector<std::function<void()>> steps;
  steps.reserve(jobs.size());
  for (std::size_t index = 0; index < jobs.size(); ++index) {
    replies[index].token = jobs[index].token;
    steps.emplace_back([&store, &replies, &jobs, index, now] {
      std::visit([&](const auto& request) { replies[index].answer = run(store, request, now); },
                 jobs[index].request);
    });
  }
  try {
    // A step that failed is answered Done, as the job alone is: its row is
    // rebuilt by the next change or heartbeat.
    store.run_in_one_transaction(steps);
  } catch (const StoreUnavailable&) {
    for (std::size_t index = 0; index < jobs.size(); ++index) {
      replies[index] = failed(jobs[index].token, "unavailable");
    }
  } catch (const StoreError&) {
    // The batch's own transaction failed (its commit, or SQLite rolled it
    // back after an I/O error): nothing of it was written; one by one.
    for (std::size_t index = 0; index < jobs.size(); ++index) {
      replies[index] = run_engine_job(store, jobs[index], now);
    }
  }
  return replies;
}

}  // namespace nself::store
