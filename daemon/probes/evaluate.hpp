#pragma once
// Judging one HTTP response against a probe's expectations: a pure function, one reason.

#include <regex.h>

#include <memory>
#include <optional>
#include <string>

#include "http/client.hpp"
#include "probes/config.hpp"

namespace tend::probes {

/// A compiled `body_regex` (POSIX extended: linear-time matching on bodies up to 1 MiB, no
/// recursion that a hostile body could overflow).
class BodyRegex {
 public:
  /// Compile; error text from regerror on failure.
  static Expected<std::shared_ptr<BodyRegex>> compile(const std::string& pattern);
  ~BodyRegex();
  BodyRegex(const BodyRegex&) = delete;
  BodyRegex& operator=(const BodyRegex&) = delete;
  /// True when the pattern matches somewhere in `text`.
  [[nodiscard]] bool search(const std::string& text) const;

 private:
  BodyRegex() = default;
  regex_t re_{};
  bool compiled_ = false;
};

struct Verdict {
  bool up = false;
  std::string reason;  // "" when up; else "connect refused", "status 502", "body mismatch", ...
};

/// The verdict on `resp` for `cfg` (regex may be null when cfg has none).
Verdict evaluate(const ProbeConfig& cfg, const BodyRegex* regex, const http::Response& resp);

/// "2.4s", "850ms": latency as reasons print it.
std::string format_latency(std::chrono::milliseconds ms);

}  // namespace tend::probes
