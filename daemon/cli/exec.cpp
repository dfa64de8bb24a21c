#include "cli/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/client.hpp"
#include "process/group.hpp"
#include "process/output_buffer.hpp"
#include "util/duration.hpp"
#include "util/text.hpp"

namespace tend::cli {
namespace json = boost::json;
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kKillGrace = std::chrono::seconds(10);        // SIGTERM -> SIGKILL, as timeout -k 10s
constexpr auto kReportTimeout = milliseconds(5000);          // a hung daemon must not hold CMD up
constexpr std::size_t kKeep = std::size_t{64} * 1024;        // output tail kept
constexpr std::size_t kMaxRequest = std::size_t{64} * 1024;  // the socket's request limit
constexpr int kTimeoutStatus = 124;                          // as timeout(1)

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(sig);
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // our own stdout is gone (closed pipe): keep running CMD regardless
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

/// True while a process of group `pgid` exists (zombies included).
bool group_exists(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

/// The request of the end report, with as much of the output tail as fits the socket's limit.
json::object end_report(const ExecOptions& o, int status, milliseconds duration, const std::string& reason,
                        const std::string& output) {
  json::object req{
      {"cmd", "ping"}, {"name", o.name}, {"what", "exit"}, {"exit_code", status}, {"duration_ms", duration.count()}};
  if (!reason.empty()) {
    req["reason"] = reason;
  }
  const std::size_t base = json::serialize(req).size() + 32;
  std::string tail = output;
  for (;;) {
    const std::string text = to_utf8(tail);
    const std::size_t size = json::serialize(json::value(json::string(text))).size();
    if (base + size <= kMaxRequest) {
      req["output"] = text;
      return req;
    }
    // Escapes (\n, \u0001) make the JSON longer than the bytes: drop the overshoot and try again.
    const std::size_t over = base + size - kMaxRequest;
    tail = tail.substr(std::min(tail.size(), over + 16));
  }
}

/// Report one thing; "" when it got through, else why not (the daemon's refusal or the socket's error).
std::string report(const ExecOptions& o, const json::object& req, bool& unreachable) {
  auto r = call(o.socket, req, kReportTimeout);
  if (!r.error.empty()) {
    unreachable = r.exit == exit_unreachable;
    return r.error;
  }
  if (r.exit != exit_ok) {
    const auto* e = r.reply.if_contains("error");
    return e != nullptr && e->is_string() ? std::string(e->as_string()) : "request failed";
  }
  return "";
}

}  // namespace

std::string to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = utf8_length(s, i);
    if (len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

int run_exec(const ExecOptions& o) {
  bool unreachable = false;
  std::string start_error = report(o, json::object{{"cmd", "ping"}, {"name", o.name}, {"what", "start"}}, unreachable);
  if (!start_error.empty() && !unreachable) {
    std::cerr << "tend: tendd refused the start report: " << start_error << "; running the command anyway\n";
  }

  int out_pipe[2];
  int err_pipe[2];
  int exec_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::cerr << "tend: pipe: " << std::strerror(errno) << "\n";
    return 125;
  }
  // Signals to us (Ctrl-C, systemctl stop, cron's kill) are forwarded to CMD's group; SIGCHLD
  // wakes the loop. Handlers reset to the default across exec; SIG_IGN would not, hence SIGPIPE
  // is restored in the child.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
    ::sigaction(sig, &sa, nullptr);
  }
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<char*> argv;
  for (const auto& a : o.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);

  const auto started = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::cerr << "tend: fork: " << std::strerror(errno) << "\n";
    return 125;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
      ::signal(sig, SIG_DFL);
    }
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    const int e = errno;
    [[maybe_unused]] auto n = ::write(exec_pipe[1], &e, sizeof e);
    ::_exit(e == ENOENT ? 127 : 126);
  }
  ::setpgid(pid, pid);  // also here: whichever of parent and child runs first
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);

  // The exec pipe closes on a successful exec (CLOEXEC) or carries errno.
  int exec_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  std::string exec_error;
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    exec_error = "exec " + o.argv[0] + ": " + std::strerror(exec_errno);
    std::cerr << "tend: " << exec_error << "\n";
  }

  process::OutputBuffer tail(kKeep);
  std::array<pollfd, 3> fds{};
  fds[0] = {out_pipe[0], POLLIN, 0};
  fds[1] = {err_pipe[0], POLLIN, 0};
  fds[2] = {signal_pipe[0], POLLIN, 0};
  const int targets[2] = {STDOUT_FILENO, STDERR_FILENO};
  std::array<char, 65536> buf{};

  const auto deadline = o.timeout ? std::optional(started + *o.timeout) : std::nullopt;
  std::optional<Clock::time_point> kill_at;       // SIGKILL the group then
  std::optional<Clock::time_point> stop_reading;  // give up on pipes held by escaped processes
  bool timed_out = false;
  bool exited = false;
  int wait_status = 0;
  Clock::time_point ended{};

  auto signal_group = [&](int sig) {
    if (group_exists(pid)) {
      ::kill(-pid, sig);
    }
  };

  for (;;) {
    // Has CMD exited? Peek without reaping: the zombie keeps its pid, so the group id cannot be
    // reused by someone else while we still signal it.
    if (!exited) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        exited = true;
        ended = Clock::now();
        if (process::detail::group_has_live_member(pid)) {
          // What CMD left behind in its group goes too, as with tend's own jobs.
          ::kill(-pid, SIGTERM);
          ::kill(-pid, SIGCONT);
          if (!kill_at) {
            kill_at = ended + kKillGrace;
          }
        }
        stop_reading = Clock::now() + (kill_at ? kKillGrace + std::chrono::seconds(1) : std::chrono::seconds(1));
      }
    }
    const bool pipes_open = fds[0].fd >= 0 || fds[1].fd >= 0;
    const auto now = Clock::now();
    if (exited && (!pipes_open || (stop_reading && now >= *stop_reading))) {
      break;
    }
    if (deadline && !timed_out && !exited && now >= *deadline) {
      timed_out = true;
      std::cerr << "tend: " << o.argv[0] << " timed out after " << format_duration(*o.timeout)
                << "; stopping its process group\n";
      signal_group(SIGTERM);
      signal_group(SIGCONT);
      kill_at = now + kKillGrace;
    }
    if (kill_at && now >= *kill_at) {
      signal_group(SIGKILL);
      kill_at.reset();
    }
    // Sleep until something happens or the next deadline, at most a second.
    auto wait = milliseconds(1000);
    for (const auto& t : {deadline && !timed_out ? deadline : std::nullopt, kill_at, stop_reading}) {
      if (t) {
        wait = std::min(
            wait, std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*t - now) + milliseconds(1)));
      }
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t r = ::read(fds[i].fd, buf.data(), buf.size());
      if (r > 0) {
        write_all(targets[i], buf.data(), static_cast<std::size_t>(r));
        tail.append(std::string_view(buf.data(), static_cast<std::size_t>(r)));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if ((fds[2].revents & POLLIN) != 0) {
      unsigned char sig = 0;
      while (::read(signal_pipe[0], &sig, 1) == 1) {
        if (sig != SIGCHLD && !exited) {
          signal_group(sig);
        }
      }
    }
  }
  ::waitpid(pid, &wait_status, 0);
  for (auto& f : fds) {
    if (f.fd >= 0 && f.fd != signal_pipe[0]) {
      ::close(f.fd);
    }
  }

  int status = 0;
  std::string reason;
  if (!exec_error.empty()) {
    status = exec_errno == ENOENT ? 127 : 126;
    reason = exec_error;
  } else if (timed_out) {
    status = kTimeoutStatus;
    reason = "timeout after " + format_duration(*o.timeout);
    if (WIFSIGNALED(wait_status)) {
      reason += " (" + signal_name(WTERMSIG(wait_status)) + ")";
    }
  } else if (WIFEXITED(wait_status)) {
    status = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    status = 128 + WTERMSIG(wait_status);
    reason = "killed by " + signal_name(WTERMSIG(wait_status));
  }
  const auto duration = std::chrono::duration_cast<milliseconds>((exited ? ended : Clock::now()) - started);

  bool end_unreachable = false;
  const std::string end_error = report(o, end_report(o, status, duration, reason, tail.str()), end_unreachable);
  if (!end_error.empty()) {
    std::cerr << "tend: the result of '" << o.name << "' (exit " << status << ") was not reported: " << end_error
              << "\n";
  }
  return status;
}

}  // namespace tend::cli
