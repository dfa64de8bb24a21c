// The http clients (libcurl's, the plain one, and the router between them) against real servers on
// loopback: tests/support/http_test_server.hpp plays the targets (healthy, hung, trickling, huge,
// redirecting, echoing, closing, unix socket) and `openssl s_server` plays a TLS one. What plain
// http can do runs against both clients (GENERATE "curl", "plain"); TLS, unix sockets and redirects
// stay curl's, and the router is checked to send them there. Every wait runs the client's io_context until a condition
// holds or a deadline passes; nothing sleeps blindly.

#include <curl/curl.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/client.hpp"
#include "http/curl_detail.hpp"
#include "http/plain_detail.hpp"
#include "http/url.hpp"
#include "support/http_test_server.hpp"
#include "support/test_pki.hpp"
#include "util/time.hpp"

extern char** environ;

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using tend::http::Failure;
using tend::http::Request;
using tend::http::Response;
using tend::test::HttpTestServer;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Run the loop until `done()` or the deadline; false on timeout. (An io_context whose work ran out
// stops, and stays stopped until restarted: the guard of the previous call may have done that.)
template <class Done>
bool run_until(asio::io_context& io, Done done, milliseconds limit = 20s) {
  io.restart();
  auto guard = asio::make_work_guard(io);
  const auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() >= deadline) {
      return false;
    }
    io.run_one_for(10ms);
  }
  return true;
}

Request get(const std::string& url) {
  Request r;
  r.url = url;
  r.timeout = 10s;
  return r;
}

// Send one request and run the loop until it answers.
Response fetch(asio::io_context& io, tend::http::Client& client, Request req) {
  std::optional<Response> out;
  auto handle = client.send(std::move(req), [&](Response r) { out = std::move(r); });
  REQUIRE(run_until(
      io, [&] { return out.has_value(); }, 30s));
  return std::move(*out);
}

std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();  // closed again when `a` goes: nothing listens there
}

// The client under test: every behaviour of plain http is checked against both ("curl", "plain");
// "router" is what the daemon's probes use.
std::unique_ptr<tend::http::Client> client_of(const std::string& kind, asio::io_context& io) {
  if (kind == "plain") {
    return tend::http::make_plain_client(io);
  }
  if (kind == "router") {
    return tend::http::make_client(io);
  }
  return tend::http::make_curl_client(io);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tend-http-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path path;
};

}  // namespace

TEST_CASE("a healthy target answers 200 with its body and headers", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  const Response r = fetch(io, *client, get(server.url("/ok")));
  CHECK(r.failure == Failure::none);
  CHECK(r.error.empty());
  CHECK(r.status == 200);
  CHECK(r.body == "hello from the test server\n");
  CHECK_FALSE(r.body_truncated);
  CHECK(r.headers.at("content-length") == "27");
  CHECK(r.latency < 5s);
  CHECK_FALSE(r.cert_expiry.has_value());
}

TEST_CASE("error statuses are responses, not failures", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  for (int status : {500, 404, 502}) {
    const Response r = fetch(io, *client, get(server.url("/status/" + std::to_string(status))));
    CHECK(r.failure == Failure::none);
    CHECK(r.status == status);
    CHECK(r.body == "status " + std::to_string(status) + "\n");
  }
}

TEST_CASE("method, headers and body are sent as requested", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);

  SECTION("GET with custom headers") {
    Request req = get(server.url("/echo"));
    req.headers = {{"X-Custom", "a value, with: colons"}, {"Authorization", "Bearer t0ken"}, {"X-Empty", ""}};
    const Response r = fetch(io, *client, req);
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("x-echo-method") == "GET");
    CHECK(r.body.rfind("GET /echo HTTP/1.1\r\n", 0) == 0);
    CHECK(contains(r.body, "\r\nX-Custom: a value, with: colons\r\n"));
    CHECK(contains(r.body, "\r\nAuthorization: Bearer t0ken\r\n"));
    CHECK(contains(r.body, "\r\nX-Empty:"));
    CHECK_FALSE(contains(r.body, "Content-Length"));
  }
  SECTION("POST with a body, and no Expect: 100-continue however large") {
    Request req = get(server.url("/echo"));
    req.method = "POST";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = R"({"text":")" + std::string(5000, 'a') + R"("})";
    const Response r = fetch(io, *client, req);
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("x-echo-method") == "POST");
    CHECK(contains(r.body, "\r\nContent-Type: application/json\r\n"));
    CHECK(contains(r.body, "\r\nContent-Length: " + std::to_string(req.body.size()) + "\r\n"));
    CHECK_FALSE(contains(r.body, "Expect"));
    CHECK(r.body.size() > req.body.size());
    CHECK(r.body.substr(r.body.size() - req.body.size()) == req.body);
  }
  SECTION("PUT with a body; the method is upper-cased") {
    Request req = get(server.url("/echo"));
    req.method = "put";
    req.body = "replace me";
    const Response r = fetch(io, *client, req);
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("x-echo-method") == "PUT");
    CHECK(r.body.rfind("PUT /echo HTTP/1.1\r\n", 0) == 0);
    CHECK(r.body.substr(r.body.size() - 10) == "replace me");
  }
  SECTION("empty POST and DELETE") {
    Request post = get(server.url("/echo"));
    post.method = "POST";
    const Response p = fetch(io, *client, post);
    CHECK(p.headers.at("x-echo-method") == "POST");
    CHECK(p.headers.at("x-echo-content-length") == "0");
    Request del = get(server.url("/echo"));
    del.method = "DELETE";
    const Response d = fetch(io, *client, del);
    CHECK(d.headers.at("x-echo-method") == "DELETE");
    CHECK(d.headers.count("x-echo-content-length") == 0);
  }
  SECTION("HEAD: headers only") {
    Request req = get(server.url("/echo"));
    req.method = "HEAD";
    req.headers = {{"X-Custom", "head value"}};
    const Response r = fetch(io, *client, req);
    CHECK(r.failure == Failure::none);
    CHECK(r.status == 200);
    CHECK(r.headers.at("x-echo-method") == "HEAD");
    CHECK(r.headers.at("x-echo-x-custom") == "head value");
    CHECK(r.body.empty());
  }
}

TEST_CASE("a request goes through a unix socket", "[http]") {
  TempDir dir;
  const std::string path = (dir.path / "app.sock").string();
  HttpTestServer server(HttpTestServer::Options{1, path});
  asio::io_context io;
  auto client = tend::http::make_curl_client(io);
  Request req = get("http://localhost/echo");
  req.unix_socket = path;
  const Response r = fetch(io, *client, req);
  CHECK(r.failure == Failure::none);
  CHECK(r.status == 200);
  CHECK(r.body.rfind("GET /echo HTTP/1.1\r\n", 0) == 0);

  Request missing = get("http://localhost/ok");
  missing.unix_socket = (dir.path / "nobody.sock").string();
  const Response m = fetch(io, *client, missing);
  CHECK(m.failure == Failure::connect_refused);
  CHECK(m.error == "connect refused");
}

TEST_CASE("a closed port is connect refused", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  asio::io_context io;
  auto client = client_of(kind, io);
  const std::string userinfo = kind == "curl" ? "user:hunter22@" : "";  // the plain client takes none
  const Response r =
      fetch(io, *client, get("http://" + userinfo + "127.0.0.1:" + std::to_string(closed_port()) + "/x?token=s3cr3t"));
  CHECK(r.failure == Failure::connect_refused);
  CHECK(r.error == "connect refused");
  CHECK(r.status == 0);
}

TEST_CASE("a hanging target times out at the configured timeout", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  Request req = get(server.url("/hang"));
  req.timeout = 300ms;
  const Response r = fetch(io, *client, req);
  CHECK(r.failure == Failure::timeout);
  CHECK(r.error == "timeout after 300ms");
  CHECK(r.latency >= 290ms);
  CHECK(r.latency < 1500ms);
}

TEST_CASE("a body past max_body is cut, not read, and still a response", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);

  SECTION("100 MB offered, 1 MiB read") {
    constexpr std::size_t mib = 1024 * 1024UL;
    Request req = get(server.url("/huge"));
    req.max_body = mib;
    const auto start = SteadyClock::now();
    const Response r = fetch(io, *client, req);
    CHECK(SteadyClock::now() - start < 3s);
    CHECK(r.failure == Failure::none);
    CHECK(r.error.empty());
    CHECK(r.status == 200);
    CHECK(r.body.size() == mib);
    CHECK(r.body_truncated);
    CHECK(r.latency < 3s);
    // The client hung up: the server's write failed long before the 100 MB went out.
    REQUIRE(run_until(
        io, [&] { return server.huge_client_left(); }, 10s));
    CHECK(server.huge_bytes_sent() < HttpTestServer::huge_size / 2);
  }
  SECTION("a body exactly at the cap is whole; one byte less is truncated") {
    Request req = get(server.url("/ok"));
    req.max_body = 27;
    const Response whole = fetch(io, *client, req);
    CHECK(whole.body.size() == 27);
    CHECK_FALSE(whole.body_truncated);
    req.max_body = 5;
    const Response cut = fetch(io, *client, req);
    CHECK(cut.failure == Failure::none);
    CHECK(cut.body == "hello");
    CHECK(cut.body_truncated);
  }
}

TEST_CASE("redirects are reported unless following is asked for", "[http]") {
  HttpTestServer server;
  asio::io_context io;
  auto client = tend::http::make_curl_client(io);
  const Response not_followed = fetch(io, *client, get(server.url("/redirect")));
  CHECK(not_followed.failure == Failure::none);
  CHECK(not_followed.status == 302);
  CHECK(not_followed.headers.at("location") == "/ok");

  Request follow = get(server.url("/redirect"));
  follow.follow_redirects = true;
  const Response followed = fetch(io, *client, follow);
  CHECK(followed.status == 200);
  CHECK(followed.body == "hello from the test server\n");
  CHECK(followed.headers.count("location") == 0);  // only the final response's headers

  Request loop = get(server.url("/loop"));
  loop.follow_redirects = true;
  const Response looped = fetch(io, *client, loop);
  CHECK(looped.failure == Failure::too_many_redirects);
  CHECK(looped.error == "too many redirects (more than 5)");
}

TEST_CASE("custom headers follow a redirect only to the same origin", "[http][security]") {
  HttpTestServer server;
  HttpTestServer other;  // another port: another origin
  asio::io_context io;
  auto client = tend::http::make_curl_client(io);
  Request same = get(server.url("/to-echo"));
  same.follow_redirects = true;
  same.headers = {{"X-Api-Key", "s3cret-key"}};
  const Response kept = fetch(io, *client, same);
  REQUIRE(kept.status == 200);
  CHECK(kept.headers.at("x-echo-x-api-key") == "s3cret-key");

  Request away = get(server.url("/to-port/" + std::to_string(other.port())));
  away.follow_redirects = true;
  away.headers = {{"X-Api-Key", "s3cret-key"}};
  const Response dropped = fetch(io, *client, away);
  REQUIRE(dropped.status == 200);
  CHECK(dropped.headers.count("x-echo-x-api-key") == 0);  // the other host never saw our key
  CHECK(dropped.headers.at("x-echo-method") == "GET");
}

TEST_CASE("a connection closed without an answer is a one-line failure without secrets", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  const std::string url = "http://user:hunter22@127.0.0.1:" + std::to_string(server.port()) + "/close?token=s3cr3t";
  const Response r = fetch(io, *client, get(url));
  CHECK(r.failure == Failure::other);
  CHECK_FALSE(r.error.empty());
  CHECK(r.error.find('\n') == std::string::npos);
  CHECK_FALSE(contains(r.error, "hunter22"));
  CHECK_FALSE(contains(r.error, "s3cr3t"));
}

TEST_CASE("an invalid request fails through the callback, never synchronously", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  asio::io_context io;
  auto client = client_of(kind, io);
  Request req = get("http://127.0.0.1:1/");
  req.headers = {{"X-Injected", "a\r\nHost: evil"}};
  std::optional<Response> out;
  auto handle = client->send(req, [&](Response r) { out = std::move(r); });
  CHECK_FALSE(out.has_value());
  REQUIRE(run_until(io, [&] { return out.has_value(); }));
  CHECK(out->failure == Failure::other);
  CHECK(out->error == "invalid request: header X-Injected");
}

TEST_CASE("a hung or trickling target delays no other request", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  constexpr auto slow_timeout = 4s;  // /slow needs 5 s for its body
  const auto start = SteadyClock::now();

  std::optional<Response> hung;
  std::optional<Response> trickle;
  Request hang_req = get(server.url("/hang"));  // same host and port as the fast ones
  hang_req.timeout = slow_timeout;
  Request slow_req = get(server.url("/slow"));
  slow_req.timeout = slow_timeout;
  auto hang_handle = client->send(hang_req, [&](Response r) { hung = std::move(r); });
  auto slow_handle = client->send(slow_req, [&](Response r) { trickle = std::move(r); });

  constexpr int fast_count = 200;
  int fast_ok = 0;
  int fast_done = 0;
  SteadyClock::time_point last_fast;
  std::vector<std::unique_ptr<tend::http::Handle>> handles;
  for (int i = 0; i < fast_count; ++i) {
    handles.push_back(client->send(get(server.url("/ok")), [&](Response r) {
      fast_ok += r.status == 200 ? 1 : 0;
      ++fast_done;
      last_fast = SteadyClock::now();
    }));
  }
  REQUIRE(run_until(
      io, [&] { return fast_done == fast_count; }, slow_timeout));
  const auto fast_elapsed = last_fast - start;
  INFO("200 fast requests beside a hung and a trickling one took "
       << std::chrono::duration_cast<milliseconds>(fast_elapsed).count() << " ms");
  CHECK(fast_ok == fast_count);
  CHECK(fast_elapsed < slow_timeout / 2);
  CHECK_FALSE(hung.has_value());
  CHECK_FALSE(trickle.has_value());

  REQUIRE(run_until(
      io, [&] { return hung.has_value() && trickle.has_value(); }, 15s));
  CHECK(hung->failure == Failure::timeout);
  CHECK(trickle->failure == Failure::timeout);
  CHECK(hung->error == "timeout after 4s");
}

TEST_CASE("past the limit of requests in flight, the rest wait their turn within their timeout", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  constexpr int hung_count = 300;  // more than the client runs at once (kMaxInFlight)
  constexpr auto timeout = 1s;
  const auto start = SteadyClock::now();
  int hung_done = 0;
  int hung_timeouts = 0;
  std::vector<std::unique_ptr<tend::http::Handle>> handles;
  for (int i = 0; i < hung_count; ++i) {
    Request r = get(server.url("/hang"));
    r.timeout = timeout;
    handles.push_back(client->send(r, [&](Response resp) {
      ++hung_done;
      hung_timeouts += resp.failure == Failure::timeout ? 1 : 0;
    }));
  }
  bool cancelled_called = false;
  auto cancelled = client->send(get(server.url("/ok")), [&](Response) { cancelled_called = true; });
  cancelled->cancel();  // still queued: it must never start nor call back
  int ok_done = 0;
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    handles.push_back(client->send(get(server.url("/ok")), [&](Response resp) {
      ++ok_done;
      ok += resp.status == 200 ? 1 : 0;
    }));
  }
  REQUIRE(run_until(io, [&] { return hung_done == hung_count && ok_done == 20; }));
  const auto elapsed = SteadyClock::now() - start;
  INFO("all done after " << std::chrono::duration_cast<milliseconds>(elapsed).count() << " ms");
  CHECK(hung_timeouts == hung_count);
  CHECK(ok == 20);
  CHECK_FALSE(cancelled_called);
  // The time spent waiting for a slot counts toward the timeout: the hung requests that waited end
  // with the first ones, not one full timeout later.
  CHECK(elapsed < 2 * timeout - 100ms);
}

TEST_CASE("a cancelled request never calls back", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);

  SECTION("cancel() and destroying the handle") {
    bool called = false;
    Request quick_timeout = get(server.url("/hang"));
    quick_timeout.timeout = 200ms;
    auto cancelled = client->send(quick_timeout, [&](Response) { called = true; });
    auto dropped = client->send(quick_timeout, [&](Response) { called = true; });
    auto trickling = client->send(get(server.url("/slow")), [&](Response) { called = true; });
    // In flight: the server has read all three requests (and is trickling one answer).
    REQUIRE(run_until(io, [&] { return server.requests() == 3; }));
    cancelled->cancel();
    cancelled->cancel();  // twice is harmless
    dropped.reset();
    trickling->cancel();
    // A marker that ends after the cancelled ones would have timed out.
    std::optional<Response> marker;
    Request later = get(server.url("/hang"));
    later.timeout = 500ms;
    auto marker_handle = client->send(later, [&](Response r) { marker = std::move(r); });
    REQUIRE(run_until(io, [&] { return marker.has_value(); }));
    CHECK_FALSE(called);
    CHECK(marker->failure == Failure::timeout);
  }
  SECTION("a callback cancels requests that may already be finished") {
    // Pairs answered by the same server at about the same time: when the first one's callback
    // cancels the second, that one is sometimes still in flight and sometimes finished with its
    // callback already queued; either way it must stay silent from then on.
    constexpr int pairs = 50;
    int first_calls = 0;
    int late_calls = 0;  // second callbacks run after their cancel()
    std::vector<bool> cancelled(pairs, false);
    std::vector<std::unique_ptr<tend::http::Handle>> seconds(pairs);
    std::vector<std::unique_ptr<tend::http::Handle>> firsts;
    for (std::size_t i = 0; i < pairs; ++i) {
      firsts.push_back(client->send(get(server.url("/ok")), [&, i](Response) {
        ++first_calls;
        cancelled[i] = true;
        seconds[i]->cancel();
      }));
      seconds[i] = client->send(get(server.url("/ok")), [&, i](Response) { late_calls += cancelled[i] ? 1 : 0; });
    }
    REQUIRE(run_until(io, [&] { return first_calls == pairs; }));
    // Any callback queued before a cancel would have run before one queued after this marker.
    std::optional<Response> marker;
    auto marker_handle = client->send(get(server.url("/ok")), [&](Response r) { marker = std::move(r); });
    REQUIRE(run_until(io, [&] { return marker.has_value(); }));
    CHECK(late_calls == 0);
  }
  SECTION("a callback starts a new request and drops its own handle") {
    std::unique_ptr<tend::http::Handle> first;
    std::unique_ptr<tend::http::Handle> second;
    std::optional<Response> second_result;
    first = client->send(get(server.url("/ok")), [&](Response r) {
      CHECK(r.status == 200);
      first.reset();  // destroys the handle of the request being delivered
      second = client->send(get(server.url("/status/503")), [&](Response r2) { second_result = std::move(r2); });
    });
    REQUIRE(run_until(io, [&] { return second_result.has_value(); }));
    CHECK(second_result->status == 503);
  }
}

TEST_CASE("destroying the client drops everything in flight without calling back", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  int calls = 0;
  int calls_before = 0;  // callbacks that ran before the client went

  SECTION("from outside") {
    auto client = client_of(kind, io);
    std::vector<std::unique_ptr<tend::http::Handle>> handles;
    for (const char* path : {"/hang", "/slow", "/huge", "/ok", "/ok"}) {
      handles.push_back(client->send(get(server.url(path)), [&](Response) { ++calls; }));
    }
    // Get the transfers going: connected, some answered (callbacks queued), some mid-body.
    run_until(
        io, [&] { return server.requests() >= 5; }, 5s);
    calls_before = calls;
    client.reset();
    handles.clear();  // handles outliving the client are inert
  }
  SECTION("from inside a callback, with handles kept") {
    auto client = client_of(kind, io);
    std::vector<std::unique_ptr<tend::http::Handle>> handles;
    handles.push_back(client->send(get(server.url("/hang")), [&](Response) { ++calls; }));
    handles.push_back(client->send(get(server.url("/ok")), [&](Response) {
      ++calls;
      client.reset();
    }));
    handles.push_back(client->send(get(server.url("/slow")), [&](Response) { ++calls; }));
    REQUIRE(run_until(io, [&] { return client == nullptr; }));
    CHECK(calls == 1);
    calls_before = calls;
    for (auto& h : handles) {
      h->cancel();
    }
  }
  // Nothing of the client is left on the loop: run() runs out of work at once.
  const auto start = SteadyClock::now();
  io.restart();
  io.run_for(5s);
  CHECK(SteadyClock::now() - start < 2s);
  CHECK(calls == calls_before);
}

TEST_CASE("connections are reused unless a fresh one is asked for", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  constexpr int count = 20;
  auto run_chain = [&](bool fresh) {
    int done = 0;
    std::unique_ptr<tend::http::Handle> handle;
    std::function<void()> next = [&] {
      Request req = get(server.url("/ok"));
      req.fresh_connection = fresh;
      handle = client->send(req, [&](Response r) {
        CHECK(r.status == 200);
        if (++done < count) {
          next();
        }
      });
    };
    next();
    REQUIRE(run_until(io, [&] { return done == count; }));
  };
  run_chain(false);
  CHECK(server.connections() == 1);
  run_chain(true);
  CHECK(server.connections() == 1 + count);
}

TEST_CASE("a fresh connection says Connection: close; a reused one does not", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  const Response reused = fetch(io, *client, get(server.url("/echo")));
  CHECK(reused.headers.count("x-echo-connection") == 0);
  CHECK(reused.headers.at("x-echo-user-agent") == "tend");
  CHECK(reused.headers.at("x-echo-host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(reused.headers.at("x-echo-accept") == "*/*");
  if (kind == "plain") {  // as Monit does; curl's FORBID_REUSE only closes on its side
    Request fresh = get(server.url("/echo"));
    fresh.fresh_connection = true;
    const Response r = fetch(io, *client, fresh);
    CHECK(r.headers.at("x-echo-connection") == "close");
  }
}

TEST_CASE("userinfo in the url is sent as Basic auth unless the caller set Authorization", "[http]") {
  // The router sends such a URL to curl (plain_serves), and so does make_client().
  HttpTestServer server;
  asio::io_context io;
  auto client = tend::http::make_client(io);
  const std::string port = std::to_string(server.port());
  const Response r = fetch(io, *client, get("http://al%3Aice:s3cr%40t@127.0.0.1:" + port + "/echo"));
  CHECK(r.headers.at("x-echo-authorization") == "Basic YWw6aWNlOnMzY3JAdA==");  // "al:ice:s3cr@t"
  CHECK(r.headers.at("x-echo-host") == "127.0.0.1:" + port);
  const Response u = fetch(io, *client, get("http://bob@127.0.0.1:" + port + "/echo"));
  CHECK(u.headers.at("x-echo-authorization") == "Basic Ym9iOg==");  // "bob:"
  Request own = get("http://bob:pw@127.0.0.1:" + port + "/echo");
  own.headers = {{"Authorization", "Bearer t0ken"}};
  const Response o = fetch(io, *client, own);
  CHECK(o.headers.at("x-echo-authorization") == "Bearer t0ken");
}

TEST_CASE("idle connections are kept per host and port", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server(HttpTestServer::Options{2, {}});
  asio::io_context io;
  auto client = client_of(kind, io);
  for (int i = 0; i < 6; ++i) {
    const Response r = fetch(io, *client, get(server.url("/ok", static_cast<std::size_t>(i % 2))));
    CHECK(r.status == 200);
  }
  CHECK(server.connections() == 2);
  CHECK(server.requests() == 6);
}

TEST_CASE("a connection the server will not keep is not reused", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);

  SECTION("Connection: close") {
    for (int i = 0; i < 3; ++i) {
      const Response r = fetch(io, *client, get(server.url("/bye")));
      CHECK(r.status == 200);
      CHECK(r.body == "bye\n");
    }
    CHECK(server.connections() == 3);
  }
  SECTION("HTTP/1.0 without keep-alive (the server leaves it open)") {
    for (int i = 0; i < 3; ++i) {
      const Response r = fetch(io, *client, get(server.url("/http10")));
      CHECK(r.status == 200);
      CHECK(r.body == "old\r\n");
    }
    CHECK(server.connections() == 3);
  }
  SECTION("a truncated body: the rest is not read, the next request gets a new connection") {
    Request cut = get(server.url("/ok"));
    cut.max_body = 5;
    const Response r = fetch(io, *client, cut);
    CHECK(r.body == "hello");
    CHECK(r.body_truncated);
    const Response next = fetch(io, *client, get(server.url("/ok")));
    CHECK(next.status == 200);
    CHECK(next.body == "hello from the test server\n");
    CHECK(server.connections() == 2);
    const Response again = fetch(io, *client, get(server.url("/ok")));
    CHECK(again.status == 200);
    CHECK(server.connections() == 2);  // that one was kept
  }
  SECTION("a request cancelled mid-response") {
    std::optional<Response> cancelled;
    auto handle = client->send(get(server.url("/slow")), [&](Response r) { cancelled = std::move(r); });
    REQUIRE(run_until(io, [&] { return server.slow_bytes_sent() >= 2; }));
    handle->cancel();
    const Response next = fetch(io, *client, get(server.url("/ok")));
    CHECK(next.status == 200);
    CHECK(server.connections() == 2);
    CHECK_FALSE(cancelled.has_value());
  }
}

TEST_CASE("a pooled connection the server closed: the next request still succeeds", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);

  SECTION("closed while idle (noticed before reuse)") {
    const Response first = fetch(io, *client, get(server.url("/close-after")));
    CHECK(first.status == 200);
    REQUIRE(run_until(io, [&] { return server.server_closes() == 1; }));
    const Response next = fetch(io, *client, get(server.url("/ok")));
    CHECK(next.failure == Failure::none);
    CHECK(next.status == 200);
    CHECK(server.connections() == 2);
  }
  SECTION("closed as the request arrives (retried once on a new connection)") {
    const Response first = fetch(io, *client, get(server.url("/drop-next")));
    CHECK(first.status == 200);
    const Response next = fetch(io, *client, get(server.url("/echo")));
    CHECK(next.failure == Failure::none);
    CHECK(next.status == 200);
    CHECK(server.server_closes() == 1);
    CHECK(server.connections() == 2);
    CHECK(server.requests() == 3);  // /drop-next, the dropped /echo, the retried /echo
  }
  SECTION("dropped on a new connection too: no second retry") {
    const Response first = fetch(io, *client, get(server.url("/drop-next")));
    CHECK(first.status == 200);
    const Response next = fetch(io, *client, get(server.url("/close")));  // the retry is closed as well
    CHECK(next.failure == Failure::other);
    CHECK(server.connections() == 2);
    CHECK(server.requests() == 3);
  }
}

TEST_CASE("chunked bodies and interim responses", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  const Response chunked = fetch(io, *client, get(server.url("/chunked")));
  CHECK(chunked.status == 200);
  CHECK(chunked.body == "hello world");
  CHECK(chunked.headers.at("transfer-encoding") == "chunked");
  Request cut = get(server.url("/chunked"));
  cut.max_body = 7;
  const Response truncated = fetch(io, *client, cut);
  CHECK(truncated.body == "hello w");
  CHECK(truncated.body_truncated);
  const Response interim = fetch(io, *client, get(server.url("/interim")));
  CHECK(interim.status == 200);
  CHECK(interim.body == "final\n");
  CHECK(interim.headers.count("x-interim") == 0);  // only the final response's headers
  const Response after = fetch(io, *client, get(server.url("/ok")));
  CHECK(after.status == 200);
}

TEST_CASE("host names are resolved without blocking; unknown ones are dns failures", "[http]") {
  const std::string kind = GENERATE(as<std::string>{}, "curl", "plain");
  CAPTURE(kind);
  HttpTestServer server;
  asio::io_context io;
  auto client = client_of(kind, io);
  const Response r = fetch(io, *client, get("http://localhost:" + std::to_string(server.port()) + "/echo"));
  CHECK(r.failure == Failure::none);
  CHECK(r.status == 200);
  CHECK(r.headers.at("x-echo-host") == "localhost:" + std::to_string(server.port()));
  const Response missing = fetch(io, *client, get("http://no-such-host.invalid/ok"));
  CHECK(missing.failure == Failure::dns);
  CHECK(missing.error == "dns: cannot resolve no-such-host.invalid");
}

TEST_CASE("plain client: many sequential requests share one connection; fresh ones do not", "[http]") {
  HttpTestServer server;
  asio::io_context io;
  auto client = tend::http::make_plain_client(io);
  constexpr int count = 50;
  for (int i = 0; i < count; ++i) {
    REQUIRE(fetch(io, *client, get(server.url("/ok"))).status == 200);
  }
  CHECK(server.connections() == 1);
  for (int i = 0; i < count; ++i) {
    Request req = get(server.url("/ok"));
    req.fresh_connection = true;
    REQUIRE(fetch(io, *client, req).status == 200);
  }
  CHECK(server.connections() == 1 + count);
  // The fresh ones were not pooled either: the next reuses the first connection.
  REQUIRE(fetch(io, *client, get(server.url("/ok"))).status == 200);
  CHECK(server.connections() == 1 + count);
}

TEST_CASE("plain client: requests it does not serve fail instead of going out wrong", "[http]") {
  asio::io_context io;
  auto client = tend::http::make_plain_client(io);
  Request tls = get("https://127.0.0.1:1/");
  const Response r = fetch(io, *client, tls);
  CHECK(r.failure == Failure::other);
  CHECK(r.error == "invalid request: not a plain http request");
}

TEST_CASE("the router: plain http to the plain client, everything else to curl", "[http][router]") {
  using tend::http::detail::plain_serves;
  CHECK(plain_serves(get("http://127.0.0.1:8080/health")));
  CHECK(plain_serves(get("http://example.com")));
  CHECK_FALSE(plain_serves(get("http://user:pw@example.com/")));  // Basic auth: curl's
  CHECK_FALSE(plain_serves(get("http://user@example.com/")));
  CHECK_FALSE(plain_serves(get("https://example.com/")));
  Request unix_socket = get("http://localhost/");
  unix_socket.unix_socket = "/run/app.sock";
  CHECK_FALSE(plain_serves(unix_socket));
  Request redirects = get("http://example.com/");
  redirects.follow_redirects = true;
  CHECK_FALSE(plain_serves(redirects));
  Request expect = get("http://example.com/");
  expect.headers = {{"expect", "100-continue"}};
  CHECK_FALSE(plain_serves(expect));

  // Which client got what: each wrapped in a counter in front of the real one.
  struct Counting final : tend::http::Client {
    Counting(std::unique_ptr<tend::http::Client> inner, int& count) : inner_(std::move(inner)), count_(count) {}
    std::unique_ptr<tend::http::Handle> send(Request req, tend::http::Callback done) override {
      ++count_;
      return inner_->send(std::move(req), std::move(done));
    }
    std::unique_ptr<tend::http::Client> inner_;
    int& count_;
  };
  TempDir dir;
  const std::string path = (dir.path / "app.sock").string();
  HttpTestServer server(HttpTestServer::Options{1, path});
  asio::io_context io;
  int plain = 0;
  int curl = 0;
  auto router = tend::http::make_router(std::make_unique<Counting>(tend::http::make_plain_client(io), plain),
                                        std::make_unique<Counting>(tend::http::make_curl_client(io), curl));
  CHECK(fetch(io, *router, get(server.url("/ok"))).status == 200);
  CHECK((plain == 1 && curl == 0));
  Request follow = get(server.url("/redirect"));
  follow.follow_redirects = true;
  const Response followed = fetch(io, *router, follow);
  CHECK(followed.status == 200);
  CHECK(followed.body == "hello from the test server\n");
  CHECK((plain == 1 && curl == 1));
  Request via_socket = get("http://localhost/echo");
  via_socket.unix_socket = path;
  CHECK(fetch(io, *router, via_socket).status == 200);
  CHECK((plain == 1 && curl == 2));
  const Response tls = fetch(io, *router, get("https://127.0.0.1:" + std::to_string(closed_port()) + "/"));
  CHECK(tls.failure == Failure::connect_refused);
  CHECK((plain == 1 && curl == 3));

  // And make_client() is that router over the real clients.
  auto client = tend::http::make_client(io);
  CHECK(fetch(io, *client, get(server.url("/ok"))).status == 200);
  CHECK(fetch(io, *client, follow).status == 200);
  CHECK(fetch(io, *client, via_socket).status == 200);
}

// --- TLS ------------------------------------------------------------------------------------------

namespace {

// `openssl s_server -www` on a loopback port, killed (by its pid) when this goes. `extra` goes on
// its command line (e.g. -Verify 1 -CAfile ca.pem to require a client certificate).
class TlsServer {
 public:
  TlsServer(const fs::path& cert, const fs::path& key, const std::vector<std::string>& extra = {}) {
    port_ = closed_port();
    const std::string accept = "127.0.0.1:" + std::to_string(port_);
    const std::string cert_s = cert.string();
    const std::string key_s = key.string();
    std::vector<std::string> args = {"openssl", "s_server", "-www", "-quiet", "-accept",
                                     accept,    "-cert",    cert_s, "-key",   key_s};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // Poll until the port accepts (s_server takes a moment to start), with a deadline.
  [[nodiscard]] bool wait_ready() const {
    const auto deadline = SteadyClock::now() + 10s;
    while (SteadyClock::now() < deadline) {
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
      if (!ec) {
        return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

std::string run_capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    out += buf;
  }
  ::pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("TLS: verification, and the leaf certificate's expiry", "[http][tls]") {
  TempDir dir;
  const fs::path cert = dir.path / "cert.pem";
  const fs::path key = dir.path / "key.pem";
  const std::string generate =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 "
      "-subj /CN=localhost -keyout " +
      key.string() + " -out " + cert.string() + " >/dev/null 2>&1";
  REQUIRE(std::system(generate.c_str()) == 0);
  // notAfter as openssl itself prints it in ISO-8601 ("2026-01-04 12:00:00Z"), read by our own parser.
  std::string not_after = run_capture("openssl x509 -noout -enddate -dateopt iso_8601 -in " + cert.string());
  REQUIRE(not_after.rfind("notAfter=", 0) == 0);
  not_after = not_after.substr(9);
  while (!not_after.empty() && (not_after.back() == '\n' || not_after.back() == '\r')) {
    not_after.pop_back();
  }
  std::replace(not_after.begin(), not_after.end(), ' ', 'T');
  const auto expected_expiry = tend::parse_iso8601(not_after);
  REQUIRE(expected_expiry.has_value());

  TlsServer tls(cert, key);
  REQUIRE(tls.wait_ready());
  asio::io_context io;
  auto client = tend::http::make_curl_client(io);

  const Response verified = fetch(io, *client, get(tls.url()));
  CHECK(verified.failure == Failure::tls);
  CHECK(verified.error.rfind("tls: ", 0) == 0);
  CHECK(contains(verified.error, "self-signed certificate"));
  CHECK(verified.error.find('\n') == std::string::npos);

  Request unverified = get(tls.url());
  unverified.verify_tls = false;
  const Response r = fetch(io, *client, unverified);
  CHECK(r.failure == Failure::none);
  CHECK(r.status == 200);
  REQUIRE(r.cert_expiry.has_value());
  CHECK(*r.cert_expiry == *expected_expiry);
  const auto ahead = *r.cert_expiry - std::chrono::system_clock::now();
  CHECK(ahead > 72h - 10min);
  CHECK(ahead <= 72h);
}

TEST_CASE("TLS: a private CA and a client certificate (mutual TLS)", "[http][tls]") {
  TempDir dir;
  tend::test::TestPki pki;
  REQUIRE(tend::test::make_test_pki(dir.path, pki));
  // -Verify 1: the handshake fails without a client certificate signed by the CA.
  TlsServer tls(pki.server_cert, pki.server_key, {"-Verify", "1", "-CAfile", pki.ca.string()});
  REQUIRE(tls.wait_ready());
  asio::io_context io;
  auto client = tend::http::make_curl_client(io);

  Request mutual = get(tls.url());
  mutual.tls_ca = pki.ca.string();
  mutual.tls_cert = pki.client_cert.string();
  mutual.tls_key = pki.client_key.string();
  const Response ok = fetch(io, *client, mutual);
  CHECK(ok.failure == Failure::none);
  CHECK(ok.status == 200);

  Request no_client_cert = mutual;
  no_client_cert.tls_cert.clear();
  no_client_cert.tls_key.clear();
  no_client_cert.fresh_connection = true;  // not the connection the certificate opened
  const Response refused = fetch(io, *client, no_client_cert);
  CHECK(refused.failure != Failure::none);
  CHECK(refused.status == 0);

  Request wrong_ca = mutual;
  wrong_ca.tls_ca = pki.other_ca.string();
  wrong_ca.fresh_connection = true;
  const Response unverified = fetch(io, *client, wrong_ca);
  CHECK(unverified.failure == Failure::tls);
  CHECK(unverified.error.rfind("tls: ", 0) == 0);

  Request missing_key = mutual;
  missing_key.tls_key = (dir.path / "absent.key").string();
  missing_key.fresh_connection = true;
  const Response bad_key = fetch(io, *client, missing_key);
  CHECK(bad_key.failure == Failure::tls);
}

// --- pure parts ------------------------------------------------------------------------------------

TEST_CASE("failure classification and error text", "[http][detail]") {
  using tend::http::detail::classify;
  using tend::http::detail::describe;
  Request req = get("https://user:pa55word@api.example.com:8443/health?key=topsecret");
  CHECK(classify(CURLE_OK) == Failure::none);
  CHECK(classify(CURLE_COULDNT_CONNECT) == Failure::connect_refused);
  CHECK(classify(CURLE_OPERATION_TIMEDOUT) == Failure::timeout);
  CHECK(classify(CURLE_COULDNT_RESOLVE_HOST) == Failure::dns);
  CHECK(classify(CURLE_PEER_FAILED_VERIFICATION) == Failure::tls);
  CHECK(classify(CURLE_SSL_CONNECT_ERROR) == Failure::tls);
  CHECK(classify(CURLE_TOO_MANY_REDIRECTS) == Failure::too_many_redirects);
  CHECK(classify(CURLE_GOT_NOTHING) == Failure::other);

  CHECK(describe(CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host: api.example.com", req) ==
        "dns: cannot resolve api.example.com");
  CHECK(describe(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: certificate has expired", req) ==
        "tls: certificate has expired");
  CHECK(describe(CURLE_SSL_CONNECT_ERROR, "", req).rfind("tls: ", 0) == 0);
  req.timeout = 10s;
  CHECK(describe(CURLE_OPERATION_TIMEDOUT, "Operation timed out after 10001 milliseconds", req) == "timeout after 10s");
  req.timeout = 1500ms;
  CHECK(describe(CURLE_OPERATION_TIMEDOUT, "", req) == "timeout after 1s500ms");
  const std::string leaky = describe(CURLE_RECV_ERROR, "failed\r\nfor " + req.url + " and topsecret and pa55word", req);
  CHECK(leaky == "failed for https://api.example.com:8443 and *** and ***");
}

TEST_CASE("one URL type: config validation, redaction and transfers parse alike", "[http][url]") {
  using tend::http::Url;
  CHECK(Url::parse("ftp://x/").error() == "url must start with http:// or https://");
  CHECK(Url::parse("http://").error() == "url has no host");
  CHECK(Url::parse("http://h:99999/").error() == "url port must be a number from 1 to 65535");
  CHECK(Url::parse("http://h/a b").error() == "url must not contain spaces or control characters");
  auto u = Url::parse("https://user:pa55word@hooks.example:8443/services/T0/B0/SECRETTOKEN?token=abcd#frag");
  REQUIRE(u);
  CHECK(u->scheme() == "https");
  CHECK(u->host() == "hooks.example");
  CHECK(u->port() == 8443);
  CHECK(u->origin() == "https://hooks.example:8443");
  // Every piece that may carry a secret is scrubbed, whole or echoed in parts by a server.
  const std::string echoed = "POST " + u->text() +
                             " failed; Cannot POST /services/T0/B0/SECRETTOKEN; token abcd; "
                             "user pa55word; SECRETTOKEN";
  const std::string clean = u->scrub(echoed);
  INFO(clean);
  CHECK(clean.find("SECRETTOKEN") == std::string::npos);
  CHECK(clean.find("pa55word") == std::string::npos);
  CHECK(clean.find("abcd") == std::string::npos);
  CHECK(clean.find("https://hooks.example:8443") != std::string::npos);
  CHECK(tend::http::redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET") == "https://hooks.slack.com");
  CHECK(tend::http::redact_url("https://user:pa55@example.com:8443/x?token=abc#f") == "https://example.com:8443");
  CHECK(tend::http::redact_url("http://127.0.0.1:3000/health?key=s3cret") == "http://127.0.0.1:3000");
  CHECK(tend::http::redact_url("not a url s3cret") == "(redacted)");
  // A URL the transfer would refuse is refused before it is sent, with the config's words.
  tend::http::Request bad;
  bad.url = "http://h:0/";
  CHECK(tend::http::detail::check_request(bad).error() == "invalid request: url port must be a number from 1 to 65535");
}

// tend parses URLs itself (so a config of plain-http probes never loads libcurl), and libcurl reads
// the same text again for every transfer it makes: what tend accepts, libcurl must accept with the
// same host, port and request target (fuzz_url checks the same on generated input).
TEST_CASE("tend's URL parse agrees with libcurl's on what it accepts", "[http][url]") {
  using tend::http::Url;
  struct Case {
    const char* url;
    const char* host;
    int port;  // 0: none named
    const char* target;
  };
  const Case accepted[] = {
      {"http://HoSt.Example/A", "HoSt.Example", 0, "/A"},
      {"http://127.1/", "127.0.0.1", 0, "/"},
      {"http://0x7f.0.0.1:8080", "127.0.0.1", 8080, "/"},
      {"http://a/b/../c/./d", "a", 0, "/c/d"},
      {"http://a/b/..", "a", 0, "/"},
      {"http://h/a/./../..", "h", 0, "/"},
      {"http://a?x=1", "a", 0, "/?x=1"},
      {"http://a#f", "a", 0, "/"},
      {"http://u:p:q@h/", "h", 0, "/"},
      {"http://@h/", "h", 0, "/"},
      {"http://h:080/", "h", 80, "/"},
      {"http://h.com:/x", "h.com", 0, "/x"},
      {"http://[::1]:9000/x?y=1#f", "[::1]", 9000, "/x?y=1"},
      {"http://[::0]/", "[::]", 0, "/"},
      {"https://h/%zz?%zz#%zz", "h", 0, "/%zz?%zz"},
      {"http://a/?a=1?b#c#d", "a", 0, "/?a=1?b"},
      {"http://a/b|c?q={x}", "a", 0, "/b|c?q={x}"},
      {"http://a_b.-c~/", "a_b.-c~", 0, "/"},
      {"http://h//x", "h", 0, "//x"},
      {"http://\xc3\xa9.example/\xc3\xa9", "\xc3\xa9.example", 0, "/\xc3\xa9"},
  };
  for (const auto& c : accepted) {
    INFO(c.url);
    auto u = Url::parse(c.url);
    REQUIRE(u);
    CHECK(u->host() == c.host);
    CHECK(u->port() == (c.port == 0 ? std::nullopt : std::optional<int>(c.port)));
    CHECK(u->target() == c.target);
    CURLU* curl = curl_url();
    REQUIRE(curl_url_set(curl, CURLUPART_URL, c.url, 0) == CURLUE_OK);
    char* host = nullptr;
    char* path = nullptr;
    REQUIRE(curl_url_get(curl, CURLUPART_HOST, &host, 0) == CURLUE_OK);
    REQUIRE(curl_url_get(curl, CURLUPART_PATH, &path, 0) == CURLUE_OK);
    CHECK(std::string(host) == c.host);
    CHECK(u->target().starts_with(path));
    curl_free(host);
    curl_free(path);
    curl_url_cleanup(curl);
  }
  // Refused, though libcurl would take some of them: a guessed slash, a host percent-encoded or
  // with an IPv6 zone, port 0.
  const std::pair<const char*, const char*> refused[] = {
      {"http:/h/", "url must start with http:// or https://"},
      {"http://h%41/", "url has an invalid host"},
      {"http://[fe80::1%25eth0]/", "url has an invalid host"},
      {"http://[zz]/", "url has an invalid host"},
      {"http://[::1/", "url has an invalid host"},
      {"http://[::1]x/", "url has an invalid host"},
      {"http://u@v@h/", "url has an invalid host"},
      {"http://h!/", "url has an invalid host"},
      {"http://h\\x/", "url has an invalid host"},
      {"http://:80/", "url has no host"},
      {"http://h:0/", "url port must be a number from 1 to 65535"},
      {"http://h:+80/", "url port must be a number from 1 to 65535"},
      {"http://h:8a/", "url port must be a number from 1 to 65535"},
      {"http://h:65536/", "url port must be a number from 1 to 65535"},
  };
  for (const auto& [url, error] : refused) {
    INFO(url);
    CHECK(Url::parse(url).error() == error);
  }
}

TEST_CASE("origins and redaction", "[http][detail]") {
  using tend::http::detail::origin_of;
  using tend::http::detail::redact;
  CHECK(origin_of("https://u:p@example.com/a?b=c") == "https://example.com");
  CHECK(origin_of("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080");
  CHECK(origin_of("http://[::1]:9000/") == "http://[::1]:9000");
  CHECK(origin_of("not a url").empty());
  CHECK(redact("see http://h/p?token=abcd#frag now", "http://h/p?token=abcd#frag") == "see http://h now");
  CHECK(redact(std::string(1000, 'x'), "http://h/").size() == 300);
}

TEST_CASE("requests are checked before they are sent", "[http][detail]") {
  using tend::http::detail::check_request;
  Request ok = get("http://h/");
  ok.method = "patch";
  CHECK(check_request(ok).ok());
  CHECK(ok.method == "PATCH");
  Request bad_method = get("http://h/");
  bad_method.method = "GET /x HTTP/1.1\r\n";
  CHECK(check_request(bad_method).error() == "invalid request: method");
  Request bad_name = get("http://h/");
  bad_name.headers = {{"X A", "v"}};
  CHECK(check_request(bad_name).error() == "invalid request: header name");
  Request bad_value = get("http://h/");
  bad_value.headers = {{"Authorization", "Bearer x\nX-Evil: 1"}};
  CHECK(check_request(bad_value).error() == "invalid request: header Authorization");
  Request no_timeout = get("http://h/");
  no_timeout.timeout = 0ms;
  CHECK(check_request(no_timeout).error() == "invalid request: timeout must be positive");
  Request no_url;
  CHECK(check_request(no_url).error() == "invalid request: no url");
}

TEST_CASE("certificate dates as OpenSSL prints them", "[http][detail]") {
  using tend::http::detail::parse_cert_time;
  CHECK(parse_cert_time("Jan  1 00:00:00 2027 GMT") == tend::parse_iso8601("2027-01-01T00:00:00Z"));
  CHECK(parse_cert_time(" Feb 29 12:34:56 2028 GMT") == tend::parse_iso8601("2028-02-29T12:34:56Z"));
  CHECK(parse_cert_time("Dec 31 23:59:59.250 2030 GMT") == tend::parse_iso8601("2030-12-31T23:59:59Z"));
  CHECK_FALSE(parse_cert_time("Feb 30 00:00:00 2027 GMT").has_value());
  CHECK_FALSE(parse_cert_time("Foo  1 00:00:00 2027 GMT").has_value());
  CHECK_FALSE(parse_cert_time("Jan  1 24:00:00 2027 GMT").has_value());
  CHECK_FALSE(parse_cert_time("Jan  1 00:00:00 2027").has_value());
  CHECK_FALSE(parse_cert_time("").has_value());
}

// --- figures (hidden: ./test_http "[.bench]") -----------------------------------------------------

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("figures: throughput with and without reuse, memory per request in flight", "[.bench]") {
  {
    HttpTestServer server;
    asio::io_context io;
    auto client = tend::http::make_curl_client(io);
    for (bool fresh : {false, true}) {
      constexpr int count = 1000;
      const int connections_before = server.connections();
      int done = 0;
      int ok = 0;
      std::vector<std::unique_ptr<tend::http::Handle>> handles;
      const auto start = SteadyClock::now();
      for (int i = 0; i < count; ++i) {
        Request req = get(server.url("/ok"));
        req.fresh_connection = fresh;
        handles.push_back(client->send(req, [&](Response r) {
          ok += r.status == 200 ? 1 : 0;
          ++done;
        }));
      }
      REQUIRE(run_until(
          io, [&] { return done == count; }, 60s));
      const auto ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
      CHECK(ok == count);
      WARN(count << " requests " << (fresh ? "fresh connections" : "with reuse") << ": " << ms << " ms, "
                 << server.connections() - connections_before << " connections");
    }
  }
  {
    // Hung targets on 250 ports (8 connections each at most): every request holds a connection.
    // The server runs in a child process so its memory is not counted as ours.
    constexpr int ports = 250;
    constexpr int count = 2000;
    int to_parent[2];
    int to_child[2];
    REQUIRE(::pipe(to_parent) == 0);
    REQUIRE(::pipe(to_child) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(to_parent[0]);
      ::close(to_child[1]);
      struct rlimit lim = {20000, 20000};
      ::setrlimit(RLIMIT_NOFILE, &lim);
      {
        HttpTestServer server(HttpTestServer::Options{ports, {}});
        for (int i = 0; i < ports; ++i) {
          const std::uint16_t p = server.port(static_cast<std::size_t>(i));
          (void)!::write(to_parent[1], &p, sizeof p);
        }
        char c = 0;
        (void)!::read(to_child[0], &c, 1);  // until the parent is done
      }
      ::_exit(0);
    }
    ::close(to_parent[1]);
    ::close(to_child[0]);
    std::vector<std::uint16_t> port_list(ports);
    for (auto& p : port_list) {
      REQUIRE(::read(to_parent[0], &p, sizeof p) == static_cast<ssize_t>(sizeof p));
    }
    {
      asio::io_context io;
      auto client = tend::http::make_curl_client(io);
      io.poll();
      const long before = rss_kib();
      std::vector<std::unique_ptr<tend::http::Handle>> handles;
      int done = 0;
      for (int i = 0; i < count; ++i) {
        Request req =
            get("http://127.0.0.1:" + std::to_string(port_list[static_cast<std::size_t>(i % ports)]) + "/hang");
        req.timeout = 60s;
        handles.push_back(client->send(req, [&](Response) { ++done; }));
      }
      const auto start = SteadyClock::now();
      // Let every request connect and send; the process then holds `count` live connections.
      run_until(
          io, [] { return false; }, 3s);
      const long during = rss_kib();
      int fds = 0;
      for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        ++fds;
      }
      WARN(count << " requests in flight: " << fds << " open fds, RSS " << before << " -> " << during << " KiB ("
                 << (during - before) * 1024 / count << " bytes per request), " << done << " finished early, "
                 << std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count() << " ms");
      const auto drop_start = SteadyClock::now();
      client.reset();
      WARN("destroying the client with them in flight: "
           << std::chrono::duration_cast<milliseconds>(SteadyClock::now() - drop_start).count() << " ms");
    }
    ::close(to_child[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(to_parent[0]);
  }
}
