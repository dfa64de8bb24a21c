// Remedies with the real launcher and real processes (tests/helpers/tend_test_child plays the
// command), pm2's jlist read from captured pm2 output, and the system bus connection against
// addresses that fail in known ways (and a private dbus-daemon when one is installed). Restarting
// real PM2 apps and systemd units is the integration tests' part.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "process/launcher.hpp"
#include "remedies/common.hpp"
#include "remedies/pm2.hpp"
#include "remedies/remedy.hpp"
#include "remedies/system_bus.hpp"
#include "support/preconditions.hpp"

#ifndef TEND_TEST_CHILD
#error "TEND_TEST_CHILD must name the tend_test_child binary (see tests/helpers/CMakeLists.txt)"
#endif

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using tend::remedies::Context;
using tend::remedies::make_remedy;
using tend::remedies::Outcome;
using tend::remedies::Remedy;
using tend::remedies::RemedyConfig;
using namespace tend::remedies::detail;

namespace {

template <class Done>
bool run_until(asio::io_context& io, Done done, milliseconds limit = 20s) {
  auto guard = asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    io.run_one_for(10ms);
  }
  return true;
}

struct Fixture {
  asio::io_context io;  // first: outlives the launcher, the bus and every remedy
  std::unique_ptr<tend::process::Launcher> launcher = tend::process::make_posix_launcher(io);
  Context ctx{io, *launcher};

  ~Fixture() { ctx.system_bus.reset(); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;
  Fixture() = default;

  std::unique_ptr<Remedy> make(const RemedyConfig& cfg) {
    auto r = make_remedy(cfg, ctx);
    REQUIRE(r);
    return r;
  }

  std::optional<Outcome> run(Remedy& remedy, milliseconds limit = 20s) {
    std::optional<Outcome> out;
    remedy.run([&out](Outcome o) { out = std::move(o); });
    run_until(
        io, [&] { return out.has_value(); }, limit);
    return out;
  }
};

/// A `restart:` mapping read by the variants' own readers, as config reads it.
RemedyConfig restart(const std::string& yaml) {
  auto r = tend::remedies::parse_restart(yaml);
  INFO(yaml);
  REQUIRE(r);
  return *r;
}

RemedyConfig exec(std::vector<std::string> args) {
  boost::json::array argv{TEND_TEST_CHILD};
  for (const auto& a : args) {
    argv.emplace_back(a);
  }
  return restart("{exec: " + boost::json::serialize(argv) + "}");
}

RemedyConfig remedy(const std::string& type, const std::string& target, const std::string& user = "") {
  return restart("{" + type + ": \"" + target + "\"" + (user.empty() ? "" : ", user: " + user) + "}");
}

// What `pm2 jlist` printed (pm2 7.0.4) in an empty PM2_HOME: it started a daemon first.
const std::string kEmptyDaemon =
    "\n"
    "                        -------------\n"
    "\n"
    "__/\\\\\\\\\\\\\\\\\\\\\\\\\\____/\\\\\\\\____________/\\\\\\\\____/\\\\\\\\\\\\\\\\\\_____\n"
    " _\\/\\\\\\/////////\\\\\\_\\/\\\\\\\\\\\\________/\\\\\\\\\\\\__/\\\\\\///////\\\\\\___\n"
    "  _\\/\\\\\\_______\\/\\\\\\_\\/\\\\\\//\\\\\\____/\\\\\\//\\\\\\_\\///______\\//\\\\\\__\n"
    "   _\\/\\\\\\\\\\\\\\\\\\\\\\\\\\/__\\/\\\\\\\\///\\\\\\/\\\\\\/_\\/\\\\\\___________/\\\\\\/___\n"
    "    _\\/\\\\\\/////////____\\/\\\\\\__\\///\\\\\\/___\\/\\\\\\________/\\\\\\//_____\n"
    "     _\\/\\\\\\_____________\\/\\\\\\____\\///_____\\/\\\\\\_____/\\\\\\//________\n"
    "      _\\/\\\\\\_____________\\/\\\\\\_____________\\/\\\\\\___/\\\\\\/___________\n"
    "       _\\/\\\\\\_____________\\/\\\\\\_____________\\/\\\\\\__/\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\_\n"
    "        _\\///______________\\///______________\\///__\\///////////////__\n"
    "\n"
    "\n"
    "                          Runtime Edition\n"
    "\n"
    "        PM2 is a Production Process Manager for Node.js applications\n"
    "                     with a built-in Load Balancer.\n"
    "\n"
    "                Start and Daemonize any application:\n"
    "                $ pm2 start app.js\n"
    "\n"
    "                Load Balance 4 instances of api.js:\n"
    "                $ pm2 start api.js -i 4\n"
    "\n"
    "                Monitor in production:\n"
    "                $ pm2 monitor\n"
    "\n"
    "                Make pm2 auto-boot at server restart:\n"
    "                $ pm2 startup\n"
    "\n"
    "                To go further checkout:\n"
    "                http://pm2.io/\n"
    "\n"
    "\n"
    "                        -------------\n"
    "\n"
    "\x1b"
    "[32m[PM2] \x1b"
    "[39mSpawning PM2 daemon with pm2_home=/tmp/pm2try/home\n"
    "\x1b"
    "[32m[PM2] \x1b"
    "[39mPM2 Successfully daemonized\n"
    "[]";

// `pm2 jlist` with four entries (pm2 7.0.4; each pm2_env cut down to the fields that matter, and
// an env with a secret that must never reach a record): a stopped fork app, a two-instance cluster
// app and an errored one.
const std::string kFourApps =
    R"([{"pid":0,"name":"tend-test-app","pm2_env":{"name":"tend-test-app","namespace":"default","autorestart":true,)"
    R"("username":"root","pm_exec_path":"/srv/app.js","pm_cwd":"/srv","exec_interpreter":"node",)"
    R"("exec_mode":"fork_mode","instances":1,"status":"stopped","pm_uptime":1795317327397,)"
    R"("created_at":1795317327279,"pm_id":0,"restart_time":1,)"
    R"("unstable_restarts":0,"version":"N/A","node_version":"20.20.2","env":{"PM2_HOME":"/home/ubuntu/.pm2",)"
    R"("SECRET_TOKEN":"do-not-log"}},"pm_id":0,"monit":{"memory":0,"cpu":0}},{"pid":23720,"name":"tend-cluster",)"
    R"("pm2_env":{"name":"tend-cluster","namespace":"default","instances":2,"autorestart":true,"username":"root",)"
    R"("exec_mode":"cluster_mode","status":"online","pm_id":1,"restart_time":0,"unstable_restarts":0,)"
    R"("env":{"SECRET_TOKEN":"do-not-log"}},"pm_id":1,"monit":{"memory":55414784,"cpu":0}},{"pid":23727,)"
    R"("name":"tend-cluster","pm2_env":{"name":"tend-cluster","namespace":"default","instances":2,)"
    R"("exec_mode":"cluster_mode",)"
    R"("status":"online","pm_id":2,"restart_time":0,"unstable_restarts":0,"env":{"SECRET_TOKEN":"do-not-log"}},)"
    R"("pm_id":2,"monit":{"memory":55422976,"cpu":0}},{"pid":0,"name":"tend-crash","pm2_env":{"name":"tend-crash",)"
    R"("namespace":"default","exec_mode":"fork_mode","status":"errored","created_at":null,"pm_id":3,"restart_time":1,)"
    R"("unstable_restarts":0,"env":{"SECRET_TOKEN":"do-not-log"}},"pm_id":3,"monit":{"memory":0,"cpu":0}}])";

Pm2Process proc(std::int64_t id, std::int64_t pid, std::int64_t restarts, const std::string& status,
                const std::string& name = "api") {
  return Pm2Process{name, id, pid, restarts, status};
}

// A Unix socket that accepts connections into its backlog and never says a word.
struct SilentSocket {
  fs::path path;
  int fd = -1;
  explicit SilentSocket(fs::path p) : path(std::move(p)) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 8) == 0);
  }
  ~SilentSocket() {
    ::close(fd);
    fs::remove(path);
  }
  SilentSocket(const SilentSocket&) = delete;
  SilentSocket& operator=(const SilentSocket&) = delete;
};

fs::path temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "tend-remedies-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("config accepts exactly the registered types, read by their own readers", "[remedies][registry]") {
  std::vector<std::string_view> types;
  for (const auto* v : tend::remedies::variants()) {
    types.push_back(v->type);
  }
  CHECK(types == std::vector<std::string_view>{"pm2", "systemd", "exec"});
  auto unknown = tend::remedies::parse_restart("{cron: x}");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().find("exactly one of pm2, systemd or exec is required") != std::string::npos);
  auto misplaced = tend::remedies::parse_restart("{systemd: api.service, user: app}");
  REQUIRE_FALSE(misplaced);
  CHECK(misplaced.error().find("'user' applies only to pm2 restarts") != std::string::npos);
  Fixture f;
  CHECK(f.make(remedy("pm2", "api", "ubuntu"))->describe() == "pm2 restart api (user ubuntu)");
  CHECK(f.make(remedy("pm2", "api"))->describe() == "pm2 restart api");
  CHECK(f.make(remedy("systemd", "api.service"))->describe() == "systemd restart api.service");
  CHECK(f.make(exec({"exit", "0"}))->describe() == std::string("exec ") + TEND_TEST_CHILD);
}

TEST_CASE("exec: exit 0 is success, anything else is not, with the output kept", "[remedies][exec]") {
  Fixture f;
  auto ok = f.make(exec({"print", "restarted api", "exit", "0"}));
  auto out = f.run(*ok);
  REQUIRE(out);
  CHECK(out->ok);
  CHECK(out->detail == std::string("exec ") + TEND_TEST_CHILD + ": exit 0");
  CHECK(out->output == "restarted api\n");

  auto bad = f.make(exec({"eprint", "no such app", "exit", "3"}));
  out = f.run(*bad);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail == std::string("exec ") + TEND_TEST_CHILD + ": exit 3");
  CHECK(out->output == "no such app\n");

  auto killed = f.make(exec({"raise", "9"}));
  out = f.run(*killed);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail == std::string("exec ") + TEND_TEST_CHILD + ": killed by SIGKILL");
}

TEST_CASE("exec: a command over the timeout is killed and reported", "[remedies][exec]") {
  Fixture f;
  f.ctx.command_timeout = 200ms;
  auto r = f.make(exec({"print", "working", "sleep", "30000", "exit", "0"}));
  const auto start = std::chrono::steady_clock::now();
  auto out = f.run(*r);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail == std::string("exec ") + TEND_TEST_CHILD + ": timeout after 200ms");
  CHECK(out->output == "working\n");
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(out->duration >= 200ms);
}

TEST_CASE("exec: a program that does not exist fails the restart", "[remedies][exec]") {
  Fixture f;
  auto r = f.make(restart("{exec: [/nonexistent/fix-api, --now]}"));
  auto out = f.run(*r);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail.starts_with("exec /nonexistent/fix-api: "));
  CHECK(out->detail.find("No such file or directory") != std::string::npos);
}

TEST_CASE("done runs on the loop, once; a second run while one is in flight fails", "[remedies][exec]") {
  Fixture f;
  auto r = f.make(exec({"sleep", "100", "exit", "0"}));
  std::vector<Outcome> first;
  std::vector<Outcome> second;
  r->run([&](Outcome o) { first.push_back(std::move(o)); });
  r->run([&](Outcome o) { second.push_back(std::move(o)); });
  CHECK(first.empty());
  CHECK(second.empty());  // not inside run() either
  REQUIRE(run_until(f.io, [&] { return !first.empty(); }));
  REQUIRE(second.size() == 1);
  CHECK_FALSE(second.front().ok);
  CHECK(second.front().detail.ends_with("a restart is already running"));
  CHECK(first.front().ok);
  // And the remedy is free again.
  auto again = f.run(*r);
  REQUIRE(again);
  CHECK(again->ok);
  f.io.run_for(50ms);
  CHECK(first.size() == 1);
}

TEST_CASE("destroying a remedy abandons its run: the command is killed, no callback", "[remedies][exec]") {
  Fixture f;
  const auto dir = temp_dir();
  const auto pidfile = (dir / "pid").string();
  // sh writes its pid and becomes the sleeping child: the pid is the command's.
  auto r = f.make(restart("{exec: [/bin/sh, -c, " +
                          boost::json::serialize(boost::json::value("echo $$ > " + pidfile + "; exec " +
                                                                    std::string(TEND_TEST_CHILD) + " sleep 30000")) +
                          "]}"));
  bool called = false;
  r->run([&](const Outcome&) { called = true; });
  REQUIRE(run_until(f.io, [&] { return fs::exists(pidfile) && fs::file_size(pidfile) > 0; }));
  int pid = 0;
  std::ifstream(pidfile) >> pid;
  REQUIRE(pid > 1);
  const auto proc = fs::path("/proc") / std::to_string(pid);
  REQUIRE(fs::exists(proc));
  r.reset();
  // Killed and reaped: its /proc entry goes (a zombie would keep it).
  CHECK(run_until(
      f.io, [&] { return !fs::exists(proc); }, 10s));
  f.io.run_for(50ms);
  CHECK_FALSE(called);
  fs::remove_all(dir);
}

TEST_CASE("pm2 jlist: the list after pm2's banner, and nothing of the JSON in the record", "[remedies][pm2]") {
  auto empty = parse_jlist(kEmptyDaemon);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  CHECK(spawned_daemon(kEmptyDaemon));
  const auto remarks = jlist_remarks(kEmptyDaemon);
  CHECK(remarks ==
        "[PM2] Spawning PM2 daemon with pm2_home=/tmp/pm2try/home\n"
        "[PM2] PM2 Successfully daemonized\n");

  auto list = parse_jlist(kFourApps + "\n");
  REQUIRE(list.ok());
  REQUIRE(list->size() == 4);
  CHECK(list->at(0).name == "tend-test-app");
  CHECK(list->at(0).pid == 0);
  CHECK(list->at(0).restart_time == 1);
  CHECK(list->at(0).status == "stopped");
  CHECK(list->at(1).pid == 23720);
  CHECK(list->at(3).status == "errored");
  CHECK_FALSE(spawned_daemon(kFourApps));
  CHECK(jlist_remarks(kFourApps).empty());

  auto cluster = find_app(*list, "tend-cluster");
  REQUIRE(cluster.size() == 2);
  CHECK(cluster[0].pm_id == 1);
  CHECK(cluster[1].pm_id == 2);
  CHECK(summarize("tend-cluster", cluster) == "tend-cluster: pid 23720, restarts 0, online, 2 instances");
  CHECK(find_app(*list, "tend").empty());

  // Warnings may follow the list (stdout and stderr share one pipe); the list is still found.
  const std::string warned = "\x1b[31m[PM2][WARN] \x1b[39mCurrent process list is not synchronized\n" + kFourApps +
                             "\n[PM2][WARN] Use pm2 save\n";
  auto again = parse_jlist(warned);
  REQUIRE(again.ok());
  CHECK(again->size() == 4);
  const auto w = jlist_remarks(warned);
  CHECK(w == "[PM2][WARN] Current process list is not synchronized\n[PM2][WARN] Use pm2 save\n");
  CHECK(w.find("do-not-log") == std::string::npos);

  CHECK_FALSE(parse_jlist("").ok());
  CHECK_FALSE(parse_jlist("[PM2][ERROR] Daemon not launched\n").ok());
  CHECK(parse_jlist("[PM2][ERROR] Daemon not launched\n").error() == "no JSON list in its output");
  CHECK_FALSE(parse_jlist(R"([{"pid":1,"name":"cut)").ok());
}

TEST_CASE("pm2: a restart counts when the count rose or the pid changed, and the app is not down", "[remedies][pm2]") {
  auto v = judge_restart("api", {proc(0, 100, 3, "online")}, {proc(0, 200, 4, "online")});
  CHECK(v.ok);
  CHECK(v.detail == "pm2 restart api: ok (restarts 3 -> 4, pid 100 -> 200)");

  v = judge_restart("api", {proc(0, 0, 1, "stopped")}, {proc(0, 300, 1, "online")});
  CHECK(v.ok);  // a stopped app started again: new pid

  v = judge_restart("api", {proc(0, 100, 3, "online")}, {proc(0, 100, 3, "online")});
  CHECK_FALSE(v.ok);
  CHECK(v.detail ==
        "pm2 restart api: not restarted, restart count and pid unchanged (restarts 3 -> 3, pid 100 -> 100)");

  v = judge_restart("api", {proc(3, 0, 1, "errored")}, {proc(3, 0, 2, "errored")});
  CHECK_FALSE(v.ok);
  CHECK(v.detail == "pm2 restart api: errored after the restart (restarts 1 -> 2, pid 0 -> 0)");

  v = judge_restart("api", {proc(0, 100, 3, "online")}, {});
  CHECK_FALSE(v.ok);
  CHECK(v.detail == "pm2 restart api: the app is no longer in the jlist after the restart");

  // Cluster: every instance must have restarted.
  v = judge_restart("api", {proc(1, 10, 0, "online"), proc(2, 11, 0, "online")},
                    {proc(1, 20, 1, "online"), proc(2, 11, 0, "online")});
  CHECK_FALSE(v.ok);
  v = judge_restart("api", {proc(1, 10, 0, "online"), proc(2, 11, 0, "online")},
                    {proc(1, 20, 1, "online"), proc(2, 21, 1, "online")});
  CHECK(v.ok);
  CHECK(v.detail == "pm2 restart api: ok (restarts 0 -> 1, pid 10 -> 20; 2 instances)");
}

TEST_CASE("pm2: names pm2's CLI would read as something else are refused by config", "[remedies][pm2]") {
  // The reader and the runtime are one: what config accepts, the remedy restarts (the old split
  // let `tendd --check` pass a name the runtime then refused, leaving the probe without a remedy).
  for (const char* name : {"all", "0", "12", "-s"}) {
    auto r = tend::remedies::parse_restart(std::string("{pm2: \"") + name + "\"}");
    INFO(name);
    REQUIRE_FALSE(r);
    CHECK(r.error().find(std::string("pm2 app name '") + name + "' cannot be restarted by name: ") !=
          std::string::npos);
  }
  CHECK_FALSE(ambiguous_name("api-2"));
  CHECK_FALSE(ambiguous_name("all-workers"));
}

TEST_CASE("pm2: PM2_HOME is the configured user's, or the daemon's own", "[remedies][pm2]") {
  Pm2HomeInputs in;
  in.user_configured = true;
  in.user_home = "/home/ubuntu";
  in.env_pm2_home = "/srv/pm2";  // the daemon's, for the daemon's user
  in.env_home = "/root";
  CHECK(resolve_pm2_home(in) == "/home/ubuntu/.pm2");
  in.same_as_daemon = true;
  CHECK(resolve_pm2_home(in) == "/srv/pm2");
  in.env_pm2_home.reset();
  CHECK(resolve_pm2_home(in) == "/home/ubuntu/.pm2");

  Pm2HomeInputs own;
  own.user_home = "/root";
  own.env_home = "/var/lib/tend";
  CHECK(resolve_pm2_home(own) == "/var/lib/tend/.pm2");
  own.env_pm2_home = "/srv/pm2";
  CHECK(resolve_pm2_home(own) == "/srv/pm2");
  own = {};
  own.user_home = "/root";
  CHECK(resolve_pm2_home(own) == "/root/.pm2");
}

TEST_CASE("pm2: an unknown user fails the restart without a shell", "[remedies][pm2]") {
  Fixture f;
  auto nouser = f.make(remedy("pm2", "api", "tend-no-such-user"));
  auto out = f.run(*nouser);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail == "pm2 restart api: user tend-no-such-user: no such user");
  // (A pm2 missing from PATH cannot be staged from here any more: children get a fixed PATH, not
  // the daemon's. The launcher's own test covers a failed PATH lookup.)
}

TEST_CASE("output clean-up: colours removed, long output cut at a line", "[remedies]") {
  CHECK(strip_ansi("\x1b[32m[PM2] \x1b[39mok\x1b[1m\x1b[22m") == "[PM2] ok");
  CHECK(strip_ansi("plain") == "plain");
  std::string big;
  for (int i = 0; i < 100; ++i) {
    big += "line " + std::to_string(i) + "\n";
  }
  const auto t = tail(big, 100);
  CHECK(t.starts_with("[... "));
  CHECK(t.ends_with("line 99\n"));
  CHECK(t.find("\nline ") != std::string::npos);
  CHECK(tail("short", 100) == "short");
}

TEST_CASE("systemd: a bus that cannot be reached fails the restart at once", "[remedies][systemd]") {
  Fixture f;
  f.ctx.system_bus_address = "unix:path=/nonexistent/tend-test-bus";
  auto a = f.make(remedy("systemd", "api.service"));
  auto b = f.make(remedy("systemd", "worker.service"));
  REQUIRE(f.ctx.system_bus);  // one connection for both
  auto out = f.run(*a, 5s);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail ==
        "RestartUnit api.service: cannot connect to the bus at unix:path=/nonexistent/tend-test-bus: "
        "No such file or directory");
  out = f.run(*b, 5s);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
}

TEST_CASE("systemd: a bus that never answers ends in a timeout, and the loop keeps running", "[remedies][systemd]") {
  Fixture f;
  const auto dir = temp_dir();
  SilentSocket silent(dir / "bus");
  f.ctx.system_bus_address = "unix:path=" + silent.path.string();
  f.ctx.command_timeout = 300ms;
  auto r = f.make(remedy("systemd", "api.service"));
  int ticks = 0;
  asio::steady_timer tick(f.io);
  std::function<void()> again = [&] {
    tick.expires_after(20ms);
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) {
        ++ticks;
        again();
      }
    });
  };
  again();
  const auto start = std::chrono::steady_clock::now();
  auto out = f.run(*r, 5s);
  tick.cancel();
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  CHECK(out->detail == "RestartUnit api.service: no result after 300ms (connecting)");
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(ticks >= 5);  // nothing blocked the loop meanwhile
  fs::remove_all(dir);
}

TEST_CASE("systemd: through a real bus daemon without systemd on it, and again after it restarts",
          "[remedies][systemd]") {
  if (!tend::testing::precondition(fs::exists("/usr/bin/dbus-daemon"), "/usr/bin/dbus-daemon (Debian: dbus)")) {
    return;
  }
  Fixture f;
  const auto dir = temp_dir();
  const auto socket = dir / "bus";
  const auto config = dir / "bus.conf";
  {
    std::FILE* c = std::fopen(config.c_str(), "w");
    REQUIRE(c != nullptr);
    std::fprintf(c,
                 "<busconfig><type>session</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>"
                 "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
                 "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
                 socket.c_str());
    std::fclose(c);
  }
  auto start_daemon = [&] {
    tend::process::Spec spec;
    spec.argv = {"/usr/bin/dbus-daemon", "--nofork", "--config-file=" + config.string()};
    auto child = f.launcher->spawn(spec, [](const tend::process::Result&) {});
    REQUIRE(run_until(
        f.io, [&] { return fs::exists(socket); }, 10s));
    return child;
  };
  auto daemon = start_daemon();
  f.ctx.system_bus_address = "unix:path=" + socket.string();
  f.ctx.command_timeout = 10s;
  auto r = f.make(remedy("systemd", "api.service"));

  auto out = f.run(*r);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  INFO(out->detail);
  CHECK(out->detail.starts_with("RestartUnit api.service: cannot connect to the bus at unix:path="));
  CHECK(out->detail.find("org.freedesktop.DBus.Error.ServiceUnknown") != std::string::npos);
  CHECK(out->duration < 5s);

  // The bus daemon goes away and comes back: the next restart connects afresh.
  daemon.reset();
  fs::remove(socket);
  f.io.run_for(100ms);
  daemon = start_daemon();
  out = f.run(*r);
  REQUIRE(out);
  CHECK_FALSE(out->ok);
  INFO(out->detail);
  CHECK(out->detail.find("org.freedesktop.DBus.Error.ServiceUnknown") != std::string::npos);

  daemon.reset();
  f.io.run_for(50ms);
  fs::remove_all(dir);
}
