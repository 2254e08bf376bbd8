#include "cluster/redis_connection.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace nself::cluster {
namespace {

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return tv;
}

RedisReply convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (std::size_t index = 0; index < reply->elements; ++index) {
        out.elements.push_back(convert(reply->element[index]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

// Owns a hiredis reply for the time of its conversion.
RedisReply take(void* raw) {
  auto* reply = static_cast<redisReply*>(raw);
  RedisReply out = convert(reply);
  freeReplyObject(reply);
  return out;
}

struct ArgvView {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  explicit ArgvView(const RedisArgv& argv) {
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const auto& argument : argv) {
      pointers.push_back(argument.data());
      lengths.push_back(argument.size());
    }
  }
};

}  // namespace

RedisConnection::RedisConnection(const core::RedisUrl& url, RedisConnectOptions options)
    : description_(url.describe()) {
  context_ =
      redisConnectWithTimeout(url.host.c_str(), url.port, to_timeval(options.connect_timeout));
  if (context_ == nullptr) throw RedisUnavailable("Redis " + description_ + ": out of memory");
  try {
    set_up(url, options);
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    redisFree(context_);
    context_ = nullptr;
    throw;
  }
}

void RedisConnection::set_up(const core::RedisUrl& url, RedisConnectOptions options) {
  if (context_->err != 0) fail("cannot connect");
  if (redisSetTimeout(context_, to_timeval(options.command_timeout)) != REDIS_OK) {
    fail("cannot set the socket timeout");
  }
  redisEnableKeepAlive(context_);
  if (url.password) {
    RedisArgv auth{"AUTH"};
    if (url.username) auth.push_back(*url.username);
    auth.push_back(*url.password);
    const auto reply = command(auth);
    if (reply.is_error()) {
      // The reply names no secret ("WRONGPASS invalid username-password pair").
      throw RedisUnavailable(
          fmt::format("Redis {}: authentication failed: {}", description_, reply.text));
    }
  }
  if (url.db != 0) {
    const auto reply = command({"SELECT", std::to_string(url.db)});
    if (reply.is_error()) {
      throw RedisUnavailable(
          fmt::format("Redis {}: SELECT {} failed: {}", description_, url.db, reply.text));
    }
  }
}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

void RedisConnection::fail(std::string_view what) {
  const std::string reason = context_->errstr[0] != '\0' ? context_->errstr : "connection lost";
  throw RedisUnavailable(fmt::format("Redis {}: {}: {}", description_, what, reason));
}

RedisReply RedisConnection::command(const RedisArgv& argv) {
  ArgvView view(argv);
  void* raw = redisCommandArgv(context_, static_cast<int>(argv.size()), view.pointers.data(),
                               view.lengths.data());
  if (raw == nullptr) fail("command failed");
  return take(raw);
}

std::vector<RedisReply> RedisConnection::pipeline(const std::vector<RedisArgv>& commands) {
  for (const auto& argv : commands) append(argv);
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t index = 0; index < commands.size(); ++index) replies.push_back(read_reply());
  return replies;
}

void RedisConnection::append(const RedisArgv& argv) {
  ArgvView view(argv);
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), view.pointers.data(),
                             view.lengths.data()) != REDIS_OK) {
    fail("cannot queue a command");
  }
}

RedisReply RedisConnection::read_reply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) fail("command failed");
  return take(raw);
}

int RedisConnection::fd() const {
  return context_->fd;
}

void RedisConnection::send(const RedisArgv& argv) {
  append(argv);
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) fail("write failed");
  }
}

std::optional<RedisReply> RedisConnection::take_reply() {
  void* raw = nullptr;
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) fail("protocol error");
  if (raw == nullptr) return std::nullopt;
  return take(raw);
}

void RedisConnection::read_available() {
  if (redisBufferRead(context_) != REDIS_OK) fail("read failed");
}

}  // namespace nself::cluster
