// Socket request lines (anyone who may open the socket writes them): the line parser the server
// runs on every line, then the command table's dispatch and the handlers, on the daemon's real
// components (real kinds, real SQLite store, alerting), with a fake launcher, HTTP client and
// clock so that nothing runs or leaves the process. Peers alternate between a plain user and an
// admin. Properties: no crash, no exception past dispatch, at most one reply, and every reply a
// document with a boolean "ok" (and an "error" string when false) that serializes to valid UTF-8
// which parses again (SPEC: no text from outside can make a reply unreadable).

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "alerts/engine.hpp"
#include "alerts/heartbeat.hpp"
#include "builtins/builtins.hpp"
#include "commands/commands.hpp"
#include "config/loader.hpp"
#include "control/server.hpp"
#include "entries/registry.hpp"
#include "plugins/plugins.hpp"
#include "remedies/remedy.hpp"
#include "state/store.hpp"
#include "support/fake_http.hpp"
#include "support/fake_launcher.hpp"
#include "support/manual_clock.hpp"
#include "util/text.hpp"

namespace {

using namespace tend;

constexpr const char* kConfig = R"(
daemon: {host: fuzz-1, environment: production}
notifiers:
  hook: {type: webhook, url: "https://hooks.example/x"}
alerts:
  routes: [{notify: [hook]}]
jobs:
  backup: {schedule: "@daily", command: ["true"], timeout: 1m}
  report: {schedule: "0 9 * * *", builtin: digest}
probes:
  api: {url: "http://127.0.0.1:9/health"}
checks:
  nightly: {schedule: "0 3 * * *", grace: 1h}
  beat: {every: 5m}
)";

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// The daemon's components, built once (as tendd builds them) and kept for the whole run.
struct World {
  World() : dir(make_dir()), clock(*parse_iso8601("2026-11-21T10:00:00Z")) {
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    loaded = store->start(clock.now());
    const config::Sources none;
    auto r = config::load_text(kConfig, "/etc/tend/tend.yaml", none, plugins::config());
    check(r.config.has_value());
    cfg = std::move(*r.config);
    alerts = std::make_unique<alerts::Engine>(alerts::Context{clock, *store, http, "tend-fuzz"});
    alerts->start(cfg, loaded);
    bus.subscribe([this](const events::Event& e) { alerts->on_event(e); });
    heartbeat = std::make_unique<alerts::Heartbeat>(clock, http);
    runner = std::make_unique<builtins::Runner>(builtins::Context{
        clock, *store, *alerts, [this](const std::string& name) { return registry->find(name); }, cfg.daemon});
    services = std::make_unique<entries::Services>(
        entries::Services{io, clock, *store, bus, launcher, http, remedies, *runner, spread, cfg.daemon,
                          clock.mono_now(), [this] { return ++run_id; }, [](Duration d) { return d; }});
    registry = std::make_unique<entries::Registry>(*services, plugins::kinds());
    registry->start(cfg.entries, loaded);
    commands = std::make_unique<commands::Services>(
        commands::Services{clock,
                           *registry,
                           *store,
                           *alerts,
                           *heartbeat,
                           [] {
                             return boost::json::object{{"version", "fuzz"}};
                           },
                           [](control::Reply reply) { reply(control::error_reply("reload is not available here")); },
                           [] { return std::string(); },  // metrics_text
                           {},                            // cluster_section, cluster_document, cluster_runs:
                           {},                            // a single host
                           {}});
  }

  // On /dev/shm when there is one: the store commits after every input, and a disk's fsync would
  // be most of the time spent.
  static std::filesystem::path make_dir() {
    std::error_code ec;
    const auto base = std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                                    : std::filesystem::temp_directory_path();
    auto d = base / ("tend-fuzz-request-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }

  // Let the store's worker and the loop finish what the request started.
  void drain() {
    bool done = false;
    store->flush([&done] { done = true; });
    while (!done) {
      io.run_one();
    }
    io.poll();
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  std::filesystem::path dir;
  testing::ManualClock clock;
  std::unique_ptr<state::Store> store;
  state::Loaded loaded;
  config::Config cfg;
  events::Bus bus;
  testing::FakeLauncher launcher;
  testing::FakeHttp http;
  remedies::Context remedies{io, launcher};
  Spread spread;
  std::int64_t run_id = 0;
  std::unique_ptr<alerts::Engine> alerts;
  std::unique_ptr<alerts::Heartbeat> heartbeat;
  std::unique_ptr<builtins::Runner> runner;
  std::unique_ptr<entries::Services> services;
  std::unique_ptr<entries::Registry> registry;
  std::unique_ptr<commands::Services> commands;
};

World& world() {
  // Never destroyed (libFuzzer exits from anywhere); its folder goes at exit.
  static World* w = [] {
    auto* made = new World;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(world().dir, ec);
    });
    return made;
  }();
  return *w;
}

// One request line as the server would take it, from `peer`.
void serve(World& w, std::string_view line, const control::Peer& peer) {
  auto request = control::parse_request(line);
  if (!request) {
    check(request.error().starts_with("malformed request: "));
    return;
  }
  // A reply may come after this input (run --wait): the count outlives it.
  auto replies = std::make_shared<int>(0);
  commands::dispatch(*w.commands, *request, peer, [replies](const boost::json::object& reply) {
    ++*replies;
    check(*replies == 1);
    // SPEC: no text from outside can make a reply unreadable. The client parses what it gets.
    const std::string wire = boost::json::serialize(reply);
    check(valid_utf8(wire) == wire);
    boost::system::error_code ec;
    (void)boost::json::parse(wire, ec);
    check(!ec);
    const auto* ok = reply.if_contains("ok");
    check(ok != nullptr && ok->is_bool());
    if (!ok->as_bool()) {
      const auto* error = reply.if_contains("error");
      check(error != nullptr && error->is_string() && !error->as_string().empty());
    }
  });
  w.drain();
}

}  // namespace

// Input: request lines, as one connection sends them (a later one sees what an earlier one did,
// e.g. `silence` then `status`).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  World& w = world();
  control::Peer peer;
  peer.pid = 4242;
  peer.uid = size % 2 == 0 ? 0 : 1000;
  peer.gid = peer.uid;
  peer.admin = peer.uid == 0;
  while (!in.empty()) {
    const auto nl = in.find('\n');
    const auto line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    if (!line.empty()) {
      serve(w, line, peer);
    }
  }
  // Undo what the requests left, so that an input does the same on its own as after others.
  control::Peer root;
  root.admin = true;
  serve(w, R"({"cmd":"unsilence","all":true})", root);
  for (const auto& entry : w.registry->all()) {
    entry->resume();
  }
  w.drain();
  return 0;
}
