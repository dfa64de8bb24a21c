#include "util/redact.hpp"

namespace tend {

std::string redact_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) {
    return "(redacted)";
  }
  const auto authority_start = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string::npos) {
    authority_end = url.size();
  }
  std::string authority = url.substr(authority_start, authority_end - authority_start);
  // user:password@host → host
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
  }
  return url.substr(0, authority_start) + authority;
}

}  // namespace tend
