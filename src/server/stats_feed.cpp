#include "server/stats_feed.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <set>

#include "core/protocol/events.hpp"
#include "core/protocol/requests.hpp"
#include "core/time_format.hpp"
#include "server/loop.hpp"
#include "server/realtime_service.hpp"
#include "server/server.hpp"
#include "server/ws_session.hpp"

namespace nself::server {

namespace json = boost::json;
namespace protocol = core::protocol;

namespace {

constexpr std::string_view kSubscribe = "stats_subscribe";
constexpr std::string_view kUnsubscribe = "stats_unsubscribe";
constexpr std::string_view kChannelTypes[] = {"public", "private", "presence"};

// The request's ref by the protocol's rule (a string of at most 128 bytes or
// a 64-bit integer); false for a ref of another kind.
bool read_ref(const json::object& request, protocol::Ref& ref) {
  const json::value* value = request.if_contains("ref");
  if (value == nullptr || value->is_null()) return true;
  if (const auto* text = value->if_string()) {
    if (text->size() > protocol::kMaxRefBytes) return false;
    ref = std::string(*text);
    return true;
  }
  if (const auto* number = value->if_int64()) {
    ref = *number;
    return true;
  }
  return false;
}

void put_ref(json::object& event, const protocol::Ref& ref) {
  if (const auto* text = std::get_if<std::string>(&ref)) event["ref"] = *text;
  if (const auto* number = std::get_if<std::int64_t>(&ref)) event["ref"] = *number;
}

std::string reply(std::string_view type, const protocol::Ref& ref) {
  json::object event;
  event["type"] = type;
  put_ref(event, ref);
  return json::serialize(event);
}

double per_second(std::uint64_t now, std::uint64_t before, double seconds) {
  if (seconds <= 0 || now < before) return 0;
  return static_cast<double>(now - before) / seconds;
}

}  // namespace

StatsFeed::StatsFeed(boost::asio::any_io_executor executor, Metrics& metrics, Sampler sampler,
                     StatsFeedOptions options)
    : timer_(std::move(executor)),
      metrics_(metrics),
      sampler_(std::move(sampler)),
      options_(options),
      started_at_(std::chrono::steady_clock::now()) {}

StatsFeed::~StatsFeed() {
  stop();
}

void StatsFeed::start() {
  running_ = true;
  schedule();
}

void StatsFeed::stop() {
  running_ = false;
  timer_.cancel();
}

void StatsFeed::schedule() {
  timer_.expires_after(options_.interval);
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || !running_) return;
    tick();
    schedule();
  });
}

void StatsFeed::tick() {
  std::vector<Subscriber> subscribers;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(subscribers_, [](const Subscriber& s) { return s.session.expired(); });
    subscribers = subscribers_;
  }
  if (subscribers.empty()) {
    // Nobody watches: no walk over the sessions, only the counters are noted,
    // so that the first subscriber's rates cover one interval.
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    for (auto type : kChannelTypes) {
      messages_in += metrics_.counter_value("messages_in", type);
      messages_out += metrics_.counter_value("messages_out", type);
    }
    std::lock_guard lock(mutex_);
    previous_ = Previous{std::chrono::steady_clock::now(), messages_in, messages_out};
    return;
  }
  auto frame = std::make_shared<const std::string>(sample_event());
  for (const auto& subscriber : subscribers) {
    auto session = subscriber.session.lock();
    if (!session) continue;
    boost::asio::post(session->executor(), [weak = subscriber.session, frame] {
      auto session = weak.lock();
      if (session && session->is_open()) session->send_text(*frame);
    });
  }
}

std::string StatsFeed::sample_event() {
  const LiveStats live = sampler_ ? sampler_() : LiveStats{};
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  for (auto type : kChannelTypes) {
    messages_in += metrics_.counter_value("messages_in", type);
    messages_out += metrics_.counter_value("messages_out", type);
  }
  const auto now = std::chrono::steady_clock::now();
  double in_rate = 0;
  double out_rate = 0;
  {
    std::lock_guard lock(mutex_);
    if (previous_) {
      const double seconds = std::chrono::duration<double>(now - previous_->at).count();
      in_rate = per_second(messages_in, previous_->messages_in, seconds);
      out_rate = per_second(messages_out, previous_->messages_out, seconds);
    }
    // A sample taken much sooner than an interval (the one sent right after
    // stats_subscribe) does not restart the rate window.
    if (!previous_ || now - previous_->at >= options_.interval / 2) {
      previous_ = Previous{now, messages_in, messages_out};
    }
  }
  json::object event;
  event["type"] = "stats";
  event["at"] = core::format_iso8601(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  event["uptime_seconds"] =
      std::chrono::duration_cast<std::chrono::seconds>(now - started_at_).count();
  event["connections"] = live.connections;
  event["peak_connections"] = std::max(metrics_.peak_connections(), live.connections);
  event["online_users"] = live.online_users;
  event["channels"] = live.channels;
  event["subscriptions"] = live.subscriptions;
  event["messages_in"] = messages_in;
  event["messages_out"] = messages_out;
  event["messages_in_per_second"] = std::round(in_rate * 100) / 100;
  event["messages_out_per_second"] = std::round(out_rate * 100) / 100;
  return json::serialize(event);
}

std::size_t StatsFeed::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(subscribers_.begin(), subscribers_.end(),
                    [](const auto& s) { return !s.session.expired(); }));
}

bool StatsFeed::intercept(WsSession& session, std::string_view text, bool authenticated,
                          bool is_admin) {
  // Cheap test first: almost every frame is something else.
  if (text.find("\"stats_") == std::string_view::npos) return false;
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error || !value.is_object()) return false;
  const json::object& request = value.get_object();
  const json::value* type = request.if_contains("type");
  if (type == nullptr || !type->is_string()) return false;
  const std::string_view name = type->get_string();
  if (name != kSubscribe && name != kUnsubscribe) return false;

  protocol::Ref ref;
  auto refuse = [&](const protocol::Ref& with, std::string_view code, std::string_view message) {
    metrics_.error(code);
    session.send_text(protocol::error_event(with, code, message));
    return true;
  };
  if (!read_ref(request, ref)) {
    return refuse({}, "bad_request", "\"ref\" must be a string of at most 128 bytes or an integer");
  }
  if (!authenticated) return refuse(ref, "unauthenticated", "authenticate first (an auth message)");
  if (!is_admin) return refuse(ref, "forbidden", "the stats feed is for admins");

  if (name == kUnsubscribe) {
    {
      std::lock_guard lock(mutex_);
      std::erase_if(subscribers_, [&](const Subscriber& s) {
        return s.session_id == session.id() || s.session.expired();
      });
    }
    session.send_text(reply("stats_unsubscribed", ref));
    return true;
  }
  {
    std::lock_guard lock(mutex_);
    const bool known =
        std::any_of(subscribers_.begin(), subscribers_.end(),
                    [&](const Subscriber& s) { return s.session_id == session.id(); });
    if (!known) subscribers_.push_back(Subscriber{session.id(), session.weak_from_this()});
  }
  json::object subscribed;
  subscribed["type"] = "stats_subscribed";
  put_ref(subscribed, ref);
  subscribed["interval_ms"] = options_.interval.count();
  session.send_text(json::serialize(subscribed));
  // The first figures at once, sampled on the feed's executor: intercept()
  // runs under the protocol handler's lock, which the sampler takes.
  boost::asio::post(timer_.get_executor(), [this, weak = session.weak_from_this()] {
    auto frame = std::make_shared<const std::string>(sample_event());
    if (auto target = weak.lock()) {
      boost::asio::post(target->executor(), [weak, frame] {
        auto session = weak.lock();
        if (session && session->is_open()) session->send_text(*frame);
      });
    }
  });
  return true;
}

LiveStats sample_live_stats(Server& server, const RealtimeService& handler) {
  LiveStats stats;
  std::set<std::string> users;
  std::set<std::string> channels;
  stats.connections = server.session_count();
  for (const auto& info : handler.connections()) {
    if (!info.authenticated) continue;
    users.insert(info.user_id);
    stats.subscriptions += info.subscriptions.size();
    channels.insert(info.subscriptions.begin(), info.subscriptions.end());
  }
  stats.online_users = users.size();
  stats.channels = channels.size();
  return stats;
}

}  // namespace nself::server
