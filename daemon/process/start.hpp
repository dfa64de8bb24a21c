#pragma once
// Internal: starting one prepared child through Boost.Process v2, on the spawner thread.

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>

#include "process/fd.hpp"
#include "process/prepare.hpp"
#include "util/expected.hpp"

namespace tend::process::detail {

/// The steps between fork and exec, in order; the child records which one it is at.
enum class Stage : int { none = 0, setpgid, rlimit, stdio, setgroups, setgid, setuid, chdir, exec };

/// Written by the child, read by the parent once the launcher has returned: with vfork the child shares
/// our memory, after fork it lives in a MAP_SHARED page (see ReportPage). Lock-free atomics are
/// address-free, so they work across processes.
struct ChildReport {
  std::atomic<int> stage{0};
  std::atomic<int> error{0};  // errno of the failed step; 0: the launcher's error_code has it
};

/// One MAP_SHARED anonymous page holding a ChildReport, reused by every start of one spawner thread.
class ReportPage {
 public:
  /// Map the page; throws std::system_error when mmap fails.
  ReportPage();
  ~ReportPage();
  ReportPage(const ReportPage&) = delete;
  ReportPage& operator=(const ReportPage&) = delete;
  [[nodiscard]] ChildReport& report() const { return *report_; }

 private:
  void* page_ = nullptr;
  ChildReport* report_ = nullptr;
};

/// A started child whose exit nobody has collected yet. If it is destroyed still owning one, it
/// SIGKILLs the group and reaps the process (blocking, bounded by the SIGKILL).
class Started {
 public:
  Started() = default;
  Started(pid_t pid, Fd pidfd, Fd output) : pid_(pid), pidfd_(std::move(pidfd)), output_(std::move(output)) {}
  Started(Started&& other) noexcept;
  Started& operator=(Started&& other) noexcept;
  Started(const Started&) = delete;
  Started& operator=(const Started&) = delete;
  ~Started() { kill_and_reap(); }

  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Hand over the process: its pid, its pidfd and the read end of its output pipe.
  pid_t release(Fd& pidfd, Fd& output);
  /// SIGKILL the group and the process, then reap it. Nothing when already released.
  void kill_and_reap();

 private:
  pid_t pid_ = -1;
  Fd pidfd_;   // O_CLOEXEC
  Fd output_;  // O_CLOEXEC | O_NONBLOCK
};

/// How to start.
struct StartOptions {
  bool share_memory = true;         // vfork_launcher; false: default_launcher (fork)
  std::optional<rlim_t> nofile;     // the child's soft RLIMIT_NOFILE
  bool close_range_cloexec = true;  // the kernel has close_range(CLOSE_RANGE_CLOEXEC) (5.11+)
};

/// Whether this kernel supports close_range(CLOSE_RANGE_CLOEXEC) (Linux 5.11 and later).
bool have_close_range_cloexec();

/// Mark every descriptor from `first` below `limit` close-on-exec, one fcntl at a time: what the child
/// does when close_range(CLOSE_RANGE_CLOEXEC) is missing. Async-signal-safe.
void mark_cloexec_by_loop(int first, int limit);

/// Start `p` in a new process group, stdin on /dev/null, stdout+stderr on one new pipe. Failures of
/// any step read like "exec python3: No such file or directory" or "chdir /x: ...".
Expected<Started> start(const Prepared& p, const StartOptions& options, ChildReport& report);

}  // namespace tend::process::detail
