// The process launcher against real processes: tests/helpers/tend_test_child plays the job.
// Every wait runs the io_context until a condition holds or a deadline passes; nothing sleeps blindly.

#include <fcntl.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process/group.hpp"
#include "process/launcher.hpp"
#include "process/output_buffer.hpp"
#include "process/prepare.hpp"
#include "process/spawner.hpp"
#include "process/start.hpp"

#ifndef TEND_TEST_CHILD
#error "TEND_TEST_CHILD must name the tend_test_child binary (see tests/helpers/CMakeLists.txt)"
#endif

extern char** environ;

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using tend::process::Child;
using tend::process::dropped_note;
using tend::process::Launcher;
using tend::process::OutputBuffer;
using tend::process::Result;
using tend::process::Spec;

namespace {

Spec helper(std::initializer_list<std::string> args) {
  Spec spec;
  spec.argv.emplace_back(TEND_TEST_CHILD);
  spec.argv.insert(spec.argv.end(), args);
  return spec;
}

// Run the loop until `done()` or the deadline; false on timeout.
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

// Poll a condition that no event of ours announces (a process reparented to init), with a deadline.
template <class Done>
bool eventually(Done done, milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct Fixture {
  asio::io_context io;  // declared first: outlives the launcher and every child
  std::unique_ptr<Launcher> launcher = tend::process::make_posix_launcher(io);

  std::optional<Result> run(const Spec& spec, milliseconds limit = 20s) {
    std::optional<Result> result;
    auto child = launcher->spawn(spec, [&result](Result r) { result = std::move(r); });
    run_until(
        io, [&] { return result.has_value(); }, limit);
    return result;
  }
};

struct ProcStat {
  char state = 0;
  pid_t ppid = 0;
};

std::optional<ProcStat> proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 4 > line.size()) {
    return std::nullopt;
  }
  ProcStat st;
  st.state = line[close + 2];
  st.ppid = static_cast<pid_t>(std::strtol(line.c_str() + close + 4, nullptr, 10));
  return st;
}

// Gone, as far as this process can tell: no such pid at all (a child of ours must end up like this).
bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Not running any more: gone, or a zombie waiting for its parent (init, for a reparented grandchild).
bool dead(pid_t pid) {
  const auto st = proc_stat(pid);
  return gone(pid) || (st && (st->state == 'Z' || st->state == 'X'));
}

pid_t grandchild_pid(const std::string& output) {
  const auto at = output.find("grandchild=");
  if (at == std::string::npos) {
    return -1;
  }
  return static_cast<pid_t>(std::strtol(output.c_str() + at + 11, nullptr, 10));
}

std::vector<pid_t> zombie_children() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(name));
    if (const auto st = proc_stat(pid); st && st->state == 'Z' && st->ppid == ::getpid()) {
      out.push_back(pid);
    }
  }
  return out;
}

std::string pattern_tail(std::uint64_t total, std::size_t count) {
  std::string out;
  for (std::uint64_t k = total - count; k < total; ++k) {
    out.push_back(static_cast<char>('a' + k % 26));
  }
  return out;
}

// Every process whose parent is this test, zombies included: after a run, none may be left.
std::vector<pid_t> our_children() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(name));
    if (const auto st = proc_stat(pid); st && st->ppid == ::getpid()) {
      out.push_back(pid);
    }
  }
  return out;
}

// Sets (or unsets) a variable of this process's environment for one test, and restores it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) {
      old_ = old;
    }
    if (value != nullptr) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A copy of the helper in a directory anyone may enter (the build tree may sit below one that
// `nobody` cannot), removed again when the test ends, failed or not.
class WorldCopy {
 public:
  WorldCopy() {
    char tmpl[] = "/tmp/tend_test_child.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    const auto rx = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                    fs::perms::others_exec;
    fs::permissions(dir_, rx);
    fs::copy_file(TEND_TEST_CHILD, path());
    fs::permissions(path(), rx);
  }
  ~WorldCopy() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  WorldCopy(const WorldCopy&) = delete;
  WorldCopy& operator=(const WorldCopy&) = delete;
  [[nodiscard]] fs::path dir() const { return dir_; }
  [[nodiscard]] std::string path() const { return (dir_ / "tend_test_child").string(); }

 private:
  fs::path dir_;
};

// The unprivileged account the root-only tests run children as, or nothing when these cannot run.
const passwd* nobody_or_skip() {
  if (::geteuid() != 0) {
    WARN("not running as root: change of user not tested");
    return nullptr;
  }
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) {
    WARN("no user 'nobody': change of user not tested");
  }
  return pw;
}

// Written to by an atexit handler, if one ever runs in a child: see the exec-failure test.
int atexit_witness_fd = -1;
extern "C" void atexit_witness() {
  if (atexit_witness_fd >= 0) {
    [[maybe_unused]] auto n = ::write(atexit_witness_fd, "x", 1);
  }
}

}  // namespace

TEST_CASE("output buffer keeps the last bytes and counts them all", "[process][output]") {
  SECTION("small appends wrap around") {
    OutputBuffer buf(8);
    buf.append("abc");
    CHECK(buf.str() == "abc");
    CHECK(buf.dropped() == 0);
    buf.append("defghij");
    CHECK(buf.total() == 10);
    CHECK(buf.str() == dropped_note(2) + "cdefghij");
    buf.append("XY");
    CHECK(buf.str() == dropped_note(4) + "efghijXY");
    buf.append("0123456789ABCDEFGHIJ");
    CHECK(buf.str() == dropped_note(24) + "CDEFGHIJ");
    CHECK(buf.reserved() <= 8);
  }
  SECTION("limit 0 keeps nothing but the count") {
    OutputBuffer buf(0);
    buf.append("abc");
    CHECK(buf.str() == dropped_note(3));
    CHECK(buf.total() == 3);
  }
  SECTION("matches a naive tail over random appends, within the memory bound") {
    const std::size_t limit = 100;
    OutputBuffer buf(limit);
    std::string all;
    std::uint32_t seed = 12345;
    for (int i = 0; i < 2000; ++i) {
      seed = seed * 1664525U + 1013904223U;
      const std::size_t n = (seed >> 16) % 157;
      std::string chunk;
      for (std::size_t j = 0; j < n; ++j) {
        chunk.push_back(static_cast<char>('A' + (all.size() + j) % 53));
      }
      all += chunk;
      buf.append(chunk);
      REQUIRE(buf.reserved() <= limit);
      const std::size_t kept = std::min(limit, all.size());
      const std::string expected =
          (all.size() > limit ? dropped_note(all.size() - limit) : std::string()) + all.substr(all.size() - kept);
      REQUIRE(buf.str() == expected);
    }
  }
}

TEST_CASE("spawn preparation mirrors execvp and the environment rules", "[process][spawn]") {
  using tend::process::detail::build_env;
  using tend::process::detail::choose_executable;
  using tend::process::detail::DaemonEnv;
  using tend::process::detail::exec_candidates;
  using tend::process::detail::snapshot_env;
  using tend::process::detail::UserInfo;

  const char* daemon[] = {
      "PATH=/daemon/bin", "HOME=/root",       "SECRET=hunter2",        "LANG=de_DE.UTF-8", "LC_TIME=C",
      "TZ=Asia/Seoul",    "NOTIFY_SOCKET=/x", "WATCHDOG_USEC=1",       "KEEP=from-daemon", "broken",
      "=nameless",        "LANG=second",      "ALSO=from-daemon-also", "LANGUAGE=de:en",   nullptr};
  const DaemonEnv snap = snapshot_env(daemon, {"KEEP", "ALSO", "UNSET", "NOTIFY_SOCKET", "WATCHDOG_USEC"});
  CHECK(
      snap.locale ==
      std::vector<std::pair<std::string, std::string>>{
          {"LANG", "de_DE.UTF-8"}, {"LC_TIME", "C"}, {"TZ", "Asia/Seoul"}, {"LANG", "second"}, {"LANGUAGE", "de:en"}});
  CHECK(snap.inherited == std::map<std::string, std::string>{{"KEEP", "from-daemon"}, {"ALSO", "from-daemon-also"}});

  UserInfo user;
  user.name = "app";
  user.home = "/home/app";
  Spec spec;
  spec.base_env = {{"KEEP", "base"}, {"BASE", "base"}, {"TZ", "UTC"}};
  spec.inherit = {"KEEP", "ALSO", "UNSET"};
  spec.env = {{"ALSO", "entry"}, {"NEW", "x=y"}};
  // The clean base, then base_env, then the inherited names, then env: later ones win, in place.
  CHECK(build_env(snap, &user, spec) ==
        std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SHELL=/bin/sh",
                                 "HOME=/home/app", "USER=app", "LOGNAME=app", "LANG=de_DE.UTF-8", "LC_TIME=C", "TZ=UTC",
                                 "LANGUAGE=de:en", "BASE=base", "KEEP=from-daemon", "ALSO=entry", "NEW=x=y"});
  // No account known: no HOME/USER/LOGNAME rather than the daemon's.
  CHECK(build_env(DaemonEnv{}, nullptr, Spec{}) ==
        std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SHELL=/bin/sh"});

  const auto env = build_env(snap, &user, spec);
  CHECK(exec_candidates("./run.sh", env) == std::vector<std::string>{"./run.sh"});
  CHECK(exec_candidates("tool", {"PATH=/a:/b/::/c"}) ==
        std::vector<std::string>{"/a/tool", "/b/tool", "tool", "/c/tool"});
  CHECK(exec_candidates("tool", {}) == std::vector<std::string>{"/usr/local/sbin/tool", "/usr/local/bin/tool",
                                                                "/usr/sbin/tool", "/usr/bin/tool", "/sbin/tool",
                                                                "/bin/tool"});
  CHECK(exec_candidates("", env).empty());

  // execvp's choice: the first executable regular file; else the first that exists; else the first.
  const fs::path dir = fs::temp_directory_path() / ("tend-exec-" + std::to_string(::getpid()));
  fs::create_directories(dir / "a" / "tool");  // a directory: skipped
  fs::create_directories(dir / "b");
  fs::create_directories(dir / "c");
  fs::create_directories(dir / "d");
  std::ofstream(dir / "b" / "tool") << "#!/bin/sh\n";  // not executable
  std::ofstream(dir / "c" / "tool") << "#!/bin/sh\n";
  std::ofstream(dir / "d" / "tool") << "#!/bin/sh\n";
  fs::permissions(dir / "c" / "tool", fs::perms::owner_all);
  fs::permissions(dir / "d" / "tool", fs::perms::owner_all | fs::perms::others_exec | fs::perms::others_read);
  const std::string a = (dir / "a" / "tool").string();
  const std::string b = (dir / "b" / "tool").string();
  const std::string c = (dir / "c" / "tool").string();
  const std::string d = (dir / "d" / "tool").string();
  const std::string missing = (dir / "none" / "tool").string();
  CHECK(choose_executable({missing, a, b, c}, "", nullptr) == c);
  CHECK(choose_executable({missing, a, b}, "", nullptr) == a);
  CHECK(choose_executable({missing, missing + "2"}, "", nullptr) == missing);
  CHECK(choose_executable({"c/tool", a}, dir.string(), nullptr) == "c/tool");  // relative: in the workdir
  UserInfo stranger;
  stranger.uid = 4242;
  stranger.gid = 4242;
  if (::geteuid() == 0) {
    CHECK(choose_executable({c, d}, "", &stranger) == d);  // owner-only x bits: not for another user
    stranger.groups = {0};
    fs::permissions(dir / "c" / "tool", fs::perms::owner_all | fs::perms::group_exec);
    CHECK(choose_executable({c, d}, "", &stranger) == c);  // a member of the file's group
  }
  fs::remove_all(dir);
}

TEST_CASE("exit codes and signals are reported", "[process]") {
  Fixture f;
  SECTION("exit 0") {
    auto r = f.run(helper({"exit", "0"}));
    REQUIRE(r);
    CHECK(r->success());
    CHECK(r->exit_code == 0);
    CHECK_FALSE(r->signal);
    CHECK(r->spawn_error.empty());
    CHECK_FALSE(r->timed_out);
    CHECK_FALSE(r->stopped);
  }
  SECTION("exit 3") {
    auto r = f.run(helper({"exit", "3"}));
    REQUIRE(r);
    CHECK_FALSE(r->success());
    CHECK(r->exit_code == 3);
    CHECK_FALSE(r->signal);
  }
  SECTION("death by SIGKILL") {
    auto r = f.run(helper({"print", "before", "raise", "9", "print", "after"}));
    REQUIRE(r);
    CHECK_FALSE(r->exit_code);
    CHECK(r->signal == SIGKILL);
    CHECK(r->output == "before\n");
  }
}

TEST_CASE("stdout and stderr are captured in order", "[process]") {
  Fixture f;
  auto r = f.run(helper({"print", "one", "eprint", "two", "print", "three"}));
  REQUIRE(r);
  CHECK(r->output == "one\ntwo\nthree\n");
  CHECK(r->output_bytes == 14);
}

TEST_CASE("environment, PATH lookup and workdir are applied", "[process][env]") {
  Fixture f;
  ScopedEnv inherited("TEND_TEST_INHERITED", "from-daemon");
  SECTION("the daemon's variables stay out unless inherited") {
    auto spec = helper({"env", "TEND_TEST_INHERITED", "env", "TEND_TEST_X", "env", "TEND_TEST_UNSET"});
    spec.env["TEND_TEST_X"] = "hello world";
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output == "TEND_TEST_INHERITED unset\nTEND_TEST_X=hello world\nTEND_TEST_UNSET unset\n");

    spec.inherit = {"TEND_TEST_INHERITED", "TEND_TEST_UNSET"};
    r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output == "TEND_TEST_INHERITED=from-daemon\nTEND_TEST_X=hello world\nTEND_TEST_UNSET unset\n");
  }
  SECTION("spec.env overrides the inherited value") {
    auto spec = helper({"env", "TEND_TEST_INHERITED"});
    spec.inherit = {"TEND_TEST_INHERITED"};
    spec.env["TEND_TEST_INHERITED"] = "overridden";
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output == "TEND_TEST_INHERITED=overridden\n");
  }
  SECTION("workdir") {
    auto spec = helper({"pwd"});
    spec.workdir = "/tmp";
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output == "/tmp\n");
  }
  SECTION("argv[0] is looked up in the PATH of the child's environment") {
    Spec spec;
    spec.argv = {"tend_test_child", "print", "found"};
    spec.env["PATH"] = "/nonexistent-tend-dir:" + fs::path(TEND_TEST_CHILD).parent_path().string();
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->spawn_error.empty());
    CHECK(r->output == "found\n");
  }
  SECTION("argv[0] is passed as written, not as the path found") {
    Spec spec;
    spec.argv = {"sh", "-c", "echo \"$0\""};
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output == "sh\n");
  }
}

TEST_CASE("children get a clean environment", "[process][env]") {
  Fixture f;
  // What systemd and the config hand the daemon, none of which a job may see.
  ScopedEnv secret("TEND_TEST_SECRET", "s3cret");
  ScopedEnv notify("NOTIFY_SOCKET", "/run/systemd/notify");
  ScopedEnv watchdog("WATCHDOG_USEC", "30000000");
  ScopedEnv listen("LISTEN_FDS", "1");
  ScopedEnv credentials("CREDENTIALS_DIRECTORY", "/run/credentials/tend.service");
  ScopedEnv home("HOME", "/tmp/not-the-daemons-home");
  ScopedEnv path("PATH", "/tmp/not-the-daemons-path:/usr/bin:/bin");
  ScopedEnv lang("LANG", "C.UTF-8");
  ScopedEnv lc_time("LC_TIME", "C");
  ScopedEnv tz("TZ", "Asia/Seoul");
  const passwd* me = ::getpwuid(::geteuid());
  REQUIRE(me != nullptr);
  const std::string my_home = me->pw_dir;
  const std::string my_name = me->pw_name;

  SECTION("exactly the clean base, the locale and what the Spec adds") {
    // Every name the child may have: the base, and whatever locale variables this test runs with.
    std::vector<std::string> expected = {"HOME", "LOGNAME", "PATH", "SHELL", "USER", "TEND_JOB"};
    for (char** p = environ; *p != nullptr; ++p) {
      const std::string name = std::string(*p).substr(0, std::string(*p).find('='));
      if (name == "LANG" || name == "LANGUAGE" || name == "TZ" || name.starts_with("LC_")) {
        expected.push_back(name);
      }
    }
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    auto spec = helper({"env-names"});
    spec.env["TEND_JOB"] = "backup";
    auto r = f.run(spec);
    REQUIRE(r);
    std::string want;
    for (const auto& name : expected) {
      want += name + "\n";
    }
    CHECK(r->output == want);
  }
  SECTION("PATH, SHELL and the account are the child's, not the daemon's") {
    auto r = f.run(helper({"env", "PATH", "env", "SHELL", "env", "HOME", "env", "USER", "env", "LOGNAME", "env", "LANG",
                           "env", "LC_TIME", "env", "TZ"}));
    REQUIRE(r);
    CHECK(r->output ==
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nSHELL=/bin/sh\nHOME=" + my_home +
              "\nUSER=" + my_name + "\nLOGNAME=" + my_name + "\nLANG=C.UTF-8\nLC_TIME=C\nTZ=Asia/Seoul\n");
  }
  SECTION("a secret is passed only when inherited by name") {
    auto spec = helper({"env", "TEND_TEST_SECRET", "env", "NOTIFY_SOCKET", "env", "WATCHDOG_USEC", "env", "LISTEN_FDS",
                        "env", "CREDENTIALS_DIRECTORY"});
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output ==
          "TEND_TEST_SECRET unset\nNOTIFY_SOCKET unset\nWATCHDOG_USEC unset\nLISTEN_FDS unset\n"
          "CREDENTIALS_DIRECTORY unset\n");
    spec.inherit = {"TEND_TEST_SECRET", "NOTIFY_SOCKET", "WATCHDOG_USEC", "LISTEN_FDS", "CREDENTIALS_DIRECTORY"};
    r = f.run(spec);
    REQUIRE(r);
    // systemd's channels to the daemon stay out even when named.
    CHECK(r->output ==
          "TEND_TEST_SECRET=s3cret\nNOTIFY_SOCKET unset\nWATCHDOG_USEC unset\nLISTEN_FDS unset\n"
          "CREDENTIALS_DIRECTORY unset\n");
  }
  SECTION("precedence: clean base < base_env < inherit < env") {
    ScopedEnv b("TEND_TEST_B", "daemon-b");
    ScopedEnv c("TEND_TEST_C", "daemon-c");
    auto spec = helper({"env", "TEND_TEST_A", "env", "TEND_TEST_B", "env", "TEND_TEST_C", "env", "TZ", "env", "PATH"});
    spec.base_env = {{"TEND_TEST_A", "base-a"}, {"TEND_TEST_B", "base-b"}, {"TZ", "UTC"}, {"PATH", "/base/bin"}};
    spec.inherit = {"TEND_TEST_B", "TEND_TEST_C"};
    spec.env = {{"TEND_TEST_C", "entry-c"}, {"PATH", "/entry/bin:/usr/bin:/bin"}};
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output ==
          "TEND_TEST_A=base-a\nTEND_TEST_B=daemon-b\nTEND_TEST_C=entry-c\nTZ=UTC\nPATH=/entry/bin:/usr/bin:/bin\n");
  }
  SECTION("bad names are spawn errors") {
    std::optional<Result> result;
    auto spec = helper({"exit", "0"});
    spec.inherit = {"A=B"};
    result = f.run(spec);
    REQUIRE(result);
    CHECK(result->spawn_error == "bad environment variable name 'A=B'");
    spec.inherit.clear();
    spec.base_env[""] = "x";
    result = f.run(spec);
    REQUIRE(result);
    CHECK(result->spawn_error == "bad environment variable name ''");
  }
}

TEST_CASE("spawn failures arrive through on_exit with exit code 127", "[process]") {
  Fixture f;
  auto expect_failure = [&f](const Spec& spec, const std::string& error) {
    std::optional<Result> result;
    auto child = f.launcher->spawn(spec, [&result](Result r) { result = std::move(r); });
    CHECK_FALSE(result);  // never from inside spawn()
    REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
    CHECK(result->spawn_error == error);
    CHECK(result->exit_code == 127);
    CHECK_FALSE(result->signal);
    CHECK_FALSE(result->success());
  };
  SECTION("no such program, by path") {
    Spec spec;
    spec.argv = {"/nonexistent/tend-prog", "x"};
    expect_failure(spec, "exec /nonexistent/tend-prog: No such file or directory");
  }
  SECTION("no such program in PATH") {
    Spec spec;
    spec.argv = {"tend-no-such-program-xyz"};
    expect_failure(spec, "exec tend-no-such-program-xyz: No such file or directory");
  }
  SECTION("not executable") {
    Spec spec;
    spec.argv = {"/etc/passwd"};
    expect_failure(spec, "exec /etc/passwd: Permission denied");
  }
  SECTION("bad workdir") {
    auto spec = helper({"exit", "0"});
    spec.workdir = "/nonexistent-tend-dir";
    expect_failure(spec, "chdir /nonexistent-tend-dir: No such file or directory");
  }
  SECTION("unknown user") {
    auto spec = helper({"exit", "0"});
    spec.user = "tend-no-such-user";
    expect_failure(spec, "user tend-no-such-user: no such user");
  }
  SECTION("empty command") { expect_failure(Spec{}, "empty command"); }
}

TEST_CASE("output is capped however much the child prints", "[process][slow]") {
  Fixture f;
  const std::uint64_t total = 50ULL * 1024 * 1024;
  auto spec = helper({"spam-stdout", std::to_string(total)});
  spec.output_limit = std::size_t{64} * 1024;
  auto r = f.run(spec, 120s);
  REQUIRE(r);
  CHECK(r->exit_code == 0);
  CHECK(r->output_bytes == total);
  const std::string note = dropped_note(total - spec.output_limit);
  REQUIRE(r->output.size() == note.size() + spec.output_limit);
  CHECK(r->output.substr(0, note.size()) == note);
  CHECK(r->output.substr(note.size()) == pattern_tail(total, spec.output_limit));
}

TEST_CASE("a child that fills a large pipe and exits is read to the end", "[process][output]") {
  // The child makes its pipe hold 1 MiB, fills it in one go and exits before the loop reads a byte:
  // more than one turn's reads, with no write or close left to signal readiness again. Every byte
  // must still arrive, and the run must end with the child, not at its timeout.
  Fixture f;
  auto spec = helper({"pipe-size", "1048576", "spam-stdout", "1048576", "exit", "0"});
  spec.output_limit = 2 * 1048576;
  spec.timeout = 20s;
  auto r = f.run(spec, 30s);
  REQUIRE(r);
  INFO(r->spawn_error);
  CHECK(r->exit_code == 0);
  CHECK_FALSE(r->timed_out);
  CHECK(r->output.size() == 1048576);
  CHECK(r->output.substr(0, 3) == "abc");
}

TEST_CASE("timeout sends SIGTERM to the group, then SIGKILL", "[process]") {
  Fixture f;
  SECTION("SIGTERM suffices") {
    auto spec = helper({"sleep", "10000"});
    spec.timeout = 200ms;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK(r->signal == SIGTERM);
    CHECK(r->duration >= 200ms);
    CHECK(r->duration < 5s);
  }
  SECTION("SIGTERM ignored: SIGKILL after kill_grace") {
    auto spec = helper({"ignore-sigterm", "sleep", "10000"});
    spec.timeout = 200ms;
    spec.kill_grace = 300ms;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK(r->signal == SIGKILL);
    CHECK(r->duration >= 500ms);
    CHECK(r->duration < 5s);
  }
}

TEST_CASE("the process group does not outlive the run", "[process][group]") {
  Fixture f;
  SECTION("timeout kills the grandchild too") {
    auto spec = helper({"fork-grandchild", "sleep", "10000"});
    // Long enough for the helper to have forked and printed the grandchild's pid on a loaded box
    // (an ASan binary's start took longer than 200 ms in CI); the kill path is the same.
    spec.timeout = 3s;
    spec.kill_grace = 300ms;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->timed_out);
    const pid_t grandchild = grandchild_pid(r->output);
    REQUIRE(grandchild > 0);
    CHECK(eventually([&] { return dead(grandchild); }));
  }
  SECTION("a main process that exits leaves no grandchild behind") {
    auto spec = helper({"fork-grandchild", "exit", "0"});
    spec.kill_grace = 5s;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->exit_code == 0);
    CHECK_FALSE(r->timed_out);
    CHECK(r->duration < 4s);  // SIGTERM did it, no wait for kill_grace
    const pid_t grandchild = grandchild_pid(r->output);
    REQUIRE(grandchild > 0);
    CHECK(eventually([&] { return dead(grandchild); }));
  }
  SECTION("a grandchild that let go of the pipe is still swept") {
    auto spec = helper({"fork-grandchild-quiet", "exit", "0"});
    spec.kill_grace = 5s;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->exit_code == 0);
    const pid_t grandchild = grandchild_pid(r->output);
    REQUIRE(grandchild > 0);
    CHECK(eventually([&] { return dead(grandchild); }));
  }
  SECTION("a grandchild that ignores SIGTERM gets SIGKILL after kill_grace") {
    auto spec = helper({"fork-grandchild-stubborn", "exit", "0"});
    spec.kill_grace = 300ms;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->exit_code == 0);
    CHECK(r->duration >= 300ms);
    const pid_t grandchild = grandchild_pid(r->output);
    REQUIRE(grandchild > 0);
    CHECK(eventually([&] { return dead(grandchild); }));
  }
  SECTION("a grandchild that escaped with setsid delays on_exit only boundedly") {
    // Out of reach by design (it left the group); the run must still end.
    auto spec = helper({"fork-escapee", "exit", "0"});
    spec.kill_grace = 200ms;
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->exit_code == 0);
    CHECK(r->duration < 5s);
    const pid_t escapee = grandchild_pid(r->output);
    REQUIRE(escapee > 0);
    ::kill(escapee, SIGKILL);
  }
}

TEST_CASE("stop() and destruction end the group", "[process]") {
  Fixture f;
  std::optional<Result> result;
  auto on_exit = [&result](Result r) { result = std::move(r); };

  SECTION("stop() reports stopped") {
    auto child = f.launcher->spawn(helper({"print", "started", "sleep", "10000"}), on_exit);
    REQUIRE(run_until(f.io, [&] { return child->output_so_far() == "started\n"; }));
    child->stop();
    REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
    CHECK(result->stopped);
    CHECK_FALSE(result->timed_out);
    CHECK(result->signal == SIGTERM);
    CHECK(result->output == "started\n");
  }
  SECTION("destroying a running Child kills and reaps it, without on_exit") {
    auto child = f.launcher->spawn(helper({"fork-grandchild", "sleep", "10000"}), on_exit);
    REQUIRE(run_until(f.io, [&] { return grandchild_pid(child->output_so_far()) > 0; }));
    const pid_t pid = child->pid();
    const pid_t grandchild = grandchild_pid(child->output_so_far());
    child.reset();
    REQUIRE(run_until(f.io, [&] { return gone(pid); }));  // reaped by us: not even a zombie
    CHECK(eventually([&] { return dead(grandchild); }));
    f.io.poll();
    CHECK_FALSE(result);
  }
  SECTION("destroying the launcher kills and reaps at once") {
    auto child = f.launcher->spawn(helper({"print", "started", "sleep", "10000"}), on_exit);
    REQUIRE(run_until(f.io, [&] { return child->output_so_far() == "started\n"; }));
    const pid_t pid = child->pid();
    f.launcher.reset();
    CHECK(gone(pid));
    child->stop();  // harmless now
    CHECK(child->output_so_far() == "started\n");
    child.reset();
    f.io.poll();
    CHECK_FALSE(result);
  }
  SECTION("the Child may be destroyed from inside on_exit") {
    std::shared_ptr<Child> child;
    bool called = false;
    child = f.launcher->spawn(helper({"exit", "5"}), [&](Result r) {
      called = true;
      CHECK(r.exit_code == 5);
      child.reset();
    });
    REQUIRE(run_until(f.io, [&] { return called; }));
    CHECK_FALSE(child);
  }
}

TEST_CASE("no zombies after a batch of short runs", "[process]") {
  Fixture f;
  constexpr int kRuns = 50;
  int finished = 0;
  int failed = 0;
  std::vector<std::shared_ptr<Child>> children;
  for (int i = 0; i < kRuns; ++i) {
    children.push_back(f.launcher->spawn(helper({"print", std::to_string(i), "exit", std::to_string(i % 4)}),
                                         [&finished, &failed, i](Result r) {
                                           ++finished;
                                           if (r.exit_code != i % 4 || r.output != std::to_string(i) + "\n") {
                                             ++failed;
                                           }
                                         }));
  }
  REQUIRE(run_until(
      f.io, [&] { return finished == kRuns; }, 60s));
  CHECK(failed == 0);
  CHECK(zombie_children().empty());
}

TEST_CASE("group membership is read from /proc", "[process][group]") {
  CHECK(tend::process::detail::group_has_live_member(::getpgrp()));
  CHECK_FALSE(tend::process::detail::group_has_live_member(999999999));
}

TEST_CASE("privileges are dropped to `user`", "[process][root]") {
  const passwd* pw = nobody_or_skip();
  if (pw == nullptr) {
    return;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  const std::string home = pw->pw_dir;
  WorldCopy copy;
  Fixture f;
  const std::string expected_dir = fs::is_directory(home) ? home : "/";  // like login(1) without a home
  for (const std::string& user : {std::string("nobody"), std::to_string(uid)}) {
    Spec spec;
    spec.argv = {copy.path(), "id", "env", "HOME", "env", "USER", "env", "LOGNAME", "env", "SHELL", "pwd"};
    spec.user = user;
    auto r = f.run(spec);
    REQUIRE(r);
    INFO(r->spawn_error);
    CHECK(r->exit_code == 0);
    CHECK(r->output == "uid=" + std::to_string(uid) + " gid=" + std::to_string(gid) + "\nHOME=" + home +
                           "\nUSER=nobody\nLOGNAME=nobody\nSHELL=/bin/sh\n" + expected_dir + "\n");
  }
}

TEST_CASE("failures after the fork name their step, on both launchers", "[process][root]") {
  const passwd* pw = nobody_or_skip();
  if (pw == nullptr) {
    return;
  }
  WorldCopy copy;
  Fixture f;
  // Root's own: nobody may neither enter nor execute them.
  const fs::path closed = copy.dir() / "closed";
  fs::create_directory(closed);
  fs::permissions(closed, fs::perms::owner_all);
  const fs::path private_prog = copy.dir() / "private";
  fs::copy_file(TEND_TEST_CHILD, private_prog);
  fs::permissions(private_prog, fs::perms::owner_all);

  auto expect = [&](Spec spec, const std::string& error) {
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->spawn_error == error);
    CHECK(r->exit_code == 127);
  };
  Spec spec;
  spec.argv = {copy.path(), "exit", "0"};
  spec.user = "nobody";  // fork (default_launcher): the step comes back through the shared page
  spec.workdir = closed.string();
  expect(spec, "chdir " + closed.string() + ": Permission denied");
  spec.workdir = "/nonexistent-tend-dir";
  expect(spec, "chdir /nonexistent-tend-dir: No such file or directory");
  spec.workdir = "/";
  spec.argv = {private_prog.string()};
  expect(spec, "exec " + private_prog.string() + ": Permission denied");
  spec.argv = {"/nonexistent/tend-prog"};
  expect(spec, "exec /nonexistent/tend-prog: No such file or directory");
  spec.argv = {"tend-no-such-program-xyz"};
  expect(spec, "exec tend-no-such-program-xyz: No such file or directory");
  // The same user as the daemon: no change of user, vfork.
  spec.user = "root";
  spec.workdir = "/nonexistent-tend-dir";
  spec.argv = {copy.path(), "exit", "0"};
  expect(spec, "chdir /nonexistent-tend-dir: No such file or directory");
}

TEST_CASE("a failed exec leaves the child at once: no atexit handler runs in it", "[process]") {
  // Both v2 launchers call ::exit() after a failed exec; in a vfork child that would run this
  // process's atexit handlers (and static destructors) on our own memory.
  static const bool registered = std::atexit(atexit_witness) == 0;
  REQUIRE(registered);
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  atexit_witness_fd = fds[1];
  Fixture f;
  std::vector<Spec> specs;
  Spec missing;
  missing.argv = {"/nonexistent/tend-prog"};
  specs.push_back(missing);  // vfork
  if (::geteuid() == 0 && ::getpwnam("nobody") != nullptr) {
    missing.user = "nobody";
    specs.push_back(missing);  // fork
  }
  for (const auto& spec : specs) {
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->spawn_error == "exec /nonexistent/tend-prog: No such file or directory");
  }
  atexit_witness_fd = -1;
  char byte = 0;
  CHECK(::read(fds[0], &byte, 1) < 0);  // EAGAIN: nothing was written
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("descriptors the daemon opened without O_CLOEXEC do not reach the child", "[process][fd]") {
  // A socket as another module might open it: no SOCK_CLOEXEC. Opened before the launcher, so it
  // sits below the descriptors each start creates (where 1.81's close_all misses it).
  const int leaky = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(leaky >= 3);
  REQUIRE((::fcntl(leaky, F_GETFD) & FD_CLOEXEC) == 0);
  std::optional<WorldCopy> copy;
  Fixture f;
  const std::string fd = std::to_string(leaky);
  std::vector<Spec> specs;
  specs.push_back(helper({"fd", fd, "fd", "0", "fd", "1", "fd", "2"}));  // vfork
  if (::geteuid() == 0 && ::getpwnam("nobody") != nullptr) {
    copy.emplace();
    Spec as_nobody;
    as_nobody.argv = {copy->path(), "fd", fd, "fd", "0", "fd", "1", "fd", "2"};
    as_nobody.user = "nobody";
    specs.push_back(as_nobody);  // fork
  } else {
    WARN("not root: the fork path is not tested");
  }
  for (const auto& spec : specs) {
    auto r = f.run(spec);
    REQUIRE(r);
    INFO(r->spawn_error);
    CHECK(r->output == "fd " + fd + " closed\nfd 0 open\nfd 1 open\nfd 2 open\n");
  }
  ::close(leaky);
}

TEST_CASE("the fallback marks descriptors close-on-exec one by one", "[process][fd]") {
  const int fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd >= 3);
  REQUIRE((::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0);
  tend::process::detail::mark_cloexec_by_loop(3, fd + 1);
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((::fcntl(STDERR_FILENO, F_GETFD) & FD_CLOEXEC) == 0);  // below `first`: untouched
  ::close(fd);
  CHECK(tend::process::detail::have_close_range_cloexec());  // this kernel (>= 5.11) has the fast path
}

TEST_CASE("children start with the soft fd limit the daemon had, signals at their defaults", "[process]") {
  rlimit lim{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  REQUIRE(lim.rlim_cur > 100);
  const rlim_t child_limit = lim.rlim_cur - 7;  // a value no one has by accident
  tend::process::set_child_nofile_limit(child_limit);
  struct Restore {
    rlim_t soft;
    ~Restore() { tend::process::set_child_nofile_limit(soft); }
  } restore{lim.rlim_cur};

  // Ignored in the daemon (as it does with SIGPIPE): must be back to the default in the child.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  REQUIRE(::sigaction(SIGUSR2, &ignore, &previous) == 0);
  sigset_t usr1;
  sigset_t old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);

  std::optional<WorldCopy> copy;
  Fixture f;
  std::vector<Spec> specs;
  specs.push_back(helper({"nofile", "signals"}));  // vfork
  if (::geteuid() == 0 && ::getpwnam("nobody") != nullptr) {
    copy.emplace();
    Spec as_nobody;
    as_nobody.argv = {copy->path(), "nofile", "signals"};
    as_nobody.user = "nobody";
    specs.push_back(as_nobody);  // fork
  }
  for (const auto& spec : specs) {
    auto r = f.run(spec);
    REQUIRE(r);
    INFO(r->spawn_error);
    CHECK(r->output == "nofile=" + std::to_string(child_limit) + "\nignored=0 blocked=0\n");
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGUSR2, &previous, nullptr);
}

TEST_CASE("spawn() only queues: the start happens off the calling thread", "[process][spawner]") {
  Fixture f;
  std::optional<Result> result;
  auto child = f.launcher->spawn(helper({"print", "hi"}), [&](Result r) { result = std::move(r); });
  // The loop has not run: nothing can have been delivered, whatever the spawner thread did meanwhile.
  CHECK(child->pid() == -1);
  REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
  CHECK(child->pid() > 1);
  CHECK(result->output == "hi\n");
  // The io_context has no other work while a start is pending: run() alone must not return early.
  result.reset();
  child = f.launcher->spawn(helper({"exit", "4"}), [&](Result r) {
    result = std::move(r);
    f.io.stop();
  });
  f.io.restart();
  f.io.run();
  REQUIRE(result);
  CHECK(result->exit_code == 4);
}

TEST_CASE("spawner threads share one queue: each start delivered once, every thread joined", "[process][spawner]") {
  // Two threads (the default on two cores or more) take starts from one queue, so a burst overlaps.
  // They start with the first submit (a daemon without children has none). Whichever thread starts
  // a child, it is delivered exactly once, and shutdown joins them all.
  const auto tasks = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/task"), std::filesystem::directory_iterator{});
  };
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  const auto before = tasks();
  constexpr int kBurst = 60;
  std::vector<int> delivered(kBurst, 0);
  {
    tend::process::detail::Spawner spawner(io, 2);
    CHECK(tasks() == before);
    for (int i = 0; i < kBurst; ++i) {
      Spec spec = helper({"exit", "0"});
      spawner.submit(spec, {}, [&delivered, i](tend::Expected<tend::process::detail::Started> started) {
        CHECK(started);
        ++delivered[i];  // Started's destructor kills and reaps the child
      });
      if (i == 0) {
        CHECK(tasks() == before + 2);
      }
    }
    REQUIRE(
        run_until(io, [&] { return std::all_of(delivered.begin(), delivered.end(), [](int n) { return n > 0; }); }));
    spawner.shutdown();
    CHECK(tasks() == before);
  }
  io.poll();
  CHECK(std::all_of(delivered.begin(), delivered.end(), [](int n) { return n == 1; }));
  CHECK(our_children().empty());
  CHECK(tend::process::detail::Spawner::default_threads() == (std::thread::hardware_concurrency() >= 2 ? 2U : 1U));
}

TEST_CASE("stop, timeout and destruction are exact while starts are still queued", "[process][spawner]") {
  // A burst: most of these are still queued on the spawner thread when they are stopped, timed out
  // or dropped; some are being started or have started. Every one must end exactly as documented.
  constexpr int kBurst = 40;
  Fixture f;

  SECTION("stop(): on_exit once, stopped, never a process left") {
    std::vector<std::shared_ptr<Child>> children;
    std::vector<int> calls(kBurst, 0);
    std::vector<Result> results(kBurst);
    for (int i = 0; i < kBurst; ++i) {
      children.push_back(f.launcher->spawn(helper({"sleep", "10000"}), [&, i](Result r) {
        ++calls[i];
        results[i] = std::move(r);
      }));
    }
    for (auto& c : children) {
      c->stop();
    }
    CHECK(std::all_of(calls.begin(), calls.end(), [](int n) { return n == 0; }));  // never from inside stop()
    REQUIRE(run_until(f.io, [&] { return std::all_of(calls.begin(), calls.end(), [](int n) { return n > 0; }); }));
    int never_started = 0;
    for (int i = 0; i < kBurst; ++i) {
      CHECK(calls[i] == 1);
      CHECK(results[i].stopped);
      if (!results[i].spawn_error.empty()) {
        CHECK(results[i].spawn_error == "stopped before the process started");
        CHECK(results[i].exit_code == 127);
        ++never_started;
      } else {
        CHECK(results[i].signal == SIGTERM);
      }
    }
    INFO("stopped before they started: " << never_started << " of " << kBurst);
    CHECK(our_children().empty());
  }
  SECTION("timeout: on_exit once, timed out") {
    std::vector<std::shared_ptr<Child>> children;
    std::vector<int> calls(kBurst, 0);
    std::vector<Result> results(kBurst);
    for (int i = 0; i < kBurst; ++i) {
      auto spec = helper({"sleep", "10000"});
      spec.timeout = 1ms;
      children.push_back(f.launcher->spawn(spec, [&, i](Result r) {
        ++calls[i];
        results[i] = std::move(r);
      }));
    }
    REQUIRE(run_until(f.io, [&] { return std::all_of(calls.begin(), calls.end(), [](int n) { return n > 0; }); }));
    for (int i = 0; i < kBurst; ++i) {
      CHECK(calls[i] == 1);
      CHECK(results[i].timed_out);
      CHECK_FALSE(results[i].stopped);
      if (!results[i].spawn_error.empty()) {
        CHECK(results[i].spawn_error == "timeout after 1ms before the process started");
      } else {
        CHECK(results[i].signal == SIGTERM);
      }
    }
    CHECK(our_children().empty());
  }
  SECTION("destroying the Child: no on_exit, and the process is gone or never was") {
    int calls = 0;
    for (int i = 0; i < kBurst; ++i) {
      auto child = f.launcher->spawn(helper({"sleep", "10000"}), [&](Result) { ++calls; });
      if (i % 2 == 0) {
        // Some get far enough to have started before they are dropped.
        run_until(
            f.io, [&] { return child->pid() > 0; }, 2s);
      }
    }
    REQUIRE(run_until(f.io, [&] { return our_children().empty(); }));
    f.io.poll();
    CHECK(calls == 0);
  }
  SECTION("destroying the launcher: everything killed and reaped before it returns") {
    int calls = 0;
    std::vector<std::shared_ptr<Child>> children;
    for (int i = 0; i < kBurst; ++i) {
      children.push_back(f.launcher->spawn(helper({"sleep", "10000"}), [&](Result) { ++calls; }));
    }
    run_until(f.io, [&] { return children.front()->pid() > 0; });  // some running, some delivered, some queued
    f.launcher.reset();
    CHECK(our_children().empty());
    for (auto& c : children) {
      c->stop();  // harmless now
    }
    children.clear();
    f.io.poll();
    CHECK(calls == 0);
  }
}
