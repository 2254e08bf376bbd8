#include "server/upgrade_token.hpp"

#include <boost/beast/core/string.hpp>

#include "server/http_router.hpp"

namespace nself::server {

std::optional<std::string> upgrade_token(std::string_view authorization, std::string_view target) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size() &&
      boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    return std::string(authorization.substr(kBearer.size()));
  }
  return query_param(split_target(target).query, "token");
}

}  // namespace nself::server
