#include "process/group.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tend::process::detail {
namespace {

// The state letter and process group of /proc/PID/stat ("PID (comm) S PPID PGRP ..."); false when
// the process is gone. comm may contain spaces and parentheses, hence the search for the last ')'.
bool read_stat(const char* pid, char& state, long& pgrp) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) {
    return false;
  }
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ' || p[2] == '\0') {
    return false;
  }
  state = p[2];
  char* end = nullptr;
  std::strtol(p + 3, &end, 10);  // ppid
  pgrp = std::strtol(end, &end, 10);
  return true;
}

}  // namespace

bool group_has_live_member(pid_t pgid) {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    return true;  // cannot tell: assume the worst, the kill timer bounds the wait
  }
  bool live = false;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::isdigit(static_cast<unsigned char>(entry->d_name[0])) == 0) {
      continue;
    }
    char state = 0;
    long pgrp = 0;
    if (read_stat(entry->d_name, state, pgrp) && pgrp == pgid && state != 'Z' && state != 'X') {
      live = true;
      break;
    }
  }
  ::closedir(dir);
  return live;
}

}  // namespace tend::process::detail
