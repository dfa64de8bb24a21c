#include "metrics/process.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tend::metrics {
namespace {

std::optional<std::uint64_t> count_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    return std::nullopt;
  }
  // The directory stream's own descriptor is listed too; it is not one of ours to report.
  const std::string own = std::to_string(::dirfd(dir));
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view name(e->d_name);
    if (name != "." && name != ".." && name != own) {
      ++n;
    }
  }
  ::closedir(dir);
  return n;
}

/// Boot time (Unix seconds) from /proc/stat's btime line.
std::optional<std::uint64_t> boot_time() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10);
    }
  }
  return std::nullopt;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats s;
  s.open_fds = count_fds();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    s.max_fds = rl.rlim_cur;
  }
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  {
    std::ifstream in("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    if (in >> size >> resident) {
      s.virtual_bytes = size * page;
      s.resident_bytes = resident * page;
    }
  }
  {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const auto close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(text.substr(close + 1));
      std::string f;
      const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
      double utime = 0;
      double stime = 0;
      // Fields after the name start at 3 (state); utime is 14, stime 15, starttime 22.
      for (int i = 3; i <= 22 && fields >> f; ++i) {
        if (i == 14) {
          utime = std::strtod(f.c_str(), nullptr);
        } else if (i == 15) {
          stime = std::strtod(f.c_str(), nullptr);
          s.cpu_seconds = (utime + stime) / ticks;
        } else if (i == 22) {
          if (auto boot = boot_time()) {
            s.start_time_seconds = static_cast<double>(*boot) + std::strtod(f.c_str(), nullptr) / ticks;
          }
        }
      }
    }
  }
  return s;
}

void write_process_metrics(Writer& w, const ProcessStats& s) {
  if (s.open_fds) {
    w.family("tend_process_open_fds", "Open file descriptors of tendd.", Type::gauge);
    w.sample({}, *s.open_fds);
  }
  if (s.max_fds) {
    w.family("tend_process_max_fds", "Limit on open file descriptors of tendd (RLIMIT_NOFILE).", Type::gauge);
    w.sample({}, *s.max_fds);
  }
  if (s.resident_bytes) {
    w.family("tend_process_resident_memory_bytes", "Resident memory of tendd.", Type::gauge);
    w.sample({}, *s.resident_bytes);
  }
  if (s.virtual_bytes) {
    w.family("tend_process_virtual_memory_bytes", "Virtual memory of tendd.", Type::gauge);
    w.sample({}, *s.virtual_bytes);
  }
  if (s.cpu_seconds) {
    w.family("tend_process_cpu_seconds_total", "CPU time (user and system) used by tendd.", Type::counter);
    w.sample({}, *s.cpu_seconds);
  }
  if (s.start_time_seconds) {
    w.family("tend_process_start_time_seconds", "When tendd started, as a Unix time.", Type::gauge);
    w.sample({}, *s.start_time_seconds);
  }
}

}  // namespace tend::metrics
