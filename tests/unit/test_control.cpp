// The status socket server alone: idle clients are closed even when they keep sending empty
// lines, and a peer's credentials decide what it may do.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "control/server.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

TEST_CASE("an idle connection is closed; empty lines are not activity", "[control][abuse]") {
  const auto dir = fs::temp_directory_path() / ("tend-control-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  boost::asio::io_context io;
  tend::control::Options options;
  options.path = (dir / "s.sock").string();
  options.idle_timeout = 300ms;
  int requests = 0;
  tend::control::Server server(io, options,
                               [&](const boost::json::object&, const tend::control::Peer&, tend::control::Reply reply) {
                                 ++requests;
                                 reply(boost::json::object{{"ok", true}});
                               });
  server.start();
  const int fd = connect_to(options.path);
  // A client sending an empty line every 50 ms: before the fix it kept its slot forever.
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - start < 5s) {
    if (::send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
      closed = true;
      break;
    }
    io.run_for(50ms);
    char c = 0;
    const auto n = ::recv(fd, &c, 1, MSG_DONTWAIT);
    closed = n == 0;
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(requests == 0);
  ::close(fd);
  server.stop();
  fs::remove_all(dir);
}

TEST_CASE("a request line is a JSON object with a string cmd; anything else is malformed", "[control][parse]") {
  using tend::control::parse_request;
  auto ok = parse_request(R"({"cmd":"status","n":3})");
  REQUIRE(ok);
  CHECK(ok->at("cmd").as_string() == "status");
  CHECK(ok->at("n").as_int64() == 3);

  CHECK(parse_request("").error().starts_with("malformed request: "));
  CHECK(parse_request(R"({"cmd":"status")").error().starts_with("malformed request: "));
  CHECK(parse_request(R"({"cmd":"a"} {"cmd":"b"})").error().starts_with("malformed request: "));
  CHECK(parse_request(R"(["status"])").error() == "malformed request: expected a JSON object");
  CHECK(parse_request(R"({"name":"x"})").error() == "malformed request: missing \"cmd\"");
  CHECK(parse_request(R"({"cmd":1})").error() == "malformed request: missing \"cmd\"");
  CHECK(parse_request(std::string(100, '[') + std::string(100, ']')).error().starts_with("malformed request: "));
}
