#include "engine_case_runner.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/auth/base64url.hpp"
#include "simulator.hpp"
#include "store/uuid.hpp"

namespace nself::test::engine {
namespace {

namespace json = boost::json;
using protocol::Captures;
using protocol::CaseFile;

constexpr const char* kWrongSecret = "not-the-server-secret-0123456789abcdef";

struct StepFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The file's `config:` lines the engine has a setting for; the others
// (origins, WEBSOCKET_MAX_CONNECTIONS) belong to the upgrade.
ce::EngineOptions engine_options(const CaseFile& file) {
  ce::EngineOptions options;
  for (const auto& [key, value] : file.config) {
    const int number = std::atoi(value.c_str());
    if (key == "REALTIME_MAX_CONNECTIONS_PER_USER") options.max_connections_per_user = number;
    if (key == "REALTIME_MAX_MESSAGES_PER_SECOND") options.max_messages_per_second = number;
    if (key == "REALTIME_MAX_SUBSCRIPTIONS") options.max_subscriptions = number;
    if (key == "REALTIME_MAX_STORE_REQUESTS_PER_SECOND") {
      options.max_store_requests_per_second = number;
    }
    if (key == "REALTIME_MAX_STORE_REQUESTS_IN_FLIGHT")
      options.max_store_requests_in_flight = number;
    if (key == "REALTIME_AWAY_AFTER") options.away_after = std::chrono::seconds(number);
  }
  return options;
}

std::size_t max_message_bytes(const CaseFile& file) {
  for (const auto& [key, value] : file.config) {
    if (key == "REALTIME_MAX_MESSAGE_BYTES")
      return static_cast<std::size_t>(std::atol(value.c_str()));
  }
  return 65536;  // core/config.hpp's default
}

core::ChannelType type_of(protocol::ChannelKind kind) {
  switch (kind) {
    case protocol::ChannelKind::kPublic:
      return core::ChannelType::kPublic;
    case protocol::ChannelKind::kPrivate:
      return core::ChannelType::kPrivate;
    case protocol::ChannelKind::kPresence:
      return core::ChannelType::kPresence;
  }
  return core::ChannelType::kPublic;
}

// The file's setup rows, in the socket driver's order.
void write_setup(const CaseFile& file, Simulator& sim) {
  for (const auto& channel : file.channels) {
    sim.create_channel(channel.slug, type_of(channel.kind), !channel.ephemeral,
                       channel.max_members);
  }
  for (const auto& member : file.members) sim.add_member(member.slug, member.user, member.can_send);
  for (const auto& stored : file.stored)
    sim.store_message(stored.slug, stored.user, stored.content);
  for (const auto& channel : file.channels) {
    if (channel.archived) sim.archive_channel(channel.slug);
  }
}

struct Connection {
  ce::ConnectionId id = 0;
  bool opened = false;        // false: the upgrade was refused (a bad token)
  bool socket_level = false;  // a skipped step left it to the socket layer
  bool closed = false;
};

class CaseRunner {
 public:
  CaseRunner(const CaseFile& file, Simulator& sim, int& barriers, std::size_t& connects)
      : file_(file), sim_(sim), barriers_(barriers), connects_(connects) {}

  CaseOutcome run(const protocol::Case& c) {
    CaseOutcome outcome;
    outcome.title = c.title;
    outcome.line = c.line;
    int line = c.line;
    try {
      for (const auto& step : c.steps) {
        line = line_ = protocol::line_of(step);
        std::visit([this](const auto& typed) { do_step(typed); }, step);
      }
      line = c.line;
      for (auto& [name, connection] : connections_) {
        if (live(connection)) barrier(name, connection);
      }
      outcome.passed = true;
    } catch (const std::exception& error) {
      outcome.failure =
          file_.file + ":" + std::to_string(line) + ": case '" + c.title + "': " + error.what();
    }
    close_all();
    outcome.checked = checked_;
    outcome.skipped = std::move(skipped_);
    return outcome;
  }

 private:
  static bool live(const Connection& c) { return c.opened && !c.closed && !c.socket_level; }

  void skip(const std::string& kind, const std::string& reason) {
    skipped_.push_back(file_.file + ":" + std::to_string(line_) + ": " + kind + ": " + reason);
  }

  // The connection a step names; nullptr when the step is to be skipped
  // because an earlier skipped step left the connection to the socket layer.
  Connection* usable(const std::string& name, const std::string& kind) {
    auto found = connections_.find(name);
    if (found == connections_.end()) throw StepFailed("no connection '" + name + "' is open");
    if (found->second.socket_level) {
      skip(kind, "on " + name + ", after a step the engine cannot express");
      return nullptr;
    }
    if (!found->second.opened) {
      throw StepFailed("connection '" + name + "' was refused at the upgrade (bad token)");
    }
    return &found->second;
  }

  const protocol::TokenSpec* find_token(std::string_view name) const {
    for (auto it = case_tokens_.rbegin(); it != case_tokens_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    for (const auto& token : file_.tokens) {
      if (token.name == name) return &token;
    }
    return nullptr;
  }

  // Signs `spec` at the fake wall time (its times are relative to it).
  std::string sign(const protocol::TokenSpec& spec) const {
    if (spec.literal) return *spec.literal;
    json::object claims;
    if (spec.subject == "sub") {
      claims["sub"] = spec.user;
      claims["role"] = spec.role;
    } else if (spec.subject == "hasura") {
      claims["https://hasura.io/jwt/claims"] =
          json::object{{"x-hasura-user-id", spec.user}, {"x-hasura-default-role", spec.role}};
    } else {
      claims["role"] = spec.role;
    }
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(sim_.now().wall.time_since_epoch())
            .count();
    if (spec.exp_seconds) claims["exp"] = now + *spec.exp_seconds;
    if (spec.nbf_seconds) claims["nbf"] = now + *spec.nbf_seconds;
    const std::string payload = json::serialize(claims);
    if (spec.alg == "none") {
      return core::auth::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
             core::auth::base64url_encode(payload) + ".";
    }
    const auto algorithm = *core::auth::parse_jwt_algorithm(spec.alg);
    auto token = core::auth::sign_jwt(
        {algorithm, spec.wrong_secret ? kWrongSecret : Simulator::kJwtSecret}, payload);
    if (!token.ok()) throw StepFailed("cannot sign the token: " + token.error().message);
    return token.value();
  }

  std::string resolve(std::string_view text) {
    return protocol::substitute(text, [this](std::string_view name) -> std::optional<std::string> {
      if (auto found = captures_.find(std::string(name)); found != captures_.end()) {
        return protocol::capture_text(found->second);
      }
      if (const auto* token = find_token(name)) return sign(*token);
      return std::nullopt;
    });
  }

  static std::string describe(const std::optional<Received>& got) {
    if (!got) return "nothing (the engine is quiet)";
    if (got->kind == Received::Kind::kClose) {
      return "close " + std::to_string(got->code) + " \"" + got->text + "\"";
    }
    return got->text;
  }

  void trace(const std::string& conn, const std::optional<Received>& got) const {
    if (std::getenv("NSELF_PROTOCOL_TRACE") == nullptr) return;
    std::fprintf(stderr, "trace %s:%d %s <- %s\n", file_.file.c_str(), line_, conn.c_str(),
                 describe(got).c_str());
  }

  void expect_event(const std::string& name, Connection& c, const std::string& expected) {
    checked_ = true;
    auto got = sim_.take(c.id);
    trace(name, got);
    if (got && got->kind == Received::Kind::kClose) c.closed = true;
    if (!got || got->kind != Received::Kind::kEvent) {
      throw StepFailed("on " + name + "\n  expected: " + expected +
                       "\n  actual:   " + describe(got));
    }
    const std::string difference = protocol::match_event(expected, got->text, captures_);
    if (!difference.empty()) {
      throw StepFailed("on " + name + ": " + difference + "\n  expected: " + expected +
                       "\n  actual:   " + got->text);
    }
    note_auth_ok(name, got->text);
  }

  void note_auth_ok(const std::string& name, const std::string& text) {
    boost::system::error_code error;
    auto value = json::parse(text, error);
    if (error || !value.is_object()) return;
    const auto& object = value.as_object();
    if (object.contains("type") && object.at("type") == "auth_ok" &&
        object.contains("connection_id")) {
      captures_[name + ".connection_id"] = object.at("connection_id");
    }
  }

  void barrier(const std::string& name, Connection& c) {
    checked_ = true;
    const std::string ref = "barrier-" + std::to_string(++barriers_);
    if (sim_.closed(c.id)) {  // closed by the server: whatever it got is unexpected
      throw StepFailed("on " + name + ": expected nothing more, got " + describe(sim_.take(c.id)));
    }
    sim_.send_frame(c.id, R"({"type":"ping","ref":")" + ref + R"("})");
    auto got = sim_.take(c.id);
    trace(name, got);
    if (got && got->kind == Received::Kind::kClose) c.closed = true;
    Captures ignored;
    if (got && got->kind == Received::Kind::kEvent &&
        (protocol::match_event(R"({"type":"pong","ref":")" + ref + R"("})", got->text, ignored)
             .empty() ||
         protocol::match_event(R"({"type":"error","ref":")" + ref +
                                   R"(","code":"unauthenticated","message":"<string>"})",
                               got->text, ignored)
             .empty())) {
      return;
    }
    throw StepFailed("on " + name + ": expected nothing more, got " + describe(got));
  }

  void do_step(const protocol::Connect& step) {
    if (connections_.count(step.conn) != 0 && !connections_.at(step.conn).closed) {
      throw StepFailed("connection '" + step.conn + "' is already open");
    }
    const auto shard = static_cast<ce::ShardIndex>(connects_++ % sim_.shards());
    Connection c;
    std::string token;
    if (step.mode == protocol::Connect::Mode::kAs) token = sign(step.token);
    if (step.mode == protocol::Connect::Mode::kToken) {
      const auto* spec = find_token(step.token_name);
      if (spec == nullptr) throw StepFailed("no token named '" + step.token_name + "'");
      token = sign(*spec);
    }
    // A token on the upgrade (query or header) is verified before the
    // engine sees the connection, as the server does; refused: HTTP 401.
    std::optional<core::auth::Claims> claims;
    const bool upgrade_token = !token.empty() && step.via != protocol::Via::kMessage;
    if (upgrade_token) {
      auto verified = sim_.verifier().verify(token, sim_.now().wall);
      if (verified.ok()) claims = std::move(verified).value();
    }
    c.opened = !upgrade_token || claims.has_value();
    if (c.opened) c.id = sim_.connect(shard, std::move(claims), step.batch);
    auto& placed = connections_[step.conn] = c;
    if (step.mode != protocol::Connect::Mode::kAs) return;
    if (!placed.opened) throw StepFailed("the upgrade as " + step.token.user + " was refused");
    if (step.via == protocol::Via::kMessage && !sim_.closed(placed.id)) {
      sim_.send_frame(placed.id, R"({"type":"auth","token":")" + token + R"("})");
    }
    json::object expected{{"type", "auth_ok"},
                          {"user_id", step.token.user},
                          {"connection_id", "<uuid>"},
                          {"expires_at", step.token.exp_seconds ? "<ts>" : nullptr}};
    expect_event(step.conn, placed, json::serialize(expected));
  }

  void do_step(const protocol::Send& step) {
    Connection* c = usable(step.conn, "send");
    if (c == nullptr) return;
    const std::string text = resolve(step.text);
    if (text.size() > max_message_bytes(file_)) {
      skip("send", "a message over REALTIME_MAX_MESSAGE_BYTES is closed 1009 by the socket layer");
      c->socket_level = true;
      return;
    }
    // Frames sent to a socket the server closed are lost, as over TCP.
    for (int index = 0; index < step.times && !sim_.closed(c->id); ++index) {
      sim_.send_frame(c->id, text);
    }
  }

  void do_step(const protocol::SendFrame& step) {
    skip("send-frame", "raw WebSocket frames are the socket layer's");
    if (auto found = connections_.find(step.conn); found != connections_.end()) {
      found->second.socket_level = true;
    }
  }

  void do_step(const protocol::Expect& step) {
    Connection* c = usable(step.conn, "expect");
    if (c == nullptr) return;
    for (int index = 0; index < step.times; ++index) {
      expect_event(step.conn, *c, step.json);  // the matcher resolves $captures
    }
  }

  // No frames in the engine: one expect per value.
  void do_step(const protocol::ExpectBatch& step) {
    Connection* c = usable(step.conn, "expect-batch");
    if (c == nullptr) return;
    for (const auto& json : step.json) expect_event(step.conn, *c, json);
  }

  void do_step(const protocol::ExpectNone& step) {
    Connection* c = usable(step.conn, "expect-none");
    if (c != nullptr) barrier(step.conn, *c);
  }

  void do_step(const protocol::ExpectClose& step) {
    Connection* c = usable(step.conn, "expect-close");
    if (c == nullptr) return;
    checked_ = true;
    auto got = sim_.take(c->id);
    trace(step.conn, got);
    if (!got || got->kind != Received::Kind::kClose || got->code != step.code) {
      throw StepFailed("on " + step.conn + ": expected close " + std::to_string(step.code) +
                       ", got " + describe(got));
    }
    c->closed = true;
  }

  void do_step(const protocol::ExpectHttp& step) {
    skip("expect-http", "the upgrade's HTTP status is decided before the engine");
    if (auto found = connections_.find(step.conn); found != connections_.end()) {
      found->second.socket_level = true;
    }
  }

  void do_step(const protocol::Advance& step) { sim_.advance(step.by); }

  void do_step(const protocol::Close& step) {
    Connection* c = usable(step.conn, step.drop ? "drop" : "close");
    if (c == nullptr) return;
    if (c->closed) throw StepFailed("connection '" + step.conn + "' is closed already");
    c->closed = true;
    // What was sent before the close is dropped, as over sockets; the
    // close's answer is the socket layer's.
    sim_.received(c->id).clear();
    sim_.close(c->id);
  }

  void do_step(const protocol::DefineToken& step) { case_tokens_.push_back(step.token); }

  void do_step(const protocol::Admin& step) {
    const auto& args = step.arguments;
    if (step.operation == "disconnect") {
      Connection* c = usable(args.at(0), "admin disconnect");
      if (c == nullptr) return;
      sim_.input(ce::shard_of_connection(c->id), ce::AdminDisconnect{c->id});
    } else if (step.operation == "delete-channel") {
      const auto info = sim_.channel_info(args.at(0));
      sim_.store().delete_channel(info.id);
      sim_.input_to_all([&] { return ce::AdminChannelDeleted{info.id, info.slug}; });
    } else if (step.operation == "archive-channel") {
      const auto info = sim_.channel_info(args.at(0));
      sim_.store().archive_channel(info.id, sim_.now().wall);
      sim_.input_to_all([&] { return ce::AdminChannelArchived{info.id}; });
    } else if (step.operation == "publish") {
      publish(args.at(0), resolve(args.at(1)));
    } else if (step.operation == "broadcast") {
      broadcast(args.at(0), args.at(1), resolve(args.at(2)));
    } else if (step.operation == "member") {
      sim_.add_member(args.at(0), args.at(1), args.size() < 3);
      const auto info = sim_.channel_info(args.at(0));
      sim_.input_to_all([&] { return ce::AdminMemberChanged{info.id, args.at(1)}; });
    } else if (step.operation == "remove-member") {
      const auto info = sim_.channel_info(args.at(0));
      sim_.store().remove_member(info.id, args.at(1));
      sim_.input_to_all([&] { return ce::AdminMemberRevoked{info.id, args.at(1)}; });
    } else if (step.operation == "shutdown") {
      skip("admin shutdown", "the server's graceful stop (close 1001) is not the engine's");
      for (auto& [name, c] : connections_) c.socket_level = true;
    } else {
      throw StepFailed("unknown admin operation " + step.operation);
    }
  }

  // POST /api/channels/{c}/messages with the admin secret: the sender is "admin".
  void publish(const std::string& slug, const std::string& content) {
    const auto info = sim_.channel_info(slug);
    const std::uint64_t request = sim_.admin_done.size() + 1;
    sim_.input(ce::shard_of_key(info.id, sim_.shards()),
               ce::AdminPublish{request, info, "admin", content});
    for (std::size_t i = request - 1; i < sim_.admin_done.size(); ++i) {
      const auto& done = sim_.admin_done[i];
      if (done.request_id != request) continue;
      if (done.failure) throw StepFailed("admin publish failed: " + *done.failure);
      return;
    }
    throw StepFailed("admin publish got no answer");
  }

  // POST /api/broadcasts, sent at once: stored, then delivered; one to every
  // connection (*) is also an announcement replayed after auth_ok.
  void broadcast(const std::string& target, const std::string& event, const std::string& payload) {
    store::Broadcast row;
    std::optional<std::string> channel_id;
    if (target != "*") channel_id = row.channel_id = sim_.channel_id(target);
    row.event_type = event;
    row.payload = payload;
    row = sim_.store().create_broadcast(row, sim_.now().wall);
    sim_.store().mark_broadcast_sent(row.id, sim_.now().wall);
    ce::BroadcastEvent typed{row.id, std::nullopt, event, payload, row.created_at, row.expires_at};
    if (channel_id) typed.channel = target;
    sim_.input_to_all([&] { return ce::AdminBroadcast{typed, channel_id}; });
    if (channel_id) return;
    ce::AdminAnnouncements announcements;
    for (const auto& active : sim_.store().active_announcements(sim_.now().wall)) {
      announcements.announcements.push_back(
          ce::BroadcastEvent{active.id, std::nullopt, active.event_type, active.payload,
                             active.created_at, active.expires_at});
    }
    sim_.input_to_all([&] { return announcements; });
  }

  void close_all() {
    for (auto& [name, c] : connections_) {
      if (c.opened && !c.closed) sim_.close(c.id);
    }
    connections_.clear();
  }

  const CaseFile& file_;
  Simulator& sim_;
  int& barriers_;
  std::size_t& connects_;
  std::map<std::string, Connection> connections_;
  std::vector<protocol::TokenSpec> case_tokens_;
  Captures captures_;
  std::vector<std::string> skipped_;
  bool checked_ = false;
  int line_ = 0;
};

}  // namespace

FileOutcome run_file_on_engine(const CaseFile& file, ce::ShardIndex shards) {
  FileOutcome outcome;
  std::unique_ptr<Simulator> sim;
  try {
    Simulator::Options options;
    options.shards = shards;
    options.engine = engine_options(file);
    sim = std::make_unique<Simulator>(options);
    write_setup(file, *sim);
  } catch (const std::exception& error) {
    outcome.setup_error = file.file + ": setup: " + error.what();
    return outcome;
  }
  int barriers = 0;
  std::size_t connects = 0;
  for (const auto& c : file.cases) {
    outcome.cases.push_back(CaseRunner(file, *sim, barriers, connects).run(c));
  }
  return outcome;
}

}  // namespace nself::test::engine
