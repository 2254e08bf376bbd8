#include "server/client_limits.hpp"

#include <algorithm>

namespace nself::server {

using core::ConnectionRefusal;

ClientLimits::ClientLimits(const ServerOptions& options)
    : limits_(core::ConnectionLimitOptions{
          .max_per_address = options.max_connections_per_ip,
          .max_unauthenticated_per_address = options.max_unauthenticated_per_ip,
          .max_unauthenticated = options.max_unauthenticated,
          // Connections that have not sent a request yet: four times the
          // sessions (a burst of new API connections from one backend must
          // fit), and a bound on what idle sockets of one address can hold.
          .max_waiting_per_address = options.max_unauthenticated_per_ip * 4,
          .connects_per_second = options.connects_per_ip_per_second,
      }) {}

ClientLimits::Lease& ClientLimits::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
    unauthenticated_ = std::exchange(other.unauthenticated_, false);
    waiting_ = std::exchange(other.waiting_, false);
  }
  return *this;
}

ConnectionRefusal ClientLimits::Lease::begin_unauthenticated() {
  if (owner_ == nullptr || unauthenticated_) return ConnectionRefusal::kNone;
  std::lock_guard lock(owner_->mutex_);
  const ConnectionRefusal refusal = owner_->limits_.begin_unauthenticated(key_);
  unauthenticated_ = refusal == ConnectionRefusal::kNone;
  return refusal;
}

void ClientLimits::Lease::authenticated() {
  if (owner_ == nullptr || !unauthenticated_) return;
  std::lock_guard lock(owner_->mutex_);
  owner_->limits_.end_unauthenticated(key_);
  unauthenticated_ = false;
}

ConnectionRefusal ClientLimits::Lease::begin_waiting() {
  if (owner_ == nullptr || waiting_) return ConnectionRefusal::kNone;
  std::lock_guard lock(owner_->mutex_);
  const ConnectionRefusal refusal = owner_->limits_.begin_waiting(key_);
  waiting_ = refusal == ConnectionRefusal::kNone;
  return refusal;
}

void ClientLimits::Lease::request_arrived() {
  if (owner_ == nullptr || !waiting_) return;
  std::lock_guard lock(owner_->mutex_);
  owner_->limits_.end_waiting(key_);
  waiting_ = false;
}

void ClientLimits::Lease::release() {
  if (owner_ == nullptr) return;
  authenticated();
  request_arrived();
  {
    std::lock_guard lock(owner_->mutex_);
    owner_->limits_.close(key_);
  }
  owner_ = nullptr;
}

ClientLimits::Admission ClientLimits::open(const std::string& key,
                                           std::chrono::steady_clock::time_point now) {
  Admission admission;
  std::lock_guard lock(mutex_);
  admission.refusal = limits_.open(key, now);
  if (admission.refusal == ConnectionRefusal::kNone) {
    admission.lease.owner_ = this;
    admission.lease.key_ = key;
  } else {
    admission.retry_after_seconds = limits_.retry_after_seconds(key, now);
  }
  return admission;
}

std::size_t ClientLimits::unauthenticated() const {
  std::lock_guard lock(mutex_);
  return limits_.unauthenticated();
}

HttpResponse refusal_response(ConnectionRefusal refusal, long retry_after_seconds,
                              const HttpRequest* request) {
  http::status status = http::status::too_many_requests;
  std::string_view code;
  std::string_view message;
  long retry = 5;
  switch (refusal) {
    case ConnectionRefusal::kTooManyFromAddress:
      code = "too_many_connections";
      message = "too many connections from your address (REALTIME_MAX_CONNECTIONS_PER_IP)";
      break;
    case ConnectionRefusal::kConnectRate:
      code = "too_many_connects";
      message = "connecting too often from your address (REALTIME_CONNECTS_PER_IP_PER_SECOND)";
      retry = std::max(1L, retry_after_seconds);
      break;
    case ConnectionRefusal::kTooManyUnauthenticatedAddress:
      code = "too_many_unauthenticated";
      message =
          "too many connections from your address waiting to authenticate "
          "(REALTIME_MAX_UNAUTHENTICATED_PER_IP)";
      break;
    case ConnectionRefusal::kTooManyUnauthenticated:
    case ConnectionRefusal::kNone:  // not a refusal; never asked
      status = http::status::service_unavailable;
      code = "too_many_unauthenticated";
      message =
          "too many connections waiting to authenticate "
          "(REALTIME_MAX_UNAUTHENTICATED_CONNECTIONS); "
          "send the token with the upgrade, or retry";
      break;
  }
  HttpResponse response = error_response(status, code, message, request);
  response.set(http::field::retry_after, std::to_string(retry));
  response.keep_alive(false);
  return response;
}

}  // namespace nself::server
