#pragma once

#include <string>

namespace tend {

/// A URL with everything that may hold a secret removed: "scheme://host[:port]" (no userinfo,
/// path, query or fragment), for logs, status and alerts. Not a URL at all: "(redacted)".
std::string redact_url(const std::string& url);

}  // namespace tend
