#pragma once
// The client side of the status socket: one request line out, one reply line back.

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace tend::cli {

/// Exit codes of `tend` (SPEC "Socket and CLI").
enum Exit : int { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3 };

struct Response {
  int exit = exit_ok;         // exit_unreachable when the daemon could not be reached
  std::string error;          // transport error, with the socket path
  boost::json::object reply;  // the daemon's reply
};

/// Send `request` to the daemon at `socket_path` and wait for its reply (no time limit unless
/// `timeout` is given: `run --wait` may take as long as the job).
Response call(const std::string& socket_path, const boost::json::object& request,
              std::optional<std::chrono::milliseconds> timeout = std::nullopt);

}  // namespace tend::cli
