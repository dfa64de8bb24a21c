#pragma once
// A real HTTP/1.1 server for the http client's tests: loopback TCP (127.0.0.1, one or more ports)
// and optionally a unix socket, served by its own io_context on its own thread, so whatever the
// client under test does on its loop, the server keeps answering. The path picks the behaviour:
//   /ok            200 with a short body
//   /status/N      status N
//   /hang          reads the request and never answers (until the client hangs up)
//   /slow          200 with a 50-byte body trickled one byte every 100 ms
//   /huge          200 with a 100 MB body, streamed; records how much went out before the client left
//   /close         closes the connection without answering
//   /redirect      302 to /ok;  /loop: 302 to itself; /to-echo: 302 to /echo;
//                  /to-port/PORT: 307 to http://127.0.0.1:PORT/echo (another origin)
//   /echo          200; headers x-echo-method and x-echo-<name> for each request header; body: the
//                  raw request as received (head and body)
//   /close-after   200 (keep-alive by its headers), then the server closes the idle connection
//   /drop-next     200; the next request on that connection is read and dropped (closed unanswered):
//                  a keep-alive timeout racing the client's reuse
//   /bye           200 with "Connection: close", then closes
//   /http10        an HTTP/1.0 200 without keep-alive; the connection is left open (the client must
//                  not reuse it anyway)
//   /chunked       200 with a chunked body "hello world"
//   /interim       100 Continue first, then 200 "final"
// Connections are kept alive, so tests can count connection reuse. Everything stops (and every
// connection closes) when the server is destroyed.

#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tend::test {

class HttpTestServer {
 public:
  struct Options {
    int tcp_listeners = 1;    // each on its own port: distinct "hosts" for curl's per-host limits
    std::string unix_socket;  // also listen here when set
  };

  static constexpr std::uint64_t huge_size = 100ULL * 1024 * 1024;

  HttpTestServer() : HttpTestServer(Options{}) {}

  explicit HttpTestServer(Options options) : options_(std::move(options)) {
    namespace asio = boost::asio;
    for (int i = 0; i < options_.tcp_listeners; ++i) {
      asio::ip::tcp::acceptor acceptor(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      ports_.push_back(acceptor.local_endpoint().port());
      asio::co_spawn(io_, accept_loop(std::move(acceptor)), asio::detached);
    }
    if (!options_.unix_socket.empty()) {
      ::unlink(options_.unix_socket.c_str());
      asio::local::stream_protocol::acceptor acceptor(io_,
                                                      asio::local::stream_protocol::endpoint(options_.unix_socket));
      asio::co_spawn(io_, accept_loop(std::move(acceptor)), asio::detached);
    }
    thread_ = std::thread([this] { io_.run(); });
  }

  ~HttpTestServer() {
    io_.stop();
    thread_.join();
    if (!options_.unix_socket.empty()) {
      ::unlink(options_.unix_socket.c_str());
    }
  }

  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  /// The port of TCP listener `i`.
  [[nodiscard]] std::uint16_t port(std::size_t i = 0) const { return ports_.at(i); }
  /// "http://127.0.0.1:PORT" + path, on listener `i`.
  [[nodiscard]] std::string url(std::string_view path, std::size_t i = 0) const {
    return "http://127.0.0.1:" + std::to_string(port(i)) + std::string(path);
  }
  /// Connections accepted so far (all listeners).
  [[nodiscard]] int connections() const { return connections_.load(); }
  /// Complete requests read so far.
  [[nodiscard]] int requests() const { return requests_.load(); }
  /// Idle connections the server closed itself (/close-after) and requests it dropped (/drop-next).
  [[nodiscard]] int server_closes() const { return server_closes_.load(); }
  /// Body bytes of /slow written so far (all requests).
  [[nodiscard]] int slow_bytes_sent() const { return slow_bytes_sent_.load(); }
  /// Body bytes of /huge written before the client went away (or all of them).
  [[nodiscard]] std::uint64_t huge_bytes_sent() const { return huge_bytes_sent_.load(); }
  /// True once a /huge response failed because the client closed the connection early.
  [[nodiscard]] bool huge_client_left() const { return huge_client_left_.load(); }

 private:
  struct Incoming {
    std::string method;
    std::string path;
    std::string raw;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;
    bool keep_alive = true;
  };

  template <class Acceptor>
  boost::asio::awaitable<void> accept_loop(Acceptor acceptor) {
    namespace asio = boost::asio;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted) {
        co_return;
      }
      if (ec) {
        continue;  // e.g. EMFILE under a benchmark: keep serving the others
      }
      ++connections_;
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  static std::string lower(std::string s) {
    for (char& c : s) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
  }

  static Incoming parse_head(std::string head) {
    Incoming in;
    in.raw = head;
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const std::size_t sp1 = request_line.find(' ');
    const std::size_t sp2 = request_line.rfind(' ');
    in.method = request_line.substr(0, sp1);
    in.path = sp1 != std::string::npos && sp2 > sp1 ? request_line.substr(sp1 + 1, sp2 - sp1 - 1) : "/";
    if (request_line.substr(sp2 + 1) == "HTTP/1.0") {
      in.keep_alive = false;
    }
    std::size_t pos = line_end + 2;
    while (pos < head.size()) {
      line_end = head.find("\r\n", pos);
      if (line_end == std::string::npos || line_end == pos) {
        break;
      }
      const std::string line = head.substr(pos, line_end - pos);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        in.headers.emplace_back(lower(line.substr(0, colon)), value);
      }
      pos = line_end + 2;
    }
    for (const auto& [name, value] : in.headers) {
      if (name == "connection" && lower(value) == "close") {
        in.keep_alive = false;
      }
    }
    return in;
  }

  static std::size_t content_length(const Incoming& in) {
    for (const auto& [name, value] : in.headers) {
      if (name == "content-length") {
        return std::min<std::size_t>(std::stoul(value), 16 * 1024 * 1024);
      }
    }
    return 0;
  }

  template <class Socket>
  boost::asio::awaitable<void> session(Socket socket) {
    namespace asio = boost::asio;
    std::string buffer;
    bool drop_next = false;
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n",
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      Incoming in = parse_head(buffer.substr(0, n));
      buffer.erase(0, n);
      const std::size_t length = content_length(in);
      while (buffer.size() < length) {
        std::array<char, 16384> chunk{};
        auto [read_ec, got] = co_await socket.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
        if (read_ec) {
          co_return;
        }
        buffer.append(chunk.data(), got);
      }
      in.body = buffer.substr(0, length);
      buffer.erase(0, length);
      ++requests_;
      if (drop_next) {
        ++server_closes_;
        co_return;
      }
      if (!co_await respond(socket, in, drop_next)) {
        co_return;
      }
    }
  }

  template <class Socket>
  static boost::asio::awaitable<bool> write_all(Socket& socket, std::string_view data) {
    namespace asio = boost::asio;
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return !ec;
  }

  static std::string head(int status, const std::string& reason, std::size_t length, const Incoming& in,
                          const std::string& extra = {}) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Length: " + std::to_string(length) +
           "\r\n" + extra + (in.keep_alive ? "" : "Connection: close\r\n") + "\r\n";
  }

  template <class Socket>
  boost::asio::awaitable<bool> reply(Socket& socket, const Incoming& in, int status, const std::string& reason,
                                     const std::string& body, const std::string& extra = {}) {
    std::string out = head(status, reason, body.size(), in, extra);
    if (in.method != "HEAD") {
      out += body;
    }
    co_return co_await write_all(socket, out) && in.keep_alive;
  }

  template <class Socket>
  boost::asio::awaitable<bool> respond(Socket& socket, const Incoming& in, bool& drop_next) {
    namespace asio = boost::asio;
    using namespace std::chrono_literals;
    const std::string path = in.path.substr(0, in.path.find('?'));
    if (path == "/ok") {
      co_return co_await reply(socket, in, 200, "OK", "hello from the test server\n");
    }
    if (path.rfind("/status/", 0) == 0) {
      const int status = std::stoi(path.substr(8));
      co_return co_await reply(socket, in, status, "Status", "status " + std::to_string(status) + "\n");
    }
    if (path == "/hang") {
      // Never answer; just notice when the client gives up.
      std::array<char, 1024> sink{};
      for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec) {
          co_return false;
        }
      }
    }
    if (path == "/close") {
      co_return false;
    }
    if (path == "/close-after") {
      co_await reply(socket, in, 200, "OK", "closing\n");
      boost::system::error_code ignored;
      socket.close(ignored);
      ++server_closes_;
      co_return false;
    }
    if (path == "/drop-next") {
      drop_next = true;
      co_return co_await reply(socket, in, 200, "OK", "next one is dropped\n");
    }
    if (path == "/bye") {
      co_await reply(socket, in, 200, "OK", "bye\n", "Connection: close\r\n");
      co_return false;
    }
    if (path == "/http10") {
      co_await write_all(socket, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nold\r\n");
      co_return true;
    }
    if (path == "/chunked") {
      co_return co_await write_all(socket,
                                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") &&
          in.keep_alive;
    }
    if (path == "/interim") {
      if (!co_await write_all(socket, "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")) {
        co_return false;
      }
      co_return co_await reply(socket, in, 200, "OK", "final\n");
    }
    if (path == "/redirect") {
      co_return co_await reply(socket, in, 302, "Found", "", "Location: /ok\r\n");
    }
    if (path == "/to-echo") {  // same origin
      co_return co_await reply(socket, in, 302, "Found", "", "Location: /echo\r\n");
    }
    if (path.rfind("/to-port/", 0) == 0) {  // another origin: /to-port/PORT -> http://127.0.0.1:PORT/echo
      co_return co_await reply(socket, in, 307, "Temporary Redirect", "",
                               "Location: http://127.0.0.1:" + path.substr(9) + "/echo\r\n");
    }
    if (path == "/loop") {
      co_return co_await reply(socket, in, 302, "Found", "", "Location: /loop\r\n");
    }
    if (path == "/echo") {
      std::string extra = "x-echo-method: " + in.method + "\r\n";
      for (const auto& [name, value] : in.headers) {
        extra += "x-echo-" + name + ": " + value + "\r\n";
      }
      co_return co_await reply(socket, in, 200, "OK", in.raw + in.body, extra);
    }
    if (path == "/slow") {
      constexpr std::size_t length = 50;
      if (!co_await write_all(socket, head(200, "OK", length, in))) {
        co_return false;
      }
      asio::steady_timer timer(socket.get_executor());
      for (std::size_t i = 0; i < length; ++i) {
        timer.expires_after(100ms);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!co_await write_all(socket, "s")) {
          co_return false;
        }
        ++slow_bytes_sent_;
      }
      co_return in.keep_alive;
    }
    if (path == "/huge") {
      if (!co_await write_all(socket, head(200, "OK", huge_size, in))) {
        co_return false;
      }
      const std::string chunk(64 * 1024, 'x');
      for (std::uint64_t sent = 0; sent < huge_size; sent += chunk.size()) {
        if (!co_await write_all(socket, chunk)) {
          huge_client_left_ = true;
          co_return false;
        }
        huge_bytes_sent_ += chunk.size();
      }
      co_return in.keep_alive;
    }
    co_return co_await reply(socket, in, 404, "Not Found", "no such test path\n");
  }

  Options options_;
  boost::asio::io_context io_;
  std::vector<std::uint16_t> ports_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> server_closes_{0};
  std::atomic<int> slow_bytes_sent_{0};
  std::atomic<std::uint64_t> huge_bytes_sent_{0};
  std::atomic<bool> huge_client_left_{false};
  std::thread thread_;
};

}  // namespace tend::test
