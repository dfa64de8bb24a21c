// spawn_floor STAMP OUT THREADS [ROUNDS]: the floor of a burst of job starts on this machine, with
// nothing of tend in the way. At each of ROUNDS (default 5) second boundaries, THREADS threads of
// this small process posix_spawn 100 children of STAMP (bench_stamp: "TAG SECONDS" appended to OUT
// on the child's own clock) between them, as fast as they can; then reaps them. The offsets of the
// stamps from their second are what tendbench's `jobs` scenario measures for tend (bench/README.md):
//   build-bench/bench/bench_spawn_floor build-bench/bench/bench_stamp /tmp/floor 1
// THREADS 0: the floor of any design. The 100 children are forked before the second and wait on a
// pipe; at the second the pipe closes and each only execs STAMP, all at once.
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

constexpr int kBurst = 100;

/// "r3j42": round 3, child 42.
std::string tag(int round, int child) {
  char text[32];
  std::snprintf(text, sizeof text, "r%dj%d", round, child);
  return text;
}

void spawn_some(const char* stamp, const char* out, int round, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    std::string name = tag(round, i);
    char* argv[] = {const_cast<char*>(stamp), const_cast<char*>(out), name.data(), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, stamp, nullptr, nullptr, argv, environ) != 0) {
      std::perror("posix_spawn");
    }
  }
}

/// Fork the burst ahead, each child blocked on `gate`; they exec when its write end closes.
std::vector<pid_t> fork_ahead(const char* stamp, const char* out, int round, const int gate[2]) {
  std::vector<pid_t> pids;
  for (int i = 0; i < kBurst; ++i) {
    std::string name = tag(round, i);
    const pid_t pid = fork();
    if (pid == 0) {
      close(gate[1]);  // only the parent holds the write end: its close is everyone's EOF
      char byte = 0;
      while (read(gate[0], &byte, 1) < 0) {
      }
      char* argv[] = {const_cast<char*>(stamp), const_cast<char*>(out), name.data(), nullptr};
      execve(stamp, argv, environ);
      _exit(127);
    }
    pids.push_back(pid);
  }
  return pids;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fputs("usage: spawn_floor STAMP OUT THREADS [ROUNDS]\n", stderr);
    return 2;
  }
  const int threads = std::max(0, std::atoi(argv[3]));
  const int rounds = argc > 4 ? std::max(1, std::atoi(argv[4])) : 5;
  for (int r = 0; r < rounds; ++r) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    const timespec next{now.tv_sec + 1, 0};
    if (threads == 0) {
      int gate[2];
      if (pipe(gate) != 0) {
        std::perror("pipe");
        return 1;
      }
      fork_ahead(argv[1], argv[2], r, gate);
      close(gate[0]);
      clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &next, nullptr);
      close(gate[1]);
      while (wait(nullptr) > 0) {
      }
      continue;
    }
    clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &next, nullptr);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      const int first = t * kBurst / threads;
      const int count = (t + 1) * kBurst / threads - first;
      pool.emplace_back(spawn_some, argv[1], argv[2], r, first, count);
    }
    for (auto& t : pool) {
      t.join();
    }
    while (wait(nullptr) > 0) {
    }
  }
  return 0;
}
