#include "socket_driver.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "core/auth/base64url.hpp"
#include "core/auth/jwt_verifier.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

namespace nself::test::protocol {
namespace {

namespace json = boost::json;
namespace ws = core::ws;
using namespace std::chrono_literals;

constexpr const char* kJwtSecret = "protocol-cases-secret-0123456789abcdef";
constexpr const char* kWrongSecret = "not-the-server-secret-0123456789abcdef";
constexpr const char* kAdminSecret = "protocol-cases-admin-secret";

// A step that did not go as the file says; caught per case.
struct StepFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 600)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  if (text.size() > 600) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Signs `spec` now (its times are relative to this moment).
std::string sign(const TokenSpec& spec) {
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
  const std::int64_t now = unix_now();
  if (spec.exp_seconds) claims["exp"] = now + *spec.exp_seconds;
  if (spec.nbf_seconds) claims["nbf"] = now + *spec.nbf_seconds;
  const std::string payload = json::serialize(claims);
  if (spec.alg == "none") {
    return core::auth::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
           core::auth::base64url_encode(payload) + ".";
  }
  const auto algorithm = *core::auth::parse_jwt_algorithm(spec.alg);
  auto token =
      core::auth::sign_jwt({algorithm, spec.wrong_secret ? kWrongSecret : kJwtSecret}, payload);
  if (!token.ok()) throw StepFailed("cannot sign the token: " + token.error().message);
  return token.value();
}

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      static const char* kHex = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

// The project directory and the server running in it.
class ServerProject {
 public:
  explicit ServerProject(const CaseFile& file) : port_(static_cast<std::uint16_t>(free_port())) {
    std::ostringstream env;
    env << "WEBSOCKET_HOST=127.0.0.1\nWEBSOCKET_PORT=" << port_
        << "\nREALTIME_JWT_SECRET=" << kJwtSecret << "\nREALTIME_ADMIN_SECRET=" << kAdminSecret
        << "\n";
    for (const auto& [key, value] : file.config) env << key << "=" << value << "\n";
    dir_.write(".env", env.str());
    auto init = realtime({"init"});
    if (init.exit_code != 0) throw StepFailed("nself realtime init failed: " + init.err);
    write_setup(file);
    auto start = realtime({"start"});
    if (start.exit_code != 0) {
      throw StepFailed("nself realtime start failed: " + start.err + "\n" + log_tail());
    }
    started_ = true;
  }

  ~ServerProject() { stop(); }

  // Stops the server (waits for its graceful shutdown); idempotent.
  void stop() {
    if (!started_) return;
    started_ = false;
    (void)realtime({"stop"});
  }

  // Stops the server in the background (for `admin: shutdown`); stop() joins it.
  void stop_async() {
    if (!started_) return;
    started_ = false;
    stopping_ = std::async(std::launch::async, [this] { (void)realtime({"stop"}); });
  }

  void join_stop() {
    if (stopping_.valid()) stopping_.wait();
  }

  std::uint16_t port() const { return port_; }

  std::string log_tail() const {
    std::ifstream in(dir_.path() / ".nself/realtime" /
                     ("server-" + std::to_string(port_) + ".log"));
    std::stringstream text;
    text << in.rdbuf();
    std::string all = text.str();
    return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  }

 private:
  ProcessResult realtime(std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), "realtime");
    ProcessOptions options;
    options.working_dir = dir_.path();
    options.timeout = 30s;
    return run_nself(arguments, options);
  }

  void write_setup(const CaseFile& file) {
    store::StoreOptions options;
    options.sqlite_path = (dir_.path() / ".nself/realtime/realtime.db").string();
    auto store = store::open_store(options);
    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    std::map<std::string, std::string> ids;
    for (const auto& channel : file.channels) {
      store::NewChannel row;
      row.name = row.slug = channel.slug;
      row.type = channel.kind == ChannelKind::kPublic    ? core::ChannelType::kPublic
                 : channel.kind == ChannelKind::kPrivate ? core::ChannelType::kPrivate
                                                         : core::ChannelType::kPresence;
      row.is_persistent = !channel.ephemeral;
      row.max_members = channel.max_members;
      auto created = store->create_channel(row, now);
      if (!created.ok())
        throw StepFailed("channel " + channel.slug + ": " + created.error().message);
      ids[channel.slug] = created.value().id;
    }
    for (const auto& member : file.members) {
      store::ChannelMember row;
      row.channel_id = ids.at(member.slug);
      row.user_id = member.user;
      row.can_send = member.can_send;
      row.subscribed_at = now;
      store->upsert_member(row);
    }
    for (const auto& stored : file.stored) {
      store::NewMessage message;
      message.channel_id = ids.at(stored.slug);
      message.user_id = stored.user;
      message.content = stored.content;
      (void)store->append_messages(std::span(&message, 1), now);
    }
    for (const auto& channel : file.channels) {
      if (channel.archived) (void)store->archive_channel(ids.at(channel.slug), now);
    }
  }

  TempDir dir_;
  std::uint16_t port_;
  bool started_ = false;
  std::future<void> stopping_;
};

// One client connection of a case.
struct Connection {
  std::unique_ptr<RawClient> client;
  bool batch = false;
  int http_status = 0;
  std::string http_body;
  std::deque<std::string> lines;  // events of a frame not yet expected (batch mode)
  bool closed = false;            // by the server's close (expected) or ours
  std::string connection_id;
};

// What came next on a connection: an event (a text frame's line), a close, or nothing.
struct Next {
  enum class Kind { kEvent, kClose, kBinary, kNothing } kind = Kind::kNothing;
  std::string text;  // kEvent, kBinary
  std::uint16_t code = 0;
  bool whole_frame = false;  // kEvent: the line was a frame of its own
};

class CaseRunner {
 public:
  CaseRunner(const CaseFile& file, ServerProject& server, int& barrier_counter)
      : file_(file), server_(server), barrier_counter_(barrier_counter) {}

  void run(const Case& c, std::vector<Failure>& failures) {
    int line = c.line;
    try {
      for (const auto& step : c.steps) {
        line = line_ = line_of(step);
        std::visit([this](const auto& typed) { do_step(typed); }, step);
      }
      line = c.line;
      // A case accounts for every frame: whatever is left unexpected fails it.
      for (auto& [name, connection] : connections_) {
        if (connection.closed || connection.http_status != 101) continue;
        barrier(name, connection);
      }
    } catch (const StepFailed& error) {
      failures.push_back({line, file_.file + ":" + std::to_string(line) + ": case '" + c.title +
                                    "': " + error.what()});
    } catch (const std::exception& error) {
      failures.push_back({line, file_.file + ":" + std::to_string(line) + ": case '" + c.title +
                                    "': " + error.what()});
    }
    close_all();
  }

 private:
  Connection& connection(const std::string& name) {
    auto found = connections_.find(name);
    if (found == connections_.end()) throw StepFailed("no connection '" + name + "' is open");
    if (found->second.http_status != 101) {
      throw StepFailed("connection '" + name + "' was refused with HTTP " +
                       std::to_string(found->second.http_status) + ": " + found->second.http_body);
    }
    return found->second;
  }

  const TokenSpec* find_token(std::string_view name) const {
    for (auto it = case_tokens_.rbegin(); it != case_tokens_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    for (const auto& token : file_.tokens) {
      if (token.name == name) return &token;
    }
    return nullptr;
  }

  std::string resolve(std::string_view text) {
    return substitute(text, [this](std::string_view name) -> std::optional<std::string> {
      if (auto found = captures_.find(std::string(name)); found != captures_.end()) {
        return capture_text(found->second);
      }
      if (const TokenSpec* token = find_token(name)) return sign(*token);
      return std::nullopt;
    });
  }

  // The next event or close on `c`, answering pings; nothing after kReadTimeout.
  Next next(Connection& c, std::chrono::milliseconds timeout = kReadTimeout) {
    if (!c.lines.empty()) {
      Next event{Next::Kind::kEvent, std::move(c.lines.front()), 0, false};
      c.lines.pop_front();
      return event;
    }
    if (c.closed) return {};
    auto frame = c.client->next_non_ping(timeout);
    if (!frame) return {};
    switch (frame->kind) {
      case ws::Event::Kind::kText: {
        if (!c.batch) return {Next::Kind::kEvent, std::move(frame->payload), 0, true};
        std::string_view rest = frame->payload;
        while (true) {
          const auto newline = rest.find('\n');
          c.lines.emplace_back(rest.substr(0, newline));
          if (newline == std::string_view::npos) break;
          rest.remove_prefix(newline + 1);
        }
        const bool whole = c.lines.size() == 1;
        Next event{Next::Kind::kEvent, std::move(c.lines.front()), 0, whole};
        c.lines.pop_front();
        return event;
      }
      case ws::Event::Kind::kClose:
        return {Next::Kind::kClose, std::move(frame->payload), frame->close_code, true};
      default:
        return {Next::Kind::kBinary, std::move(frame->payload), 0, true};
    }
  }

  static std::string describe(const Next& got) {
    switch (got.kind) {
      case Next::Kind::kEvent:
        return printable(got.text);
      case Next::Kind::kClose:
        return "close " + std::to_string(got.code) + " \"" + printable(got.text) + "\"";
      case Next::Kind::kBinary:
        return "a non-text frame \"" + printable(got.text) + "\"";
      case Next::Kind::kNothing:
        return "nothing within " + std::to_string(kReadTimeout.count()) + " ms";
    }
    return "";
  }

  void expect_event(const std::string& conn, const std::string& expected) {
    Connection& c = connection(conn);
    const Next got = next(c);
    if (trace_) {
      std::fprintf(stderr, "trace %s:%d %s <- %s\n", file_.file.c_str(), line_, conn.c_str(),
                   describe(got).c_str());
    }
    if (got.kind == Next::Kind::kClose) c.closed = true;
    if (got.kind != Next::Kind::kEvent) {
      throw StepFailed("on " + conn + "\n  expected: " + expected +
                       "\n  actual:   " + describe(got));
    }
    const std::string difference = match_event(expected, got.text, captures_);
    if (!difference.empty()) {
      throw StepFailed("on " + conn + ": " + difference + "\n  expected: " + expected +
                       "\n  actual:   " + printable(got.text));
    }
    note_auth_ok(conn, c, got.text);
  }

  // Remembers the connection id of an auth_ok (for `admin: disconnect`).
  void note_auth_ok(const std::string& conn, Connection& c, const std::string& text) {
    boost::system::error_code error;
    auto value = json::parse(text, error);
    if (error || !value.is_object()) return;
    const auto& object = value.as_object();
    if (object.contains("type") && object.at("type") == "auth_ok" &&
        object.contains("connection_id") && object.at("connection_id").is_string()) {
      c.connection_id = std::string(object.at("connection_id").as_string());
      captures_[conn + ".connection_id"] = object.at("connection_id");
    }
  }

  // The barrier: a ping with a ref no case uses, whose pong must be the very
  // next event (an unauthenticated connection answers it with its error).
  void barrier(const std::string& conn, Connection& c) {
    const std::string ref = "barrier-" + std::to_string(++barrier_counter_);
    c.client->send_text(R"({"type":"ping","ref":")" + ref + R"("})");
    const Next got = next(c);
    if (got.kind == Next::Kind::kClose) c.closed = true;
    Captures ignored;
    if (got.kind == Next::Kind::kEvent &&
        (match_event(R"({"type":"pong","ref":")" + ref + R"("})", got.text, ignored).empty() ||
         match_event(R"({"type":"error","ref":")" + ref +
                         R"(","code":"unauthenticated","message":"<string>"})",
                     got.text, ignored)
             .empty())) {
      return;
    }
    throw StepFailed("on " + conn + ": expected nothing more, got " + describe(got));
  }

  void do_step(const Connect& step) {
    if (connections_.count(step.conn) != 0 && !connections_.at(step.conn).closed) {
      throw StepFailed("connection '" + step.conn + "' is already open");
    }
    Connection c;
    c.batch = step.batch;
    c.client = std::make_unique<RawClient>(server_.port());
    std::string token;
    if (step.mode == Connect::Mode::kAs) token = sign(step.token);
    if (step.mode == Connect::Mode::kToken) {
      const TokenSpec* spec = find_token(step.token_name);
      if (spec == nullptr) throw StepFailed("no token named '" + step.token_name + "'");
      token = sign(*spec);
    }
    std::vector<std::string> query;
    std::string headers;
    if (!token.empty() && step.via == Via::kQuery) query.push_back("token=" + url_encode(token));
    if (!token.empty() && step.via == Via::kHeader)
      headers += "Authorization: Bearer " + token + "\r\n";
    if (step.batch) query.push_back("batch=1");
    if (!step.origin.empty()) headers += "Origin: " + step.origin + "\r\n";
    std::string path = "/";
    for (std::size_t index = 0; index < query.size(); ++index) {
      path += (index == 0 ? "?" : "&") + query[index];
    }
    const HttpReply reply = c.client->handshake(path, headers);
    c.http_status = reply.status;
    c.http_body = reply.body;
    auto& placed = connections_[step.conn] = std::move(c);
    if (step.mode != Connect::Mode::kAs) return;
    if (placed.http_status != 101) {
      throw StepFailed("the upgrade as " + step.token.user + " was refused with HTTP " +
                       std::to_string(placed.http_status) + ": " + placed.http_body);
    }
    if (step.via == Via::kMessage) {
      placed.client->send_text(R"({"type":"auth","token":")" + token + R"("})");
    }
    json::object expected{{"type", "auth_ok"},
                          {"user_id", step.token.user},
                          {"connection_id", "<uuid>"},
                          {"expires_at", step.token.exp_seconds ? "<ts>" : nullptr}};
    expect_event(step.conn, json::serialize(expected));
  }

  void do_step(const Send& step) {
    Connection& c = connection(step.conn);
    const std::string text = resolve(step.text);
    for (int index = 0; index < step.times; ++index) c.client->send_text(text);
    if (asks_for_batch_mode(text)) c.batch = true;
  }

  // An auth message with "batch":true turns batch mode on (docs/PROTOCOL.md
  // "Batching"), as batch=1 on the upgrade does.
  static bool asks_for_batch_mode(const std::string& text) {
    boost::system::error_code error;
    const boost::json::value value = boost::json::parse(text, error);
    if (error || !value.is_object()) return false;
    const auto& object = value.get_object();
    const auto* type = object.if_contains("type");
    const auto* batch = object.if_contains("batch");
    return type != nullptr && type->is_string() && type->get_string() == "auth" &&
           batch != nullptr && batch->is_bool() && batch->get_bool();
  }

  void do_step(const SendFrame& step) {
    Connection& c = connection(step.conn);
    std::string frame;
    frame.push_back(static_cast<char>((step.fin ? 0x80 : 0) | step.opcode));
    const std::size_t size = step.payload.size();
    const char mask_bit = step.masked ? static_cast<char>(0x80) : 0;
    if (size <= 125) {
      frame.push_back(static_cast<char>(mask_bit | static_cast<char>(size)));
    } else if (size <= 0xFFFF) {
      frame.push_back(static_cast<char>(mask_bit | 126));
      frame.push_back(static_cast<char>(size >> 8));
      frame.push_back(static_cast<char>(size & 0xFF));
    } else {
      frame.push_back(static_cast<char>(mask_bit | 127));
      for (int shift = 56; shift >= 0; shift -= 8) {
        frame.push_back(static_cast<char>((std::uint64_t{size} >> shift) & 0xFF));
      }
    }
    if (!step.masked) {
      c.client->send_raw(frame + step.payload);
      return;
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (std::size_t index = 0; index < size; ++index) {
      frame.push_back(static_cast<char>(step.payload[index] ^ mask[index % 4]));
    }
    c.client->send_raw(frame);
  }

  void do_step(const Expect& step) {
    for (int index = 0; index < step.times; ++index) expect_event(step.conn, step.json);
  }

  void do_step(const ExpectBatch& step) {
    Connection& c = connection(step.conn);
    if (!c.batch) throw StepFailed("expect-batch: on a connection without batch=1");
    if (!c.lines.empty()) {
      throw StepFailed("expect-batch: the previous frame still has events: " +
                       printable(c.lines.front()));
    }
    const Next first = next(c);
    if (first.kind != Next::Kind::kEvent) {
      throw StepFailed("on " + step.conn + ": expected a frame of " +
                       std::to_string(step.json.size()) + " events, got " + describe(first));
    }
    std::vector<std::string> events{first.text};
    while (!c.lines.empty()) {
      events.push_back(std::move(c.lines.front()));
      c.lines.pop_front();
    }
    std::string actual;
    for (const auto& event : events) actual += (actual.empty() ? "" : "\\n") + printable(event);
    if (events.size() != step.json.size()) {
      throw StepFailed("on " + step.conn + ": expected a frame of " +
                       std::to_string(step.json.size()) + " events, got " +
                       std::to_string(events.size()) + ": " + actual);
    }
    for (std::size_t index = 0; index < events.size(); ++index) {
      const std::string difference = match_event(step.json[index], events[index], captures_);
      if (!difference.empty()) {
        throw StepFailed("on " + step.conn + ", event " + std::to_string(index + 1) +
                         " of the frame: " + difference + "\n  actual frame: " + actual);
      }
    }
  }

  void do_step(const ExpectNone& step) { barrier(step.conn, connection(step.conn)); }

  void do_step(const ExpectClose& step) {
    Connection& c = connection(step.conn);
    const Next got = next(c);
    if (got.kind != Next::Kind::kClose || got.code != step.code) {
      throw StepFailed("on " + step.conn + ": expected close " + std::to_string(step.code) +
                       ", got " + describe(got));
    }
    c.closed = true;
    // Answer the close as a client does, then the server ends the TCP connection.
    try {
      c.client->send_close(step.code);
    } catch (const std::exception&) {
      // The server may have closed the socket already.
    }
    if (!c.client->wait_eof(kReadTimeout)) {
      throw StepFailed("on " + step.conn +
                       ": the server did not end the connection after its close");
    }
  }

  void do_step(const ExpectHttp& step) {
    auto found = connections_.find(step.conn);
    if (found == connections_.end()) throw StepFailed("no connection '" + step.conn + "'");
    if (found->second.http_status != step.status) {
      throw StepFailed("on " + step.conn + ": expected HTTP " + std::to_string(step.status) +
                       ", got " + std::to_string(found->second.http_status) + " " +
                       found->second.http_body);
    }
    found->second.closed = true;
  }

  void do_step(const Advance& step) { std::this_thread::sleep_for(step.by); }

  void do_step(const Close& step) {
    Connection& c = connection(step.conn);
    if (c.closed) throw StepFailed("connection '" + step.conn + "' is closed already");
    c.closed = true;
    if (step.drop) {
      c.client.reset();
      return;
    }
    c.client->send_close(step.code);
    // The server answers with its close; frames sent before it are dropped:
    // a case expects what it wants before closing.
    const auto deadline = std::chrono::steady_clock::now() + kReadTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto frame = c.client->next(kReadTimeout);
      if (!frame) break;
      if (frame->kind == ws::Event::Kind::kClose) {
        if (frame->close_code != step.code) {
          throw StepFailed("the server answered close " + std::to_string(step.code) + " with " +
                           std::to_string(frame->close_code));
        }
        c.client->wait_eof(kReadTimeout);
        return;
      }
    }
    throw StepFailed("the server did not answer the close of " + step.conn);
  }

  void do_step(const DefineToken& step) { case_tokens_.push_back(step.token); }

  HttpReply admin_request(const std::string& method, const std::string& path,
                          const std::string& body = {}) {
    RawClient http(server_.port());
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" +
                          "X-Realtime-Admin-Secret: " + kAdminSecret + "\r\nConnection: close\r\n";
    if (!body.empty()) {
      request +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    }
    request += "\r\n" + body;
    http.send_raw(request);
    HttpReply reply = http.read_http_reply();
    if (reply.status < 200 || reply.status > 299) {
      throw StepFailed("admin " + method + " " + path + " answered " +
                       std::to_string(reply.status) + ": " + reply.body);
    }
    return reply;
  }

  void do_step(const Admin& step) {
    const auto& args = step.arguments;
    if (step.operation == "disconnect") {
      Connection& c = connection(args[0]);
      if (c.connection_id.empty()) throw StepFailed("no auth_ok seen on " + args[0]);
      admin_request("DELETE", "/api/connections/" + c.connection_id);
    } else if (step.operation == "delete-channel") {
      admin_request("DELETE", "/api/channels/" + args[0]);
    } else if (step.operation == "archive-channel") {
      admin_request("POST", "/api/channels/" + args[0] + "/archive");
    } else if (step.operation == "publish") {
      admin_request("POST", "/api/channels/" + args[0] + "/messages",
                    R"({"content":)" + resolve(args[1]) + "}");
    } else if (step.operation == "broadcast") {
      json::object body{{"event", args[1]}};
      body["channel"] = args[0] == "*" ? json::value(nullptr) : json::value(args[0]);
      body["payload"] = json::parse(resolve(args[2]));
      admin_request("POST", "/api/broadcasts", json::serialize(body));
    } else if (step.operation == "member") {
      json::object body{{"user_id", args[1]}, {"can_send", args.size() < 3}};
      admin_request("POST", "/api/channels/" + args[0] + "/members", json::serialize(body));
    } else if (step.operation == "remove-member") {
      admin_request("DELETE", "/api/channels/" + args[0] + "/members/" + args[1]);
    } else if (step.operation == "shutdown") {
      server_.stop_async();
    }
  }

  void close_all() {
    for (auto& [name, c] : connections_) {
      if (c.closed || c.http_status != 101 || !c.client) continue;
      try {
        c.client->send_close(1000);
        c.client->wait_eof(kReadTimeout);
      } catch (const std::exception&) {
        // Already gone.
      }
    }
    connections_.clear();
  }

  const CaseFile& file_;
  ServerProject& server_;
  int& barrier_counter_;
  std::map<std::string, Connection> connections_;
  std::vector<TokenSpec> case_tokens_;
  Captures captures_;
  int line_ = 0;  // of the step running
  // NSELF_PROTOCOL_TRACE=1 prints every event expected (while writing cases).
  const bool trace_ = std::getenv("NSELF_PROTOCOL_TRACE") != nullptr;
};

}  // namespace

FileRun run_file_over_sockets(const CaseFile& file) {
  FileRun run;
  std::unique_ptr<ServerProject> server;
  try {
    server = std::make_unique<ServerProject>(file);
  } catch (const std::exception& error) {
    run.failures.push_back({0, file.file + ": setup: " + error.what()});
    return run;
  }
  int barrier_counter = 0;
  for (const auto& c : file.cases) {
    CaseRunner(file, *server, barrier_counter).run(c, run.failures);
    ++run.cases_run;
  }
  server->join_stop();
  if (!run.failures.empty()) run.server_log = server->log_tail();
  server->stop();
  return run;
}

}  // namespace nself::test::protocol
