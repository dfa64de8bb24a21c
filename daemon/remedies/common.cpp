#include "remedies/common.hpp"

#include <string.h>  // sigabbrev_np (GNU)

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "util/duration.hpp"

namespace tend::remedies::detail {

std::string strip_ansi(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\x1b') {
      out.push_back(text[i]);
      continue;
    }
    // CSI: ESC [ parameters/intermediates, then one final byte in @..~ (colours, cursor moves).
    if (i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < text.size() && (text[j] < '@' || text[j] > '~')) {
        ++j;
      }
      i = j;  // the final byte (or the end)
      continue;
    }
    // Any other escape: drop ESC and the byte after it.
    ++i;
  }
  return out;
}

std::string tail(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  std::string_view kept = text.substr(text.size() - limit);
  // Start at a whole line when one begins in the first quarter of what is kept.
  if (auto nl = kept.find('\n'); nl != std::string_view::npos && nl < limit / 4) {
    kept.remove_prefix(nl + 1);
  }
  return "[... " + std::to_string(text.size() - kept.size()) + " bytes before ...]\n" + std::string(kept);
}

std::string ending(const process::Result& result, std::chrono::milliseconds timeout) {
  if (!result.spawn_error.empty()) {
    return result.spawn_error;
  }
  if (result.timed_out) {
    return "timeout after " + format_duration(timeout);
  }
  if (result.exit_code) {
    return "exit " + std::to_string(*result.exit_code);
  }
  if (result.signal) {
    const char* abbrev = ::sigabbrev_np(*result.signal);
    return abbrev != nullptr ? std::string("killed by SIG") + abbrev
                             : "killed by signal " + std::to_string(*result.signal);
  }
  return "ended without a status";
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

void post_outcome(boost::asio::io_context& io, Done done, Outcome outcome) {
  boost::asio::post(io, [done = std::move(done), outcome = std::move(outcome)]() mutable { done(std::move(outcome)); });
}

}  // namespace tend::remedies::detail
