#include "cli/broadcast_command.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <limits>

#include "cli/output.hpp"
#include "core/time_format.hpp"

namespace nself::cli {
namespace {

constexpr std::size_t kMaxEventBytes = 128;

boost::json::value optional_time(const std::optional<store::Timestamp>& time) {
  if (!time) return nullptr;
  return boost::json::value(core::format_iso8601(*time));
}

[[noreturn]] void fail(std::string message) {
  throw CommandError(exit_code::kFailed, "bad_request", std::move(message));
}

store::Timestamp time_or_fail(const char* option, const std::string& text, store::Timestamp now) {
  auto parsed = parse_broadcast_time(text, now);
  if (!parsed) fail(fmt::format("{}: {}", option, parsed.error().message));
  return *parsed;
}

}  // namespace

Result<store::Timestamp> parse_broadcast_time(std::string_view text, store::Timestamp now) {
  const Error bad{"bad_request",
                  fmt::format("'{}' is not a time: use ISO-8601 with a zone "
                              "(2025-01-31T18:00:00Z) or +N followed by s, m, h or d (+10s, +5m)",
                              text)};
  if (text.size() >= 3 && text.front() == '+') {
    const std::string_view number = text.substr(1, text.size() - 2);
    long long value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size() || value < 0) return bad;
    long long unit_seconds = 0;
    switch (text.back()) {
      case 's':
        unit_seconds = 1;
        break;
      case 'm':
        unit_seconds = 60;
        break;
      case 'h':
        unit_seconds = 3600;
        break;
      case 'd':
        unit_seconds = 86400;
        break;
      default:
        return bad;
    }
    constexpr long long kMaxSeconds = 100LL * 366 * 86400;  // a century keeps the arithmetic safe
    if (value > kMaxSeconds / unit_seconds) return bad;
    return now + std::chrono::seconds(value * unit_seconds);
  }
  auto parsed = core::parse_iso8601(text);
  if (!parsed) return bad;
  return *parsed;
}

int run_broadcast(CommandContext& context, const BroadcastOptions& options) {
  const std::size_t expected = options.all ? 2 : 3;
  if (options.arguments.size() != expected) {
    throw CommandError(exit_code::kUsage, "usage",
                       options.all ? "with --all give <event> <json-payload>"
                                   : "give <channel> <event> <json-payload>, or --all "
                                     "<event> <json-payload> for every connection");
  }
  const std::string* channel_name = options.all ? nullptr : &options.arguments[0];
  const std::string& event = options.arguments[expected - 2];
  const std::string& payload = options.arguments[expected - 1];

  if (event.empty() || event.size() > kMaxEventBytes) {
    fail(fmt::format("the event name must be 1 to {} bytes", kMaxEventBytes));
  }
  boost::json::error_code json_error;
  const boost::json::value parsed_payload = boost::json::parse(payload, json_error);
  if (json_error) {
    fail(fmt::format("the payload is not valid JSON ({}): quote it, e.g. '{{\"text\":\"hi\"}}'",
                     json_error.message()));
  }

  const store::Timestamp now = cli::now();
  std::optional<store::Timestamp> at;
  std::optional<store::Timestamp> expires;
  if (options.at) at = time_or_fail("--at", *options.at, now);
  if (options.expires) expires = time_or_fail("--expires", *options.expires, now);
  // Refused rather than stored: such a broadcast could never be delivered.
  const store::Timestamp delivery = at && *at > now ? *at : now;
  if (expires && *expires <= delivery) {
    fail(fmt::format("--expires {} is not after the delivery time {}: it would never be delivered",
                     core::format_iso8601(*expires), core::format_iso8601(delivery)));
  }

  auto& store = context.store();
  std::optional<store::Channel> channel;
  if (channel_name) {
    channel = store.find_channel(*channel_name);
    if (!channel) {
      throw CommandError(exit_code::kFailed, "not_found",
                         fmt::format("no channel with id or slug '{}'", *channel_name));
    }
    if (channel->archived_at) {
      fail(fmt::format("channel '{}' is archived", channel->slug));
    }
  }
  store::Broadcast broadcast;
  if (channel) broadcast.channel_id = channel->id;
  broadcast.user_id = "cli";
  broadcast.event_type = event;
  broadcast.payload = boost::json::serialize(parsed_payload);
  broadcast.scheduled_at = at;
  broadcast.expires_at = expires;
  const store::Broadcast created = store.create_broadcast(broadcast, now);

  if (context.json()) {
    boost::json::object object;
    object["id"] = created.id;
    object["channel"] = channel ? boost::json::value(channel->slug) : boost::json::value(nullptr);
    object["event"] = created.event_type;
    object["payload"] = parsed_payload;
    object["created_at"] = core::format_iso8601(created.created_at);
    object["scheduled_at"] = optional_time(created.scheduled_at);
    object["expires_at"] = optional_time(created.expires_at);
    print_json(context.out(), boost::json::object{{"broadcast", std::move(object)}});
    return exit_code::kOk;
  }
  const std::string target =
      channel ? fmt::format("channel '{}'", channel->slug) : std::string("every connection");
  const std::string when =
      at && *at > now ? "scheduled for " + core::format_iso8601(*at) : std::string("queued now");
  context.out() << fmt::format("Broadcast '{}' to {} {} (id: {}{})\n", event, target, when,
                               created.id,
                               expires ? ", expires " + core::format_iso8601(*expires) : "");
  context.out() << "The running server delivers it when due (within REALTIME_BROADCAST_POLL_MS).\n";
  return exit_code::kOk;
}

}  // namespace nself::cli
