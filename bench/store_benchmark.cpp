// Store throughput on its own, without sockets or the event loop: how many
// messages per second Store::append_messages stores in batches of a given
// size, on SQLite (a fresh file) or PostgreSQL (--database-url, a database
// the benchmark may write to; it creates its own channels).
//
//   build/release/bench/store_benchmark [--database-url URL] [--batch N]
//       [--channels C] [--seconds S] [--content-bytes B]
//
// Prints one line per run: backend, batch size, messages/s, mean batch time.
// Figures go to docs/BENCHMARKS.md ("Store batching").

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "store/uuid.hpp"

namespace {

using Clock = std::chrono::steady_clock;

nself::store::Timestamp now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("store_benchmark: Store::append_messages throughput");
  std::string database_url;
  int batch = 256;
  int channels = 1;
  double seconds = 5;
  int content_bytes = 40;
  std::string sqlite_dir = "/tmp";
  app.add_option("--database-url", database_url, "PostgreSQL URL; empty: SQLite");
  app.add_option("--batch", batch, "Messages per append_messages call")
      ->check(CLI::Range(1, 100000));
  app.add_option("--channels", channels, "Channels the messages rotate over")
      ->check(CLI::Range(1, 10000));
  app.add_option("--seconds", seconds, "Measured seconds")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--content-bytes", content_bytes, "Size of each message's JSON string content")
      ->check(CLI::Range(2, 1 << 20));
  app.add_option("--sqlite-dir", sqlite_dir, "Folder of the temporary SQLite file");
  CLI11_PARSE(app, argc, argv);

  nself::store::StoreOptions options;
  options.database_url = database_url;
  std::filesystem::path sqlite_path;
  if (database_url.empty()) {
    sqlite_path =
        std::filesystem::path(sqlite_dir) / ("nself-store-bench-" + nself::store::new_uuid());
    options.sqlite_path = (sqlite_path / "realtime.db").string();
  }
  int status = 0;
  try {
    auto store = nself::store::open_store(options);
    store->migrate();
    const std::string run = nself::store::new_uuid().substr(0, 8);
    std::vector<std::string> channel_ids;
    for (int i = 0; i < channels; ++i) {
      nself::store::NewChannel channel;
      channel.slug = fmt::format("bench-store-{}-{}", run, i);
      channel.name = channel.slug;
      channel_ids.push_back(store->create_channel(channel, now_ms()).value().id);
    }
    const std::string content =
        "\"" + std::string(static_cast<std::size_t>(content_bytes) - 2, 'x') + "\"";
    std::vector<nself::store::NewMessage> messages(static_cast<std::size_t>(batch));
    for (std::size_t i = 0; i < messages.size(); ++i) {
      messages[i].channel_id = channel_ids[i % channel_ids.size()];
      messages[i].user_id = fmt::format("bench-{}", i);
      messages[i].content = content;
    }
    // Warm-up: the first batches create the tables' first pages.
    for (int i = 0; i < 3; ++i) store->append_messages(messages, now_ms());
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::duration<double>(seconds);
    std::int64_t stored = 0;
    std::int64_t batches = 0;
    while (Clock::now() < deadline) {
      stored += static_cast<std::int64_t>(store->append_messages(messages, now_ms()).size());
      ++batches;
    }
    const double took = std::chrono::duration<double>(Clock::now() - started).count();
    fmt::print(
        "{} batch={} channels={} content={}B: {:.0f} msgs/s, {:.3f} ms per batch ({} "
        "messages in {:.2f} s)\n",
        store->backend(), batch, channels, content_bytes, stored / took,
        took * 1000 / static_cast<double>(batches), stored, took);
    if (!database_url.empty()) {
      for (const auto& id : channel_ids) store->delete_channel(id);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "store_benchmark: {}\n", error.what());
    status = 1;
  }
  if (!sqlite_path.empty()) std::filesystem::remove_all(sqlite_path);
  return status;
}
