// Keeps the peak connection count across restarts: written to
// realtime.server_state every AdminApiOptions::peak_save_interval when it
// grew, and once more when the API is destroyed.

#include "server/api/admin_state.hpp"

namespace nself::server {

using namespace api;

void AdminApi::State::save_peak() {
  const std::uint64_t peak = metrics.peak_connections();
  if (peak <= saved_peak) return;
  saved_peak = peak;
  store.submit([peak](store::Store* store) {
    if (store == nullptr) return;
    try {
      auto current = store->get_state(kPeakConnectionsKey);
      std::uint64_t stored = 0;
      if (current) stored = static_cast<std::uint64_t>(parse_integer(*current).value_or(0));
      if (peak > stored) store->set_state(kPeakConnectionsKey, std::to_string(peak));
    } catch (const store::StoreError& error) {
      spdlog::warn("cannot save the peak connection count: {}", error.what());
    }
  });
}

void AdminApi::State::schedule_peak_save() {
  peak_timer.expires_after(options.peak_save_interval);
  std::weak_ptr<State> weak = shared_from_this();
  peak_timer.async_wait([weak](const boost::system::error_code& error) {
    auto self = weak.lock();
    if (error || !self || self->stopped) return;
    self->save_peak();
    self->schedule_peak_save();
  });
}

}  // namespace nself::server
