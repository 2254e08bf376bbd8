// RealtimeHandler in cluster mode (the "cluster mode" block of
// realtime_handler.hpp; docs/SCALING.md, "The server's paths in cluster
// mode"). Nothing here runs while cluster_ is null (one node alone).
//
// Bus kinds this node publishes and applies:
//   message    persistent channel's message, seq > 0 (reordered, gaps from the store)
//   ephemeral  ephemeral channel's message, seq from Redis (reordered, gaps skipped)
//   event      any other channel event (presence, typing without a skipped user)
//   event_skip the same, with the user whose sessions skip it: "user\njson"
//   broadcast  a claimed broadcast; no channel id: every authenticated session
//   presence_gone  payload: a user who left the channel cluster-wide (its last
//              connection closed, its node died or stopped): presence_leave
//   channel_deleted, archived
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "cluster/cluster.hpp"
#include "core/protocol/events.hpp"
#include "core/ws/frame_codec.hpp"
#include "server/loop.hpp"
#include "server/realtime_handler.hpp"
#include "server/ws_session.hpp"
#include "store/store.hpp"

namespace nself::server {

namespace {
// The largest gap filled from the store in one read; the rest is skipped
// (clients catch up with subscribe + since).
constexpr std::int64_t kMaxGapFill = 10'000;
// Messages read per store call of a resync (pages up to kMaxGapFill per channel).
constexpr int kMaxResyncRead = 1'000;

store::PresenceRecord offline_record(const std::string& channel_id, const std::string& user_id) {
  store::PresenceRecord record;
  record.user_id = user_id;
  record.channel_id = channel_id;
  record.status = store::PresenceStatus::kOffline;
  record.updated_at =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return record;
}
}  // namespace

void RealtimeHandler::set_cluster(cluster::Cluster* cluster) {
  std::lock_guard lock(mutex_);
  cluster_ = cluster;
  if (cluster_ != nullptr && !loops_.empty()) control_ = control_executor();
}

void RealtimeHandler::cluster_publish(std::string kind, const std::string& channel_id,
                                      std::int64_t seq, std::string payload) {
  if (cluster_ == nullptr) return;
  if (metrics_ != nullptr) metrics_->cluster_event_out();
  // Refused only for an envelope that cannot be encoded (a bug: ids are ours).
  if (auto sent = cluster_->bus().publish(
          core::ClusterEnvelope{std::move(kind), "", channel_id, seq, std::move(payload)},
          [this](Result<std::int64_t> result) {
            if (!result) publish_failed_.store(true);
          });
      !sent) {
    spdlog::error("cluster: cannot publish on channel {}: {}", channel_id, sent.error().message);
  }
}

void RealtimeHandler::fan_out_shared(const std::string& channel_id, std::string event,
                                     const std::string* skip_user) {
  fan_out(channel_id, event, skip_user);
  if (cluster_ == nullptr) return;
  if (skip_user != nullptr) {
    cluster_publish("event_skip", channel_id, 0, *skip_user + '\n' + event);
  } else {
    cluster_publish("event", channel_id, 0, std::move(event));
  }
}

void RealtimeHandler::next_ephemeral_seq(const std::string& channel_id,
                                         std::function<void(std::int64_t, bool)> then) {
  if (cluster_ == nullptr) {
    then(++ephemeral_seq_[channel_id], false);
    return;
  }
  // Redis answers in submission order; the answers are posted to the control
  // loop in that order, so a channel's local messages keep their order.
  cluster_->seq().next(
      channel_id, ephemeral_seq_[channel_id],
      [this, executor = control_, channel_id, then = std::move(then)](Result<std::int64_t> seq) {
        boost::asio::post(executor, [this, channel_id, then, seq = std::move(seq)] {
          std::lock_guard lock(mutex_);
          std::int64_t& last = ephemeral_seq_[channel_id];
          if (seq) {
            last = std::max(last, seq.value());
            then(seq.value(), true);
          } else {
            // Redis is down: numbered here, delivered to this node only.
            then(++last, false);
          }
        });
      });
}

void RealtimeHandler::cluster_track(const std::string& channel_id, bool persistent,
                                    std::int64_t last_seq) {
  // An ephemeral channel is tracked from the last seq this node knows (every
  // local and bus event raises it). Tracking it from its first event instead
  // would drop earlier events still on their way over the bus when this
  // node's own next one arrives first. When this node knows nothing of a busy
  // channel, the missing range is held for max_hold and then skipped.
  // A persistent channel is tracked from the subscribe's store read: the
  // events after it that arrived before (dropped, nobody was subscribed here)
  // are read from the store at once rather than after max_hold.
  reorder_.track(channel_id, persistent ? last_seq : ephemeral_seq_[channel_id], persistent);
}

void RealtimeHandler::cluster_forget(const std::string& channel_id) {
  reorder_.forget(channel_id);
  recent_events_.erase(channel_id);
  // Parked subscribes of the channel finish at the next sweep (untracked).
}

void RealtimeHandler::deliver_sequenced(const std::string& channel_id, std::int64_t seq,
                                        std::string event) {
  if (cluster_ == nullptr) {
    fan_out(channel_id, event);
    return;
  }
  if (!hub_.contains(channel_id)) return;  // no local subscriber: nothing to order
  const auto now = std::chrono::steady_clock::now();
  release_events(channel_id, reorder_.push(channel_id, seq, std::move(event), now));
  check_gaps(now);
}

void RealtimeHandler::release_events(
    const std::string& channel_id, std::vector<core::SeqReorderBuffer<std::string>::Event> events) {
  if (events.empty()) return;
  const auto hub = hub_.find(channel_id);
  const bool persistent = hub != hub_.end() && hub->second.persistent;
  const auto now = std::chrono::steady_clock::now();
  for (auto& event : events) {
    fan_out(channel_id, event.value);
    if (!persistent) continue;
    remember_released(channel_id, event.seq, event.value, now);
    // A parked subscriber joins right after its last_seq, before the next
    // event of this batch (a gap fill may release thousands at once).
    if (parked_subscribes_.contains(channel_id)) {
      releasing_ = {channel_id, event.seq};
      resume_parked(channel_id, false);
      releasing_.reset();
    }
  }
}

void RealtimeHandler::remember_released(const std::string& channel_id, std::int64_t seq,
                                        const std::string& event,
                                        std::chrono::steady_clock::time_point now) {
  // Enough to cover a subscribe's store read racing the bus (milliseconds):
  // one second of a channel's events, at most 512 of them.
  constexpr std::size_t kMaxRecent = 512;
  constexpr auto kRecentFor = std::chrono::seconds(1);
  auto& recent = recent_events_[channel_id];
  recent.push_back(RecentEvent{seq, std::make_shared<const std::string>(event), now});
  while (recent.size() > kMaxRecent || recent.front().released_at + kRecentFor < now) {
    recent.pop_front();
  }
}

std::optional<std::int64_t> RealtimeHandler::released_seq(const std::string& channel_id) const {
  if (releasing_ && releasing_->first == channel_id) return releasing_->second;
  return reorder_.last_seq(channel_id);
}

RealtimeHandler::Alignment RealtimeHandler::align_subscribe(
    WsSession& session, const core::protocol::Ref& ref,
    const std::shared_ptr<SubscribeOutcome>& outcome, const std::string& user_id,
    std::vector<std::shared_ptr<const std::string>>& catch_up) {
  const store::Channel& channel = outcome->channel.value();
  const auto released = released_seq(channel.id);
  // Untracked (no local subscriber yet): tracking starts at last_seq, and
  // the reorder buffer reads whatever follows it from the store.
  if (!released || *released == channel.last_seq || outcome->waited_enough) {
    return Alignment::kJoin;
  }
  if (*released < channel.last_seq) {
    parked_subscribes_[channel.id].push_back(ParkedSubscribe{
        session.weak_from_this(), ref, outcome, user_id, std::chrono::steady_clock::now()});
    return Alignment::kParked;
  }
  const auto recent = recent_events_.find(channel.id);
  std::int64_t expected = channel.last_seq + 1;
  if (recent != recent_events_.end()) {
    for (const RecentEvent& event : recent->second) {
      if (event.seq < expected) continue;
      if (event.seq > expected) break;
      catch_up.push_back(event.event);
      ++expected;
    }
  }
  if (expected <= *released) {
    // Not kept (the channel was tracked again after its read, or the read
    // is older than the recent events): read again, now that the store has
    // at least what was released.
    catch_up.clear();
    if (outcome->rereads < kMaxSubscribeRereads) return Alignment::kReread;
    spdlog::warn(
        "cluster: a subscriber of channel {} misses seqs {}..{} (released before it "
        "joined, no longer kept)",
        channel.id, expected, *released);
  }
  return Alignment::kJoin;
}

void RealtimeHandler::resume_parked(const std::string& channel_id, bool all) {
  const auto parked = parked_subscribes_.find(channel_id);
  if (parked == parked_subscribes_.end()) return;
  const auto released = released_seq(channel_id);
  std::vector<ParkedSubscribe> ready;
  auto& waiting = parked->second;
  for (auto it = waiting.begin(); it != waiting.end();) {
    if (all || !released || *released >= it->outcome->channel.value().last_seq) {
      it->outcome->waited_enough = all;
      ready.push_back(std::move(*it));
      it = waiting.erase(it);
    } else {
      ++it;
    }
  }
  if (waiting.empty()) parked_subscribes_.erase(parked);
  for (ParkedSubscribe& subscribe : ready) {
    auto session = subscribe.session.lock();
    if (!session || !sessions_.contains(session.get())) {  // closed meanwhile
      const auto& cluster = subscribe.outcome->cluster;
      if (cluster && cluster->available) {
        cluster_presence_undo(subscribe.outcome->channel.value().id, subscribe.user_id);
      }
      continue;
    }
    finish_subscribe(*session, subscribe.ref, subscribe.outcome);
  }
}

void RealtimeHandler::check_gaps(std::chrono::steady_clock::time_point now) {
  for (core::SeqGap& gap : reorder_.due_gaps(now)) {
    if (metrics_ != nullptr) metrics_->cluster_gap();
    const auto hub = hub_.find(gap.channel_id);
    if (hub == hub_.end() || !hub->second.persistent) {
      // Ephemeral: the missing seqs were never stored; skip them.
      release_events(gap.channel_id, reorder_.resolve(gap, {}));
      continue;
    }
    spdlog::debug("cluster: channel {} misses seqs {}..{}; reading them from the store",
                  gap.channel_id, gap.after_seq + 1, gap.before_seq - 1);
    const int limit = static_cast<int>(std::min(gap.before_seq - gap.after_seq - 1, kMaxGapFill));
    store_.submit([this, gap, limit, slug = hub->second.slug,
                   executor = control_](store::Store* store) {
      std::vector<store::StoredMessage> found;
      if (store != nullptr) {
        try {
          found = store->messages_since(gap.channel_id, gap.after_seq, limit);
        } catch (const store::StoreError& error) {
          spdlog::warn("cluster: gap fill of channel {}: {}", gap.channel_id, error.what());
        }
      }
      boost::asio::post(executor, [this, gap, slug, found = std::move(found)] {
        std::lock_guard lock(mutex_);
        std::vector<core::SeqReorderBuffer<std::string>::Event> events;
        events.reserve(found.size());
        for (const auto& message : found) {
          events.push_back({message.seq, core::protocol::message_event(core::protocol::MessageView{
                                             slug, message.id, message.seq, message.user_id,
                                             message.content, message.sent_at})});
        }
        release_events(gap.channel_id, reorder_.resolve(gap, std::move(events)));
      });
    });
  }
}

void RealtimeHandler::cluster_sweep(std::chrono::steady_clock::time_point now) {
  check_gaps(now);
  // Parked subscribes whose seq the node has not released in 2 s (a message
  // lost on the bus and no later one to reveal it), or whose channel lost
  // its last local subscriber: they join now, at worst with repeats.
  std::vector<std::string> overdue;
  for (const auto& [channel_id, waiting] : parked_subscribes_) {
    if (!reorder_.tracked(channel_id) ||
        std::any_of(waiting.begin(), waiting.end(), [&](const ParkedSubscribe& subscribe) {
          return subscribe.since + std::chrono::seconds(2) < now;
        })) {
      overdue.push_back(channel_id);
    }
  }
  for (const auto& channel_id : overdue) resume_parked(channel_id, true);
  cluster_->nodes().set_connections(static_cast<std::int64_t>(sessions_.size()));
  // Events this node published while Redis was down never reached the
  // others: once the link works again they read them from the store.
  if (publish_failed_.load() && cluster_->health().commands.connected()) {
    publish_failed_.store(false);
    spdlog::info("cluster: Redis is back; asking the other nodes to resync");
    cluster_publish("resync", "", 0, "");
  }
}

void RealtimeHandler::on_cluster_event(core::ClusterEnvelope envelope) {
  boost::asio::post(control_, [this, envelope = std::move(envelope)]() mutable {
    std::lock_guard lock(mutex_);
    if (cluster_ == nullptr) return;  // stopping
    apply_cluster_event(std::move(envelope));
  });
}

void RealtimeHandler::apply_cluster_event(core::ClusterEnvelope envelope) {
  if (metrics_ != nullptr) metrics_->cluster_event_in();
  const std::string& kind = envelope.kind;
  const std::string& channel_id = envelope.channel_id;
  if ((kind == "message" || kind == "ephemeral") && envelope.seq > 0 && !channel_id.empty()) {
    if (kind == "ephemeral") {
      std::int64_t& last = ephemeral_seq_[channel_id];
      last = std::max(last, envelope.seq);
    }
    deliver_sequenced(channel_id, envelope.seq, std::move(envelope.payload));
  } else if (kind == "event" && !channel_id.empty()) {
    fan_out(channel_id, envelope.payload);
  } else if (kind == "event_skip" && !channel_id.empty()) {
    const auto newline = envelope.payload.find('\n');
    if (newline == std::string::npos) return;
    const std::string user_id = envelope.payload.substr(0, newline);
    fan_out(channel_id, std::string_view(envelope.payload).substr(newline + 1), &user_id);
  } else if (kind == "broadcast") {
    auto frame = std::make_shared<const std::string>(
        core::ws::encode_frame(core::ws::Opcode::kText, envelope.payload));
    if (!channel_id.empty()) {
      fan_out_frame(channel_id, std::move(frame));
      return;
    }
    for (Loop* loop : loops_) {
      HubCommand command;
      command.kind = HubCommand::Kind::kDeliverAll;
      command.frame = frame;
      loop->push(std::move(command));
    }
    if (metrics_ != nullptr) metrics_->deliveries(authenticated_count_);
  } else if (kind == "channel_deleted" && !channel_id.empty()) {
    fan_out(channel_id, envelope.payload);
    drop_channel_subscribers(channel_id);
    ephemeral_seq_.erase(channel_id);
  } else if (kind == "resync") {
    if (metrics_ != nullptr) metrics_->cluster_resync();
    resync_from_store();
  } else if (kind == "presence_gone" && !channel_id.empty()) {
    apply_presence_gone(channel_id, envelope.payload);
  } else if (kind == "archived" && !channel_id.empty()) {
    archived_channels_.insert(channel_id);
  } else {
    spdlog::debug("cluster: ignoring a bus event of kind {}", kind);
  }
}

void RealtimeHandler::on_cluster_resync() {
  boost::asio::post(control_, [this] {
    std::lock_guard lock(mutex_);
    if (cluster_ == nullptr) return;
    if (metrics_ != nullptr) metrics_->cluster_resync();
    cluster_sync_node();
    resync_from_store();
  });
}

void RealtimeHandler::resync_from_store() {
  // Tracked persistent channels: whatever the store has after what was
  // released here may have been missed while the bus was down.
  std::vector<std::pair<std::string, std::int64_t>> channels;
  for (const auto& [id, hub] : hub_) {
    if (!hub.persistent) continue;
    if (auto last = reorder_.last_seq(id)) channels.emplace_back(id, *last);
  }
  if (channels.empty()) return;
  store_.submit([this, channels = std::move(channels), executor = control_](store::Store* store) {
    if (store == nullptr) return;
    std::vector<store::StoredMessage> found;
    for (const auto& [id, last] : channels) {
      // Page by page up to kMaxGapFill: with no later event to open a gap,
      // what a single page left out would never be read.
      std::int64_t after = last;
      std::int64_t read = 0;
      try {
        while (read < kMaxGapFill) {
          auto page = store->messages_since(id, after, kMaxResyncRead);
          const bool more = page.size() == static_cast<std::size_t>(kMaxResyncRead);
          if (!page.empty()) after = page.back().seq;
          read += static_cast<std::int64_t>(page.size());
          std::move(page.begin(), page.end(), std::back_inserter(found));
          if (!more) break;
        }
      } catch (const store::StoreError& error) {
        spdlog::warn("cluster: resync of channel {}: {}", id, error.what());
      }
    }
    if (found.empty()) return;
    boost::asio::post(executor, [this, found = std::move(found)] {
      std::lock_guard lock(mutex_);
      const auto now = std::chrono::steady_clock::now();
      for (const auto& message : found) {
        const auto hub = hub_.find(message.channel_id);
        if (hub == hub_.end()) continue;
        release_events(message.channel_id,
                       reorder_.push(message.channel_id, message.seq,
                                     core::protocol::message_event(core::protocol::MessageView{
                                         hub->second.slug, message.id, message.seq, message.user_id,
                                         message.content, message.sent_at}),
                                     now));
      }
    });
  });
}

void RealtimeHandler::on_cluster_node_dead(cluster::DeadNode node) {
  spdlog::warn("cluster: node {} is gone ({} presence members left)", node.id, node.left.size());
  std::vector<std::pair<std::string, std::string>> gone;
  gone.reserve(node.left.size());
  for (auto& left : node.left)
    gone.emplace_back(std::move(left.channel_id), std::move(left.user_id));
  boost::asio::post(control_, [this, gone = std::move(gone)]() mutable {
    std::lock_guard lock(mutex_);
    if (cluster_ == nullptr) return;
    cluster_presence_gone(std::move(gone));
  });
}

// ---- presence across nodes ---------------------------------------------------

void RealtimeHandler::cluster_presence_join(const std::string& channel_id,
                                            const std::string& user_id,
                                            boost::asio::any_io_executor executor,
                                            std::function<void(ClusterPresenceAnswer)> then) {
  // join then members: one pipelined round trip; Redis answers in order, so
  // `members` completes last and carries both answers back to the loop.
  auto answer = std::make_shared<ClusterPresenceAnswer>();
  cluster_->presence().join(channel_id, user_id, "online", "null",
                            [answer](Result<cluster::PresenceJoin> joined) {
                              answer->available = static_cast<bool>(joined);
                              if (joined) answer->joined = joined->joined;
                            });
  cluster_->presence().members(
      channel_id, [this, answer, executor, then = std::move(then)](
                      Result<std::vector<cluster::ClusterMember>> members) mutable {
        if (!members) {
          // The join may have counted the connection although the members
          // could not be read: the node decides alone this time, and the
          // next sync_node puts Redis right.
          answer->available = false;
        } else {
          for (auto& member : members.value()) {
            answer->members.push_back(ClusterPresenceAnswer::Member{
                std::move(member.user_id), std::move(member.status), std::move(member.meta_json)});
          }
        }
        boost::asio::post(executor, [this, answer, then = std::move(then)] {
          std::lock_guard lock(mutex_);
          if (cluster_ == nullptr) return;  // stopping
          then(std::move(*answer));
        });
      });
}

void RealtimeHandler::cluster_presence_undo(const std::string& channel_id,
                                            const std::string& user_id) {
  cluster_->presence().leave(channel_id, user_id);
}

void RealtimeHandler::cluster_presence_leave(const ChannelRef& channel, const std::string& user_id,
                                             bool left_here) {
  // The other nodes are told from the command thread itself (presence_gone),
  // so a leave decided while this node shuts down still reaches them.
  cluster_->presence().leave(
      channel.id, user_id,
      [this, cluster = cluster_, executor = control_, channel_id = channel.id, slug = channel.slug,
       user_id, left_here](Result<bool> left) {
        if (left && left.value()) {
          (void)cluster->bus().publish(
              core::ClusterEnvelope{"presence_gone", "", channel_id, 0, user_id});
        }
        // Redis down: this node decides alone (its last connection leaves),
        // and only its own subscribers can be told.
        const bool gone = left ? left.value() : left_here;
        if (!gone) return;
        boost::asio::post(executor, [this, channel_id, slug, user_id] {
          std::lock_guard lock(mutex_);
          if (cluster_ == nullptr) return;
          if (presence_.find(channel_id, user_id) != nullptr) return;  // back meanwhile
          if (metrics_ != nullptr) metrics_->presence_update();
          fan_out(channel_id, core::protocol::presence_leave_event(slug, user_id));
          persist_presence({offline_record(channel_id, user_id)});
        });
      });
}

void RealtimeHandler::cluster_presence_update(const std::string& channel_id,
                                              const core::PresenceMember& member) {
  // The event itself goes out by fan_out_shared; Redis keeps the status and
  // metadata for presence_state on every node (last writer wins).
  cluster_->presence().update(channel_id, member.user_id,
                              std::string(core::to_string(member.status)),
                              member.meta_json.value_or("null"), {});
}

void RealtimeHandler::cluster_presence_gone(
    std::vector<std::pair<std::string, std::string>> channel_users) {
  std::vector<store::PresenceRecord> records;
  for (const auto& [channel_id, user_id] : channel_users) {
    if (presence_.find(channel_id, user_id) != nullptr) continue;  // still here
    apply_presence_gone(channel_id, user_id);
    cluster_publish("presence_gone", channel_id, 0, user_id);
    records.push_back(offline_record(channel_id, user_id));
  }
  persist_presence(std::move(records));
}

void RealtimeHandler::apply_presence_gone(const std::string& channel_id,
                                          const std::string& user_id) {
  // Only a node with local subscribers of the channel knows its slug, and
  // only it has someone to tell.
  const auto hub = hub_.find(channel_id);
  if (hub == hub_.end() || presence_.find(channel_id, user_id) != nullptr) return;
  if (metrics_ != nullptr) metrics_->presence_update();
  fan_out(channel_id, core::protocol::presence_leave_event(hub->second.slug, user_id));
}

void RealtimeHandler::cluster_sync_node() {
  // Presence: one entry per (channel, user) of this node, with its count.
  std::vector<cluster::LocalPresence> local;
  for (const core::PresenceChange& entry : presence_.all()) {
    local.push_back(cluster::LocalPresence{entry.channel_id, entry.member.user_id,
                                           entry.member.connections,
                                           std::string(core::to_string(entry.member.status)),
                                           entry.member.meta_json.value_or("null")});
  }
  cluster_->presence().sync_node(
      local, [this, executor = control_](Result<cluster::PresenceSync> synced) {
        if (!synced) return;  // down again: the next resync repeats it
        std::vector<std::pair<std::string, std::string>> gone;
        for (auto& left : synced->left) {
          gone.emplace_back(std::move(left.channel_id), std::move(left.user_id));
        }
        boost::asio::post(executor, [this, gone = std::move(gone)]() mutable {
          std::lock_guard lock(mutex_);
          if (cluster_ == nullptr) return;
          cluster_presence_gone(std::move(gone));
        });
      });
  // Connections per user on this node.
  std::vector<std::pair<std::string, int>> counts;
  for (const auto& [user_id, user] : users_) counts.emplace_back(user_id, user.connections);
  cluster_->limits().sync_node(counts);
}

}  // namespace nself::server
