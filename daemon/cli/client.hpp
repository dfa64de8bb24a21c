#pragma once
// The client side of the status socket: one request line out, one reply line back.

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "cli/spec.hpp"

namespace tend::cli {

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
