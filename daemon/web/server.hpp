#pragma once
// The HTTP listener of `daemon.metrics.listen`: HTTP/1.1 on the daemon's loop (Boost.Beast's
// parser; no thread per connection), GET and HEAD only, nothing read from disk.
//
// Defence against slow and hostile clients, each a limit below:
//   * a request line over 8 KiB gets 414, a header block over 8 KiB 431, a body 413, a
//     method other than GET/HEAD 405 (Allow: GET, HEAD), a bad target 400;
//   * the whole header must arrive within header_timeout of the connection (or of the first
//     byte of a kept-alive request): slowloris clients are closed;
//   * an idle kept-alive connection closes after idle_timeout;
//   * a response that makes no progress for write_timeout (a client that never reads) is
//     dropped, its memory freed;
//   * connections are capped in total and per client address; when a cap is reached the
//     oldest connection that is idle or still sending its header is closed to make room, and
//     only when every connection is busy is the newcomer refused (503, closed at once);
//   * handlers run on the loop (see router.hpp for their budget); one that never answers gets
//     a 503 after handler_timeout.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/expected.hpp"
#include "util/listen.hpp"
#include "web/router.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::web {

struct Limits {
  std::size_t max_request_line = std::size_t{8} * 1024;  // SPEC: 414 above
  std::size_t max_header_bytes = std::size_t{8} * 1024;  // SPEC: 431 above
  std::size_t max_connections = 128;
  std::size_t max_connections_per_client = 16;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds write_timeout{10'000};  // without any progress
  std::chrono::milliseconds handler_timeout{30'000};
};

struct Options {
  std::string host = "127.0.0.1";  // an IP address (v4, or v6 without brackets)
  std::uint16_t port = 9717;       // 0: any free port (tests)
  Limits limits;
};

/// `daemon.metrics.listen` is read by tend::parse_listen (util/listen.hpp), as the config checks it.
using tend::parse_listen;

/// Counters for tend's own metrics (tend_http_*).
struct Stats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;    // turned away: every connection busy
  std::uint64_t evicted = 0;    // idle or unfinished connections closed to make room
  std::uint64_t timed_out = 0;  // header, write or handler timeouts
  std::uint64_t requests = 0;   // requests answered (any status)
  std::uint64_t rejected = 0;   // answered with 4xx by the server itself (bad method, size, path)
  std::size_t open = 0;         // connections open now
};

class Server {
 public:
  Server(boost::asio::io_context& io, Options options, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Bind and listen. Throws std::runtime_error naming the address on failure (start-up).
  void start();
  /// Move the listener to options' address and take its limits (a reload). The address is
  /// bound before the old listener closes; on failure the old listener stays and the error is
  /// returned. Connections already open finish under the limits they started with. Also starts
  /// a stopped server.
  std::optional<std::string> rebind(const Options& options);
  /// Stop listening and close every connection.
  void stop();

  [[nodiscard]] bool listening() const;
  /// The bound address (port resolved when 0 was asked for); unset when not listening.
  [[nodiscard]] std::optional<boost::asio::ip::tcp::endpoint> endpoint() const;
  [[nodiscard]] Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tend::web
