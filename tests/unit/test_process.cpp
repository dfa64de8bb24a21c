// The process launcher against real processes: tests/helpers/tend_test_child plays the job.
// Every wait runs the io_context until a condition holds or a deadline passes; nothing sleeps blindly.

#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
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
#include "process/spawn.hpp"

#ifndef TEND_TEST_CHILD
#error "TEND_TEST_CHILD must name the tend_test_child binary (see tests/helpers/CMakeLists.txt)"
#endif

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
  using tend::process::detail::exec_candidates;
  using tend::process::detail::UserInfo;

  const char* base[] = {"PATH=/usr/bin", "HOME=/root", "KEEP=1", "broken", nullptr};
  UserInfo user;
  user.name = "app";
  user.home = "/home/app";
  user.shell = "/bin/bash";
  const auto env = build_env(base, &user, {{"KEEP", "2"}, {"NEW", "x=y"}});
  CHECK(env == std::vector<std::string>{"PATH=/usr/bin", "HOME=/home/app", "KEEP=2", "USER=app", "LOGNAME=app",
                                        "SHELL=/bin/bash", "NEW=x=y"});

  CHECK(exec_candidates("./run.sh", env) == std::vector<std::string>{"./run.sh"});
  CHECK(exec_candidates("tool", {"PATH=/a:/b/::/c"}) ==
        std::vector<std::string>{"/a/tool", "/b/tool", "tool", "/c/tool"});
  CHECK(exec_candidates("tool", {}) == std::vector<std::string>{"/usr/local/bin/tool", "/usr/bin/tool", "/bin/tool"});
  CHECK(exec_candidates("", env).empty());
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

TEST_CASE("environment, PATH lookup and workdir are applied", "[process]") {
  Fixture f;
  ::setenv("TEND_TEST_INHERITED", "from-daemon", 1);
  SECTION("the daemon's environment plus spec.env") {
    auto spec = helper({"env", "TEND_TEST_INHERITED", "env", "TEND_TEST_X", "env", "TEND_TEST_UNSET"});
    spec.env["TEND_TEST_X"] = "hello world";
    auto r = f.run(spec);
    REQUIRE(r);
    CHECK(r->output == "TEND_TEST_INHERITED=from-daemon\nTEND_TEST_X=hello world\nTEND_TEST_UNSET unset\n");
  }
  SECTION("spec.env overrides the daemon's") {
    auto spec = helper({"env", "TEND_TEST_INHERITED"});
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
    spec.timeout = 200ms;
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
  if (::geteuid() != 0) {
    WARN("not running as root: privilege drop not tested");
    return;
  }
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) {
    WARN("no user 'nobody': privilege drop not tested");
    return;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  const std::string home = pw->pw_dir;

  // The build tree may sit below a directory nobody cannot enter: run a copy from a world-readable place.
  char tmpl[] = "/tmp/tend_test_child.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path dir = tmpl;
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  const fs::path copy = dir / "tend_test_child";
  fs::copy_file(TEND_TEST_CHILD, copy);
  fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);

  Fixture f;
  const std::string expected_dir = fs::is_directory(home) ? home : "/";  // like login(1) without a home
  for (const std::string& user : {std::string("nobody"), std::to_string(uid)}) {
    Spec spec;
    spec.argv = {copy.string(), "id", "env", "HOME", "env", "USER", "pwd"};
    spec.user = user;
    auto r = f.run(spec);
    REQUIRE(r);
    INFO(r->spawn_error);
    CHECK(r->exit_code == 0);
    CHECK(r->output == "uid=" + std::to_string(uid) + " gid=" + std::to_string(gid) + "\nHOME=" + home +
                           "\nUSER=nobody\n" + expected_dir + "\n");
  }
  fs::remove_all(dir);
}
