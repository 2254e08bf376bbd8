#include "simulator.hpp"

#include <boost/json.hpp>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "core/protocol/requests.hpp"
#include "protocols/native/encode.hpp"
#include "store/engine_jobs.hpp"
#include "store/uuid.hpp"

namespace nself::test::engine {
namespace {

std::vector<core::auth::JwtKey> keys() {
  return {core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, Simulator::kJwtSecret}};
}

}  // namespace

Simulator::Simulator(Options options) : verifier_(keys()) {
  if (options.shards < 1) throw std::invalid_argument("a simulator needs at least one shard");
  store::StoreOptions store_options;
  store_options.sqlite_path = (dir_.path() / "realtime.db").string();
  store_ = store::open_store(store_options);
  store_->migrate();
  for (ce::ShardIndex index = 0; index < options.shards; ++index) {
    shards_.push_back(
        std::make_unique<ce::Shard>(index, options.shards, options.engine, verifier_));
  }
  serials_.assign(options.shards, 0);
  now_.wall = options.start;
  now_.steady = ce::SteadyTime{} + std::chrono::hours{1};
}

Simulator::~Simulator() = default;

// ---- clock

void Simulator::advance(std::chrono::milliseconds by) {
  while (by.count() > 0) {
    const auto step = std::min(by, tick_interval);
    by -= step;
    now_.steady += step;
    now_.wall += step;
    for (ce::ShardIndex index = 0; index < shards(); ++index) {
      pending_.push_back({index, ce::Tick{}});
    }
    run_until_quiet();
  }
}

// ---- store setup

std::string Simulator::create_channel(const std::string& slug, core::ChannelType type,
                                      bool persistent, int max_members) {
  store::NewChannel row;
  row.name = row.slug = slug;
  row.type = type;
  row.is_persistent = persistent;
  row.max_members = max_members;
  auto created = store_->create_channel(row, now_.wall);
  if (!created.ok()) throw std::runtime_error("channel " + slug + ": " + created.error().message);
  return channel_ids_[slug] = created.value().id;
}

std::string Simulator::channel_id(const std::string& slug) const {
  auto found = channel_ids_.find(slug);
  if (found == channel_ids_.end()) throw std::runtime_error("no channel " + slug);
  return found->second;
}

ce::ChannelInfo Simulator::channel_info(const std::string& slug) {
  auto channel = store_->find_channel(slug);
  if (!channel) throw std::runtime_error("no channel " + slug);
  return ce::ChannelInfo{channel->id,          channel->slug,
                         channel->type,        channel->is_persistent,
                         channel->max_members, channel->archived_at.has_value(),
                         channel->last_seq};
}

void Simulator::add_member(const std::string& slug, const std::string& user, bool can_send) {
  store::ChannelMember row;
  row.channel_id = channel_id(slug);
  row.user_id = user;
  row.can_send = can_send;
  row.subscribed_at = now_.wall;
  store_->upsert_member(row);
}

store::StoredMessage Simulator::store_message(const std::string& slug, const std::string& user,
                                              const std::string& content_json) {
  store::NewMessage message;
  message.channel_id = channel_id(slug);
  message.user_id = user;
  message.content = content_json;
  return store_->append_messages(std::span(&message, 1), now_.wall).at(0);
}

void Simulator::archive_channel(const std::string& slug) {
  (void)store_->archive_channel(channel_id(slug), now_.wall);
}

// ---- tokens

std::string Simulator::sign(std::string_view claims_json) {
  auto token = core::auth::sign_jwt({core::auth::JwtAlgorithm::kHS256, kJwtSecret}, claims_json);
  if (!token.ok()) throw std::runtime_error("cannot sign: " + token.error().message);
  return token.value();
}

std::string Simulator::token(const std::string& user, std::chrono::seconds ttl,
                             const std::string& role) const {
  const auto exp =
      std::chrono::duration_cast<std::chrono::seconds>((now_.wall + ttl).time_since_epoch())
          .count();
  return sign(
      boost::json::serialize(boost::json::object{{"sub", user}, {"role", role}, {"exp", exp}}));
}

// ---- connections

ce::ConnectionId Simulator::connect(ce::ShardIndex shard, std::optional<core::auth::Claims> claims,
                                    bool batch) {
  const ce::ConnectionId id = ce::make_connection_id(shard, ++serials_.at(shard));
  Connection& c = connections_[id];
  c.public_id = store::new_uuid();
  c.batch = batch;
  ce::ConnectionOpened opened;
  opened.connection = id;
  opened.public_id = c.public_id;
  opened.remote_address = "127.0.0.1";
  opened.user_agent = "engine-simulator";
  opened.batch = batch;
  opened.claims = std::move(claims);
  input(shard, std::move(opened));
  return id;
}

void Simulator::send_frame(ce::ConnectionId id, std::string_view text) {
  if (connection(id).closed) throw std::logic_error("send_frame on a closed connection");
  input(ce::shard_of_connection(id), ce::ClientFrame{id, core::protocol::parse_frame(text)});
}

void Simulator::close(ce::ConnectionId id) {
  Connection& c = connection(id);
  if (c.closed) return;
  c.closed = true;
  input(ce::shard_of_connection(id), ce::ConnectionClosed{id});
}

const std::string& Simulator::public_id(ce::ConnectionId id) const {
  return connections_.at(id).public_id;
}

std::deque<Received>& Simulator::received(ce::ConnectionId id) {
  return connection(id).received;
}

std::optional<Received> Simulator::take(ce::ConnectionId id) {
  auto& queue = connection(id).received;
  if (queue.empty()) return std::nullopt;
  Received next = std::move(queue.front());
  queue.pop_front();
  return next;
}

bool Simulator::closed(ce::ConnectionId id) const {
  return connections_.at(id).closed;
}

bool Simulator::batching(ce::ConnectionId id) const {
  return connections_.at(id).batch;
}

Simulator::Connection& Simulator::connection(ce::ConnectionId id) {
  auto found = connections_.find(id);
  if (found == connections_.end()) throw std::logic_error("unknown connection");
  return found->second;
}

// ---- inputs and actions

void Simulator::input(ce::ShardIndex shard, ce::Input in) {
  pending_.push_back({shard, std::move(in)});
  run_until_quiet();
}

void Simulator::input_to_all(const std::function<ce::Input()>& make) {
  for (ce::ShardIndex index = 0; index < shards(); ++index) pending_.push_back({index, make()});
  run_until_quiet();
}

void Simulator::perform(ce::ShardIndex shard, ce::Actions actions) {
  carry_out(shard, actions);
  run_until_quiet();
}

void Simulator::handle(ce::ShardIndex shard, ce::Input in) {
  ce::Actions actions;
  shards_.at(shard)->handle(std::move(in), now_, actions);
  carry_out(shard, actions);
}

void Simulator::deliver(ce::ConnectionId id, const std::string& text) {
  auto found = connections_.find(id);
  // A socket that is gone drops what is sent to it, as the server's does.
  if (found == connections_.end() || found->second.closed) return;
  found->second.received.push_back({Received::Kind::kEvent, text, 0});
}

void Simulator::carry_out(ce::ShardIndex shard, ce::Actions& actions) {
  for (auto& action : actions) {
    std::visit(
        [&](auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, ce::Send>) {
            deliver(a.connection, protocols::native::encode(a.event));
          } else if constexpr (std::is_same_v<T, ce::Deliver>) {
            // Encoded once, shared by every subscriber of this loop.
            const std::string text = protocols::native::encode(*a.event);
            for (const auto& subscriber : *a.subscribers) {
              if (a.skip_user && subscriber.user_id == *a.skip_user) continue;
              deliver(subscriber.connection, text);
            }
          } else if constexpr (std::is_same_v<T, ce::DeliverAuthenticated>) {
            const std::string text = protocols::native::encode(*a.event);
            for (const auto& summary : shards_[shard]->connections().describe()) {
              if (summary.authenticated) deliver(summary.connection, text);
            }
          } else if constexpr (std::is_same_v<T, ce::Close>) {
            auto found = connections_.find(a.connection);
            if (found != connections_.end() && !found->second.closed) {
              found->second.received.push_back({Received::Kind::kClose, a.reason, a.code});
              found->second.closed = true;
              pending_.push_back(
                  {ce::shard_of_connection(a.connection), ce::ConnectionClosed{a.connection}});
            }
          } else if constexpr (std::is_same_v<T, ce::SetBatching>) {
            if (auto found = connections_.find(a.connection); found != connections_.end()) {
              found->second.batch = a.batch;
            }
          } else if constexpr (std::is_same_v<T, ce::ToShard>) {
            pending_.push_back({a.shard, ce::FromShard{std::move(a.message)}});
          } else if constexpr (std::is_same_v<T, ce::Store>) {
            store_queue_.push_back(std::move(a.job));
          } else {  // AdminDone
            admin_done.push_back(std::move(a));
          }
        },
        action);
  }
}

// Every job queued so far in one round, as the store worker takes them: the
// appends in one transaction (run_append_batch), then the rest in order.
void Simulator::run_store_round() {
  std::vector<ce::StoreJob> jobs = std::move(store_queue_);
  store_queue_.clear();
  std::vector<ce::StoreJob> runnable;
  std::vector<ce::StoreReply> replies;
  for (auto& job : jobs) {
    std::optional<std::string> failure;
    if (store_fault) failure = store_fault(job);
    if (failure) {
      ce::StoreReply reply;
      reply.token = job.token;
      reply.failure = std::move(failure);
      if (job.token != 0) pending_.push_back({job.origin, ce::StoreDone{std::move(reply)}});
    } else {
      runnable.push_back(std::move(job));
    }
  }
  std::size_t appends = 0;
  for (const auto& job : runnable)
    appends += std::holds_alternative<ce::AppendMessage>(job.request);
  if (appends > 0) ++append_batches;
  store_jobs_run += runnable.size();
  replies = store::run_append_batch(*store_, runnable, now_.wall);
  // Answers in the store's order: the commits first, then the others.
  for (int commits = 1; commits >= 0; --commits) {
    for (std::size_t i = 0; i < runnable.size(); ++i) {
      const bool commit = std::holds_alternative<ce::AppendMessage>(runnable[i].request);
      if (commit != (commits == 1) || runnable[i].token == 0) continue;
      pending_.push_back({runnable[i].origin, ce::StoreDone{std::move(replies[i])}});
    }
  }
}

void Simulator::run_until_quiet() {
  if (running_) return;  // the outer loop picks up what was queued
  running_ = true;
  try {
    while (!pending_.empty() || !store_queue_.empty()) {
      if (!pending_.empty()) {
        Pending next = std::move(pending_.front());
        pending_.pop_front();
        handle(next.shard, std::move(next.input));
      } else {
        run_store_round();
      }
    }
  } catch (...) {
    running_ = false;
    throw;
  }
  running_ = false;
}

}  // namespace nself::test::engine
