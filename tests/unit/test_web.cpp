// The web listener over real loopback sockets (its loop on a thread of its own, the test as a
// plain blocking client), request targets, the HTML building blocks and the pages.

#include <arpa/inet.h>
#include <date/tz.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>
#include <catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "web/charts.hpp"
#include "web/html.hpp"
#include "web/offload.hpp"
#include "web/pages.hpp"
#include "web/server.hpp"
#include "web/target.hpp"

using namespace tend;
using namespace tend::web;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// A Server on its own loop thread; the test talks to it with blocking sockets.
class Loop {
 public:
  explicit Loop(Router router, Limits limits = {}) {
    Options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.limits = limits;
    server_ = std::make_unique<Server>(io_, o, std::move(router));
    server_->start();
    port_ = server_->endpoint()->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Loop() {
    std::promise<void> done;
    asio::post(io_, [&] {
      server_->stop();
      done.set_value();
    });
    done.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// Run fn on the loop and wait for its result.
  template <class F>
  auto call(F fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io_, [&task] { task(); });
    return f.get();
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  Server& server() { return *server_; }
  Stats stats() {
    return call([this] { return server_->stats(); });
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// A connected blocking socket from `from` (any 127.x address is loopback on Linux).
int connect_to(std::uint16_t port, const char* from = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &local.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;  // the server may have closed already (a refused oversized request)
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Read until the peer closes or `timeout` passes; what arrived.
std::string read_until_close(int fd, std::chrono::milliseconds timeout = 5000ms) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1))) <= 0) {
      continue;
    }
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// Read until `count` complete responses (Content-Length framed) have arrived.
std::string read_responses(int fd, int count, std::chrono::milliseconds timeout = 5000ms) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  auto complete = [&] {
    std::size_t pos = 0;
    for (int i = 0; i < count; ++i) {
      const auto end = out.find("\r\n\r\n", pos);
      if (end == std::string::npos) {
        return false;
      }
      const auto cl = out.find("Content-Length: ", pos);
      const std::size_t len = cl < end ? std::stoul(out.substr(cl + 16)) : 0;
      pos = end + 4 + len;
      if (pos > out.size()) {
        return false;
      }
    }
    return true;
  };
  while (!complete() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) {
      continue;
    }
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// One request on a fresh connection ("Connection: close"), the whole answer.
std::string fetch(std::uint16_t port, const std::string& request, const char* from = "127.0.0.1") {
  const int fd = connect_to(port, from);
  send_all(fd, request);
  auto r = read_until_close(fd);
  ::close(fd);
  return r;
}

std::string get(std::uint16_t port, const std::string& target, const std::string& method = "GET") {
  return fetch(port, method + " " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

/// True once the peer has closed (EOF or reset) within timeout.
bool closed_by_peer(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return true;
      }
    }
  }
  return false;
}

template <class P>
bool eventually(P predicate, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return predicate();
}

Router demo_router() {
  Router r;
  r.add("/hello", [](const Request& req) { return Response::text(200, "hello " + req.remote + "\n"); });
  r.add("/page", [](const Request&) { return Response::html(200, "<!doctype html><p>hi</p>"); });
  r.add("/big", [](const Request&) { return Response::text(200, std::string(64u << 20, 'x')); });
  r.add("/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  r.add("/query", [](const Request& req) { return Response::text(200, req.path + "|" + req.query); });
  r.add_prefix("/entry/", [](const Request& req) { return Response::text(200, "entry=" + req.rest); });
  r.add_async("/never", [](const Request&, const Respond&) {});
  return r;
}

std::string status_line(const std::string& response) { return response.substr(0, response.find("\r\n")); }

}  // namespace

TEST_CASE("request targets are decoded and normalised strictly", "[web][target]") {
  CHECK(parse_target("/")->path == "/");
  CHECK(parse_target("/metrics")->path == "/metrics");
  CHECK(parse_target("/entry/a%2Db")->path == "/entry/a-b");
  CHECK(parse_target("/x?y=1&z")->query == "y=1&z");
  CHECK(parse_target("/x?y=1")->path == "/x");
  CHECK(parse_target("http://host:9717/metrics?a")->path == "/metrics");
  CHECK(parse_target("HTTP://host")->path == "/");
  CHECK(parse_target("/entry/")->path == "/entry/");
  for (const char* bad : {"",        "metrics", "*",      "/..",    "/../etc/passwd", "/a/../b",   "/%2e%2e/x",
                          "/.%2E/x", "/a/%2E",  "/./a",   "//a",    "/a//b",          "/a%2F%2Fb", "/%",
                          "/%4",     "/%zz",    "/a%00b", "/a%0Ab", "/%FF",           "/%C0%AF",   "/a\x7f"}) {
    INFO(bad);
    CHECK_FALSE(parse_target(bad).ok());
  }
  CHECK(parse_target("/%C3%A9")->path == "/\xC3\xA9");
  CHECK(encode_segment("a b/c") == "a%20b%2Fc");
  CHECK(encode_segment("web-1_x.y~") == "web-1_x.y~");
}

TEST_CASE("router: exact paths first, then the longest prefix", "[web][router]") {
  Router r;
  r.add("/entry/x", [](const Request&) { return Response::text(200, "exact"); });
  r.add_prefix("/", [](const Request&) { return Response::text(404, "fallback"); });
  r.add_prefix("/entry/", [](const Request&) { return Response::text(200, "prefix"); });
  std::string rest;
  const auto run = [&](const char* path) {
    const auto* h = r.find(path, rest);
    REQUIRE(h != nullptr);
    std::string body;
    (*h)(Request{}, [&](Response resp) { body = *resp.body; });
    return body;
  };
  CHECK(run("/entry/x") == "exact");
  CHECK(run("/entry/y") == "prefix");
  CHECK(rest == "y");
  CHECK(run("/other") == "fallback");
  Router empty;
  CHECK(empty.find("/", rest) == nullptr);
}

TEST_CASE("listen addresses", "[web][listen]") {
  CHECK(parse_listen("127.0.0.1:9717")->first == "127.0.0.1");
  CHECK(parse_listen("127.0.0.1:9717")->second == 9717);
  CHECK(parse_listen("[::1]:80")->first == "::1");
  CHECK(parse_listen("localhost:1")->first == "127.0.0.1");
  CHECK(parse_listen("0.0.0.0:0")->second == 0);
  CHECK_FALSE(parse_listen("9717").ok());
  CHECK_FALSE(parse_listen(":9717").ok());
  CHECK_FALSE(parse_listen("127.0.0.1:99999").ok());
  CHECK_FALSE(parse_listen("127.0.0.1:x").ok());
  CHECK(parse_listen("example.com:80").error().find("IP address") != std::string::npos);
}

TEST_CASE("GET and HEAD are served with the documents' headers", "[web][server]") {
  Loop loop(demo_router());
  auto r = get(loop.port(), "/hello");
  CHECK(status_line(r) == "HTTP/1.1 200 OK");
  CHECK(r.find("Cache-Control: no-store\r\n") != std::string::npos);
  CHECK(r.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
  CHECK(r.find("Content-Length: 16\r\n") != std::string::npos);
  CHECK(r.find("Date: ") != std::string::npos);
  CHECK(r.find("Content-Security-Policy") == std::string::npos);  // only pages carry it
  CHECK(r.ends_with("\r\n\r\nhello 127.0.0.1\n"));

  auto page = get(loop.port(), "/page");
  CHECK(page.find("Content-Type: text/html; charset=utf-8\r\n") != std::string::npos);
  CHECK(page.find("Content-Security-Policy: default-src 'none'; ") != std::string::npos);
  CHECK(page.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(page.find("X-Frame-Options: DENY\r\n") != std::string::npos);

  auto head = get(loop.port(), "/hello", "HEAD");
  CHECK(status_line(head) == "HTTP/1.1 200 OK");
  CHECK(head.find("Content-Length: 16\r\n") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));

  CHECK(get(loop.port(), "/entry/api%2D1").ends_with("entry=api-1"));
  CHECK(get(loop.port(), "/query?a=%20b").ends_with("/query|a=%20b"));
  CHECK(status_line(get(loop.port(), "/nothing")) == "HTTP/1.1 404 Not Found");
  CHECK(status_line(get(loop.port(), "/throw")) == "HTTP/1.1 500 Internal Server Error");
}

TEST_CASE("methods other than GET and HEAD get 405 with Allow", "[web][server]") {
  Loop loop(demo_router());
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}) {
    INFO(m);
    auto r = get(loop.port(), "/hello", m);
    CHECK(status_line(r) == "HTTP/1.1 405 Method Not Allowed");
    CHECK(r.find("Allow: GET, HEAD\r\n") != std::string::npos);
  }
  auto post = fetch(loop.port(), "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde");
  CHECK(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
  CHECK(post.find("Connection: close") != std::string::npos);
}

TEST_CASE("oversized and malformed requests get their status and a close", "[web][server]") {
  Loop loop(demo_router());
  const std::string long_target = "/" + std::string(9000, 'a');
  auto r414 = fetch(loop.port(), "GET " + long_target + " HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(status_line(r414) == "HTTP/1.1 414 URI Too Long");
  CHECK(r414.find("Connection: close") != std::string::npos);

  // An endless request line is answered once it passes the limit, not when it ends.
  {
    const int fd = connect_to(loop.port());
    send_all(fd, "GET /" + std::string(8300, 'a'));
    auto r = read_until_close(fd, 3000ms);
    ::close(fd);
    CHECK(status_line(r) == "HTTP/1.1 414 URI Too Long");
  }
  // Exactly at the limit is fine (a 404: no such path).
  const std::string at_limit = "GET /" + std::string(8192 - 14, 'b') + " HTTP/1.1";
  REQUIRE(at_limit.size() == 8192);
  CHECK(status_line(fetch(loop.port(), at_limit + "\r\nHost: t\r\nConnection: close\r\n\r\n")) ==
        "HTTP/1.1 404 Not Found");

  auto r431 = fetch(loop.port(), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(9000, 'h') + "\r\n\r\n");
  CHECK(status_line(r431) == "HTTP/1.1 431 Request Header Fields Too Large");
  std::string many;
  for (int i = 0; i < 400; ++i) {
    many += "X-" + std::to_string(i) + ": vvvvvvvvvvvvvvvvvv\r\n";
  }
  CHECK(status_line(fetch(loop.port(), "GET /hello HTTP/1.1\r\nHost: t\r\n" + many + "\r\n")) ==
        "HTTP/1.1 431 Request Header Fields Too Large");

  auto r413 = fetch(loop.port(), "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd");
  CHECK(status_line(r413) == "HTTP/1.1 413 Payload Too Large");
  auto chunked = fetch(loop.port(), "GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  CHECK(status_line(chunked) == "HTTP/1.1 413 Payload Too Large");

  CHECK(status_line(fetch(loop.port(), "GARBAGE\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
  CHECK(status_line(fetch(loop.port(), "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
  for (const char* t : {"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/entry/..%2f..%2fetc", "//etc/passwd"}) {
    INFO(t);
    auto r = get(loop.port(), t);
    CHECK(status_line(r) == "HTTP/1.1 400 Bad Request");
    CHECK(r.find("root:") == std::string::npos);
  }
  CHECK(loop.stats().rejected >= 10);
}

TEST_CASE("keep-alive and pipelined requests", "[web][server]") {
  Loop loop(demo_router());
  const int fd = connect_to(loop.port());
  send_all(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto first = read_responses(fd, 1);
  CHECK(status_line(first) == "HTTP/1.1 200 OK");
  CHECK(first.find("Connection: close") == std::string::npos);
  // Two more in one write: both answered, in order, on the same connection.
  send_all(fd, "GET /entry/a HTTP/1.1\r\nHost: t\r\n\r\nHEAD /entry/b HTTP/1.1\r\nHost: t\r\n\r\n");
  auto two = read_responses(fd, 1);
  CHECK(two.find("entry=a") != std::string::npos);
  ::close(fd);
  CHECK(loop.stats().accepted == 1);
  // HTTP/1.0 closes unless asked to keep alive.
  const int fd10 = connect_to(loop.port());
  send_all(fd10, "GET /hello HTTP/1.0\r\n\r\n");
  CHECK(status_line(read_until_close(fd10, 3000ms)) == "HTTP/1.1 200 OK");
  ::close(fd10);
}

TEST_CASE("timeouts: slow headers, idle keep-alive, silent handlers, clients that never read", "[web][server]") {
  Limits limits;
  limits.header_timeout = 300ms;
  limits.idle_timeout = 400ms;
  limits.write_timeout = 300ms;
  limits.handler_timeout = 300ms;
  Loop loop(demo_router(), limits);

  SECTION("a header trickling in is cut off") {
    const int fd = connect_to(loop.port());
    send_all(fd, "GET /hello HTTP/1.1\r\n");
    bool closed = false;
    for (int i = 0; i < 40 && !closed; ++i) {
      send_all(fd, "X");
      closed = closed_by_peer(fd, 50ms);
    }
    CHECK(closed);  // within the 40 trickles (2 s of sending), so by the header timeout, not never
    ::close(fd);
    CHECK(loop.stats().timed_out >= 1);
  }
  SECTION("a connection that says nothing is closed") {
    const int fd = connect_to(loop.port());
    CHECK(closed_by_peer(fd, 2000ms));
    ::close(fd);
  }
  SECTION("an idle kept-alive connection is closed") {
    const int fd = connect_to(loop.port());
    send_all(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(status_line(read_responses(fd, 1)) == "HTTP/1.1 200 OK");
    CHECK(closed_by_peer(fd, 2000ms));
    ::close(fd);
  }
  SECTION("a handler that never answers gets 503") {
    CHECK(status_line(get(loop.port(), "/never")) == "HTTP/1.1 503 Service Unavailable");
  }
  SECTION("a client that never reads a 64 MiB answer is dropped and its memory freed") {
    const int fd = connect_to(loop.port());
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    send_all(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(eventually([&] { return loop.stats().timed_out >= 1 && loop.stats().open == 0; }, 5000ms));
    ::close(fd);
    // The loop is still serving everyone else.
    CHECK(status_line(get(loop.port(), "/hello")) == "HTTP/1.1 200 OK");
  }
}

TEST_CASE("connection caps make room by closing idle connections, and refuse when all are busy", "[web][server]") {
  Limits limits;
  limits.max_connections = 4;
  limits.max_connections_per_client = 2;
  limits.handler_timeout = 5000ms;
  Loop loop(demo_router(), limits);

  SECTION("per client: a third connection from one address replaces that address's oldest idle one") {
    const int a = connect_to(loop.port(), "127.0.0.2");
    CHECK(eventually([&] { return loop.stats().open == 1; }));
    const int b = connect_to(loop.port(), "127.0.0.2");
    CHECK(eventually([&] { return loop.stats().open == 2; }));
    const int c = connect_to(loop.port(), "127.0.0.2");
    CHECK(closed_by_peer(a, 2000ms));
    send_all(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(read_until_close(c).ends_with("hello 127.0.0.2\n"));
    // Another address is not affected by 127.0.0.2's churn.
    CHECK(get(loop.port(), "/hello").ends_with("hello 127.0.0.1\n"));
    CHECK(loop.stats().evicted >= 1);
    ::close(a);
    ::close(b);
    ::close(c);
  }
  SECTION("in total: busy connections are never closed for a newcomer; it is refused with 503") {
    std::vector<int> busy;
    const char* from[] = {"127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4"};
    for (const char* f : from) {
      const int fd = connect_to(loop.port(), f);
      send_all(fd, "GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
      busy.push_back(fd);
    }
    CHECK(eventually([&] { return loop.stats().open == 4; }));
    auto refused = fetch(loop.port(), "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "127.0.0.5");
    CHECK(status_line(refused) == "HTTP/1.1 503 Service Unavailable");
    CHECK(refused.find("Retry-After: 1") != std::string::npos);
    CHECK(loop.stats().refused == 1);
    for (int fd : busy) {
      ::close(fd);
    }
  }
}

TEST_CASE("rebind moves the listener; a failed bind keeps the old one", "[web][server]") {
  Loop loop(demo_router());
  const auto old_port = loop.port();
  // Hold a port so binding it fails.
  const int blocker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(blocker, 1) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(blocker, reinterpret_cast<sockaddr*>(&addr), &len);
  Options taken;
  taken.host = "127.0.0.1";
  taken.port = ntohs(addr.sin_port);
  auto error = loop.call([&] { return loop.server().rebind(taken); });
  REQUIRE(error);
  CHECK(error->find("127.0.0.1:" + std::to_string(taken.port)) != std::string::npos);
  CHECK(status_line(get(old_port, "/hello")) == "HTTP/1.1 200 OK");
  ::close(blocker);

  Options other;
  other.host = "127.0.0.1";
  other.port = 0;
  CHECK_FALSE(loop.call([&] { return loop.server().rebind(other); }));
  const auto new_port = loop.call([&] { return loop.server().endpoint()->port(); });
  CHECK(new_port != old_port);
  CHECK(status_line(get(new_port, "/hello")) == "HTTP/1.1 200 OK");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sin_port = htons(old_port);
  CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
  ::close(fd);
  loop.call([&] { loop.server().stop(); });
  CHECK_FALSE(loop.call([&] { return loop.server().listening(); }));
}

TEST_CASE("html escaping and times", "[web][html]") {
  CHECK(html_escape("<script>alert('x')</script>&\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
  CHECK(html_escape("caf\xC3\xA9 \xFF\x01ok\n") == "caf\xC3\xA9 \xEF\xBF\xBDok\n");
  const auto now = *parse_time("2026-11-21T10:00:00Z");
  CHECK(relative_time(now + 3min, now) == "in 3m");
  CHECK(relative_time(now - 2h - 5min, now) == "2h ago");
  CHECK(relative_time(now - 45s, now) == "45s ago");
  CHECK(relative_time(now - 72h, now) == "3d ago");
  CHECK(relative_time(now, now) == "now");
  CHECK(local_time(now, nullptr) == "2026-11-21 10:00:00");
  const auto* seoul = date::locate_zone("Asia/Seoul");
  CHECK(local_time(now, seoul) == "2026-11-21 19:00:00");
  CHECK(zone_abbrev(now, seoul) == "KST");
  CHECK(format_ms(850) == "850 ms");
  CHECK(format_ms(5300) == "5.3 s");
  CHECK(format_ms(250'000) == "4m 10s");
  CHECK(format_ms(300'000) == "5m");
  CHECK(format_ms(7'200'000) == "2h");
  CHECK(format_ms(7'500'000) == "2h 5m");
  CHECK(parse_time("2026-02-30T00:00:00Z") == std::nullopt);
  CHECK(parse_time("2026-11-21T10:00:00+01:00") == now - 1h);
}

namespace {

json::object sample_status() {
  return json::parse(R"({"ok":true,
    "daemon":{"version":"0.1.0","host":"web-1","environment":"production","started_at":"2026-11-21T08:00:00Z",
              "config":{"path":"/etc/tend/tend.yaml","loaded_at":"2026-11-21T08:00:00Z","error":null},
              "state_write_errors":0,"notifications_given_up":0},
    "entries":[
      {"kind":"job","name":"backup","state":"idle","paused":false,"paused_until":null,"silenced_until":null,
       "last_result":"failure","last_reason":"exit 1 <b>bold</b>","last_run":"2026-11-21T09:58:00Z",
       "last_duration_ms":5300,"next_run":"2026-11-21T10:03:00Z","consecutive_failures":2,"running":false,
       "runs_in_progress":0,"schedule":"*/5 * * * *"},
      {"kind":"probe","name":"api","state":"up","paused":false,"paused_until":null,
       "silenced_until":"2026-11-21T12:00:00Z","last_result":"up","last_run":"2026-11-21T09:59:30Z",
       "next_run":"2026-11-21T10:00:30Z","consecutive_failures":0,"latency_ms":42,"reason":"",
       "restarts_in_window":0,"restart_limit":false,"cert_expires_at":null,
       "url":"https://user:secret@api.example.com/health?token=abc"},
      {"kind":"watch","name":"be-5xx","state":"warning","paused":true,"paused_until":null,"silenced_until":null,
       "last_result":"warning","last_reason":"5xx 6.1% of 340","last_run":"2026-11-21T09:59:59Z","next_run":null,
       "consecutive_failures":0,"rate":6.1,"requests":340,"unparsed":3},
      {"kind":"check","name":"nightly<x>","state":"new","paused":false,"paused_until":null,"silenced_until":null,
       "last_result":null,"last_run":null,"next_run":"2026-11-21T23:00:00Z","consecutive_failures":0}],
    "alerts":{"firing":[{"kind":"job","name":"backup","event":"failure","severity":"critical",
              "since":"2026-11-21T09:53:00Z","occurrences":2,"silenced":false,"escalated":false,
              "summary":"job backup failed (exit 1) see https://hooks.example.com/secret/path"}],
              "silences":[{"target":"api","until":"2026-11-21T12:00:00Z","reason":"deploy <now>","by":"root"}],
              "notifiers":[{"name":"team-slack","type":"slack","target":"https://hooks.slack.com/services/T0/B0/XYZ",
                "pending":1,"sent":10,"given_up":0,"retries":2,"last_error":"status 500","last_sent":null,
                "next_attempt":null}],"given_up":0},
    "heartbeat":{"enabled":true,"target":"https://hc-ping.com/uuid-secret","interval":"1m","sent":3,"failed":0,
                 "last_ok":"2026-11-21T09:59:00Z","last_error":null}})")
      .as_object();
}

json::array job_runs() {
  return json::parse(R"([
    {"run_id":12,"attempt":1,"started_at":"2026-11-21T09:58:00Z","ended_at":"2026-11-21T09:58:05Z","duration_ms":5300,
     "outcome":"failure","exit_code":1,"signal":null,"reason":"exit 1 <script>"},
    {"run_id":11,"attempt":1,"started_at":"2026-11-21T09:53:00Z","ended_at":"2026-11-21T09:53:02Z","duration_ms":2000,
     "outcome":"success","exit_code":0,"signal":null,"reason":""},
    {"run_id":10,"attempt":2,"started_at":"2026-11-21T09:48:00Z","ended_at":"2026-11-21T09:53:00Z","duration_ms":300000,
     "outcome":"timeout","exit_code":null,"signal":15,"reason":"timeout after 5m"}])")
      .as_array();
}

json::array probe_runs(WallTime now) {
  // One result a minute for 25 hours, down from 3h to 2h ago; a restart 2h ago.
  json::array a;
  std::int64_t id = 5000;
  for (int m = 0; m < 25 * 60; ++m) {
    const auto t = now - std::chrono::minutes(m);
    const bool down = m >= 120 && m < 180;
    if (m == 120) {
      a.push_back(json::object{{"run_id", id++},
                               {"attempt", 1},
                               {"started_at", format_iso8601(t)},
                               {"duration_ms", 4000},
                               {"outcome", "restarted"},
                               {"reason", "pm2 restart api"}});
    }
    a.push_back(json::object{{"run_id", id++},
                             {"attempt", 1},
                             {"started_at", format_iso8601(t)},
                             {"duration_ms", down ? 10000 : 40 + (m % 7)},
                             {"outcome", down ? "down" : "up"},
                             {"reason", down ? "status 502" : ""}});
  }
  return a;
}

}  // namespace

TEST_CASE("status page: every entry with its state, escaped, secrets cut", "[web][pages]") {
  const auto status = sample_status();
  PageContext ctx{*parse_time("2026-11-21T10:00:00Z"), date::locate_zone("Asia/Seoul"), 15s};
  const auto page = status_page(status, ctx);
  CHECK(page.starts_with("<!doctype html>"));
  CHECK(page.find("<meta http-equiv=\"refresh\" content=\"15\">") != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("prefers-color-scheme:dark") != std::string::npos);
  CHECK(page.find("<title>tend · web-1 · 1 failing</title>") != std::string::npos);
  for (const char* name : {">backup<", ">api<", ">be-5xx<", ">nightly&lt;x&gt;<"}) {
    INFO(name);
    CHECK(page.find(name) != std::string::npos);
  }
  CHECK(page.find("href=\"/entry/nightly%3Cx%3E\"") != std::string::npos);
  CHECK(page.find("<span class=\"badge\">idle</span>") != std::string::npos);
  CHECK(page.find("class=\"bad\"><span class=\"badge\">idle") != std::string::npos);
  CHECK(page.find("class=\"warn\"><span class=\"badge\">warning") != std::string::npos);
  CHECK(page.find("class=\"ok\"><span class=\"badge\">up") != std::string::npos);
  CHECK(page.find("exit 1 &lt;b&gt;bold&lt;/b&gt;") != std::string::npos);
  CHECK(page.find("<b>bold</b>") == std::string::npos);
  // Local time (Seoul is UTC+9) and relative time.
  CHECK(page.find(">18:58:00</time> <span class=\"rel\">2m ago</span>") != std::string::npos);
  CHECK(page.find(">19:03:00</time> <span class=\"rel\">in 3m</span>") != std::string::npos);
  // Failing first.
  const auto table = page.find("id=\"entries\"");
  CHECK(page.find(">backup<", table) < page.find(">be-5xx<", table));
  CHECK(page.find(">be-5xx<", table) < page.find(">api<", table));
  // Alerts, silences, delivery.
  CHECK(page.find("Firing alerts (1)") != std::string::npos);
  CHECK(page.find("deploy &lt;now&gt;") != std::string::npos);
  CHECK(page.find("paused") != std::string::npos);
  CHECK(page.find("silenced until") != std::string::npos);
  // No secret: URLs only as scheme://host.
  for (const char* secret : {"secret", "token", "/health", "XYZ", "uuid", "/services/"}) {
    INFO(secret);
    CHECK(page.find(secret) == std::string::npos);
  }
  CHECK(page.find("https://api.example.com") != std::string::npos);
  CHECK(page.find("https://hooks.slack.com") != std::string::npos);

  SECTION("with recent runs, rows get small charts") {
    const auto runs = job_runs();
    const auto probes = probe_runs(ctx.now);
    const auto with = status_page(status, ctx, [&](std::string_view name) -> const json::array* {
      return name == "backup" ? &runs : name == "api" ? &probes : nullptr;
    });
    CHECK(with.find("<th>Recent</th>") != std::string::npos);
    CHECK(with.find("<svg class=\"spark\"") != std::string::npos);
  }
  SECTION("a config error is a banner") {
    auto bad = status;
    bad["daemon"].as_object()["config"].as_object()["error"] = "tend.yaml:3:5: jobs.x.timeout: <bad>";
    const auto p = status_page(bad, ctx);
    CHECK(p.find("Config rejected</b>: tend.yaml:3:5: jobs.x.timeout: &lt;bad&gt;") != std::string::npos);
  }
  SECTION("an empty or odd document still renders") {
    CHECK(status_page(json::object{}, ctx).find("No entries are configured") != std::string::npos);
    auto odd = json::parse(R"({"entries":[1,"x",{"name":5,"state":[]}],"alerts":{"firing":"no"}})").as_object();
    CHECK(status_page(odd, ctx).find("</html>") != std::string::npos);
  }
}

TEST_CASE("entry page: facts, alerts, chart and history; unknown names are not found", "[web][pages]") {
  const auto status = sample_status();
  PageContext ctx{*parse_time("2026-11-21T10:00:00Z"), nullptr, 15s};
  CHECK_FALSE(entry_page(status, "nope", {}, ctx));
  const auto runs = job_runs();
  const auto page = *entry_page(status, "backup", runs, ctx);
  CHECK(page.find("<h1>job backup</h1>") != std::string::npos);
  CHECK(page.find("Firing alerts (1)") != std::string::npos);
  CHECK(page.find("<svg class=\"chart\"") != std::string::npos);
  CHECK(page.find("Duration and outcome of the last 3 runs") != std::string::npos);
  CHECK(page.find("exit 1 &lt;script&gt;") != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("signal 15") != std::string::npos);
  CHECK(page.find("3 runs shown, 2 failed; longest 5m") != std::string::npos);

  const auto probes = probe_runs(ctx.now);
  const auto api = *entry_page(status, "api", probes, ctx);
  CHECK(api.find("Last 24 hours") != std::string::npos);
  CHECK(api.find("Latency and availability over the last 24 hours") != std::string::npos);
  CHECK(api.find("up 95.8% of the") != std::string::npos);  // 23 of 24 hours up
  CHECK(api.find("1 restart") != std::string::npos);
  CHECK(api.find("(latest 100 of ") != std::string::npos);
  CHECK(api.find("secret") == std::string::npos);
  CHECK(api.find("https://api.example.com") != std::string::npos);

  const auto none = *entry_page(status, "nightly<x>", {}, ctx);
  CHECK(none.find("No history recorded yet.") != std::string::npos);
  const auto nf = not_found_page("/entry/<x>", ctx);
  CHECK(nf.find("/entry/&lt;x&gt;") != std::string::npos);
  CHECK(nf.find("http-equiv=\"refresh\"") == std::string::npos);
}

TEST_CASE("charts and health classes", "[web][charts]") {
  const auto now = *parse_time("2026-11-21T10:00:00Z");
  const ChartContext ctx{now, nullptr};
  CHECK(is_availability(probe_runs(now)));
  CHECK_FALSE(is_availability(job_runs()));
  CHECK(availability_chart(json::array{}, ctx).svg.empty());
  CHECK(runs_chart(json::array{}, ctx).svg.empty());
  const auto chart = availability_chart(probe_runs(now), ctx);
  CHECK(chart.svg.find("class=\"bad\"") != std::string::npos);
  CHECK(chart.svg.find("<path class=\"line\"") != std::string::npos);
  CHECK(chart.svg.find("restarted at 2026-11-21 08:00:00: pm2 restart api") != std::string::npos);
  // A result older than the window sets the state the window starts in; a long silence is grey.
  json::array sparse;
  sparse.push_back(json::object{{"started_at", "2026-11-21T06:00:00Z"}, {"duration_ms", 10}, {"outcome", "up"}});
  sparse.push_back(json::object{{"started_at", "2026-11-19T00:00:00Z"}, {"duration_ms", 10}, {"outcome", "down"}});
  const auto s = availability_chart(sparse, ctx);
  CHECK(s.summary.find("up 0.0%") == std::string::npos);
  CHECK(!sparkline(sparse, ctx).empty());
  CHECK(!sparkline(job_runs(), ctx).empty());
  CHECK(std::string_view(outcome_class("timeout")) == "bad");
  CHECK(std::string_view(outcome_class("skipped")) == "warn");
  CHECK(std::string_view(entry_health(json::parse(R"({"state":"idle","last_result":"success"})").as_object())) == "ok");
  CHECK(std::string_view(entry_health(json::parse(R"({"state":"late"})").as_object())) == "bad");
  CHECK(std::string_view(entry_health(json::parse(R"({"state":"new","last_result":null})").as_object())) == "none");
  CHECK(std::string_view(entry_health(json::parse(R"({"state":"running"})").as_object())) == "info");
}

TEST_CASE("shared renders: off the loop, one at a time, reused while fresh", "[web][offload]") {
  asio::io_context io;
  asio::thread_pool worker(1);
  const auto loop_thread = std::this_thread::get_id();
  int prepares = 0;
  std::atomic<int> renders{0};
  std::atomic<bool> off_loop{true};
  auto run_until = [&](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
    return done();
  };
  {
    SharedRender render(
        io.get_executor(), worker.get_executor(),
        [&] {
          CHECK(std::this_thread::get_id() == loop_thread);
          const int n = ++prepares;
          return [n, &renders, &off_loop, loop_thread] {
            ++renders;
            off_loop = off_loop && std::this_thread::get_id() != loop_thread;
            return "doc " + std::to_string(n);
          };
        },
        300ms);
    std::vector<std::string> got;
    for (int i = 0; i < 5; ++i) {
      render.get([&](std::shared_ptr<const std::string> t) { got.push_back(t ? *t : "null"); });
    }
    CHECK(got.empty());  // nothing is rendered on the loop
    REQUIRE(run_until([&] { return got.size() == 5; }));
    CHECK(prepares == 1);
    CHECK(renders == 1);
    CHECK(off_loop);
    CHECK(std::all_of(got.begin(), got.end(), [](const std::string& g) { return g == "doc 1"; }));

    bool at_once = false;
    render.get([&](std::shared_ptr<const std::string> t) { at_once = t && *t == "doc 1"; });
    CHECK(at_once);  // fresh: served again without a render

    std::this_thread::sleep_for(350ms);  // let it age past max_age (what is tested is the age)
    std::string later;
    render.get([&](std::shared_ptr<const std::string> t) { later = *t; });
    REQUIRE(run_until([&] { return !later.empty(); }));
    CHECK(later == "doc 2");
    CHECK(render.last_render() > std::chrono::nanoseconds(0));

    // Destroyed with a request waiting: the request is dropped, nothing runs on freed memory.
    std::this_thread::sleep_for(350ms);
    render.get([&](std::shared_ptr<const std::string>) { FAIL("answered after destruction"); });
  }
  run_until([&] { return renders == 3; });
  io.restart();
  io.run_for(50ms);

  SharedRender broken(
      io.get_executor(), worker.get_executor(),
      [] { return []() -> std::string { throw std::runtime_error("render bug"); }; }, 0ms);
  bool got_null = false;
  broken.get([&](std::shared_ptr<const std::string> t) { got_null = t == nullptr; });
  CHECK(run_until([&] { return got_null; }));
  worker.join();
}
