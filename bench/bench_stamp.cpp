// bench_stamp FILE TAG: appends "TAG SECONDS.NANOSECONDS\n" (CLOCK_REALTIME, read before anything
// else) to FILE with one O_APPEND write, so many concurrent runs never interleave. The scenario
// scripts use it as a job's command and as an exec remedy: the time a child actually started,
// comparable with nginx's $msec, without a shell and date(1) adding two exec()s to the figure.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (argc != 3) {
    std::fputs("usage: bench_stamp FILE TAG\n", stderr);
    return 2;
  }
  char line[512];
  const int n = std::snprintf(line, sizeof line, "%s %lld.%09ld\n", argv[2], static_cast<long long>(now.tv_sec),
                              static_cast<long>(now.tv_nsec));
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof line) {
    return 2;
  }
  const int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  const bool ok = write(fd, line, static_cast<std::size_t>(n)) == n;
  close(fd);
  return ok ? 0 : 1;
}
