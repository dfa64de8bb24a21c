// tend_test_child: a child process for the process tests. Runs its modes in order, e.g.
//   tend_test_child print hello sleep 200 exit 3
// Modes:
//   exit N                    exit with status N (ends the program)
//   sleep MS                  sleep MS milliseconds (resumes after signals that are ignored)
//   print TEXT / eprint TEXT  write TEXT and a newline to stdout / stderr
//   spam-stdout BYTES         write BYTES bytes to stdout; byte i is 'a' + i % 26
//   pipe-size BYTES           make the stdout pipe hold BYTES (F_SETPIPE_SZ); print nothing
//   env NAME                  print "NAME=value", or "NAME unset"
//   env-names                 print the name of every environment variable, one a line, sorted
//   fd N                      print "fd N open" or "fd N closed"
//   nofile                    print "nofile=SOFT" (RLIMIT_NOFILE)
//   signals                   print "ignored=N blocked=M": how many signals are ignored / blocked
//   pwd                       print the working directory
//   id                        print "uid=U gid=G"
//   raise SIG                 send itself signal SIG
//   ignore-sigterm            ignore SIGTERM from now on
//   close-output              point stdout and stderr at /dev/null
//   fork-grandchild           fork a grandchild in the same process group that sleeps 60 s holding
//                             stdout; print "grandchild=PID"
//   fork-grandchild-quiet     the same, but the grandchild lets go of stdout/stderr first
//   fork-grandchild-stubborn  the same as fork-grandchild, but the grandchild ignores SIGTERM
//   fork-escapee              the same as fork-grandchild, but the grandchild leaves the group (setsid)
// Output goes through write(2), unbuffered, so stdout and stderr lines keep their order in a merged pipe.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      std::_Exit(120);  // the reader is gone: nothing sensible left to do
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void print_line(int fd, const std::string& text) { write_all(fd, text + "\n"); }

[[noreturn]] void usage(const std::string& why) {
  print_line(STDERR_FILENO, "tend_test_child: " + why);
  std::_Exit(125);
}

long number(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) {
    usage("not a number: " + text);
  }
  return value;
}

void sleep_ms(long ms) {
  timespec left{ms / 1000, (ms % 1000) * 1'000'000};
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

void to_dev_null() {
  const int fd = ::open("/dev/null", O_WRONLY);
  if (fd < 0) {
    usage("cannot open /dev/null");
  }
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

enum class Grandchild { plain, quiet, stubborn, escapee };

void fork_grandchild(Grandchild kind) {
  // The grandchild reports "set up" through a pipe, so the caller never races its setup (a SIGTERM
  // landing before SIG_IGN, a group kill before setsid).
  int ready[2];
  if (::pipe(ready) != 0) {
    usage("pipe failed");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    usage("fork failed");
  }
  if (pid == 0) {
    ::close(ready[0]);
    if (kind == Grandchild::quiet) {
      to_dev_null();
    } else if (kind == Grandchild::stubborn) {
      ::signal(SIGTERM, SIG_IGN);
    } else if (kind == Grandchild::escapee) {
      ::setsid();
    }
    write_all(ready[1], "r");
    ::close(ready[1]);
    sleep_ms(60'000);
    std::_Exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  while (::read(ready[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  print_line(STDOUT_FILENO, "grandchild=" + std::to_string(pid));
}

void spam(unsigned long long bytes) {
  // A buffer whose length is a multiple of 26 repeats the pattern seamlessly across writes.
  std::string block;
  for (int i = 0; i < 26 * 2520; ++i) {
    block.push_back(static_cast<char>('a' + i % 26));
  }
  while (bytes > 0) {
    const std::size_t n = bytes < block.size() ? static_cast<std::size_t>(bytes) : block.size();
    write_all(STDOUT_FILENO, std::string_view(block).substr(0, n));
    bytes -= n;
  }
}

void print_env_names() {
  std::vector<std::string> names;
  for (char** p = environ; *p != nullptr; ++p) {
    const std::string entry(*p);
    names.push_back(entry.substr(0, entry.find('=')));
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    print_line(STDOUT_FILENO, name);
  }
}

void print_signals() {
  int ignored = 0;
  int blocked = 0;
  sigset_t mask;
  sigemptyset(&mask);
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) {
      ++ignored;
    }
    if (sigismember(&mask, sig) == 1) {
      ++blocked;
    }
  }
  print_line(STDOUT_FILENO, "ignored=" + std::to_string(ignored) + " blocked=" + std::to_string(blocked));
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t i = 0;
  auto next = [&]() -> const std::string& {
    if (i + 1 >= args.size()) {
      usage("mode " + args[i] + " needs an argument");
    }
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& mode = args[i];
    if (mode == "exit") {
      return static_cast<int>(number(next()));
    } else if (mode == "sleep") {
      sleep_ms(number(next()));
    } else if (mode == "print") {
      print_line(STDOUT_FILENO, next());
    } else if (mode == "eprint") {
      print_line(STDERR_FILENO, next());
    } else if (mode == "spam-stdout") {
      spam(std::strtoull(next().c_str(), nullptr, 10));
    } else if (mode == "pipe-size") {
      if (::fcntl(STDOUT_FILENO, F_SETPIPE_SZ, static_cast<int>(number(next()))) < 0) {
        usage(std::string("F_SETPIPE_SZ: ") + std::strerror(errno));
      }
    } else if (mode == "env") {
      const std::string& name = next();
      const char* value = std::getenv(name.c_str());
      print_line(STDOUT_FILENO, value != nullptr ? name + "=" + value : name + " unset");
    } else if (mode == "env-names") {
      print_env_names();
    } else if (mode == "fd") {
      const long fd = number(next());
      const bool open = ::fcntl(static_cast<int>(fd), F_GETFD) >= 0;
      print_line(STDOUT_FILENO, "fd " + std::to_string(fd) + (open ? " open" : " closed"));
    } else if (mode == "nofile") {
      rlimit lim{};
      ::getrlimit(RLIMIT_NOFILE, &lim);
      print_line(STDOUT_FILENO, "nofile=" + std::to_string(lim.rlim_cur));
    } else if (mode == "signals") {
      print_signals();
    } else if (mode == "pwd") {
      char buf[4096];
      print_line(STDOUT_FILENO, ::getcwd(buf, sizeof buf) != nullptr ? buf : "?");
    } else if (mode == "id") {
      print_line(STDOUT_FILENO, "uid=" + std::to_string(::getuid()) + " gid=" + std::to_string(::getgid()));
    } else if (mode == "raise") {
      ::raise(static_cast<int>(number(next())));
    } else if (mode == "ignore-sigterm") {
      ::signal(SIGTERM, SIG_IGN);
    } else if (mode == "close-output") {
      to_dev_null();
    } else if (mode == "fork-grandchild") {
      fork_grandchild(Grandchild::plain);
    } else if (mode == "fork-grandchild-quiet") {
      fork_grandchild(Grandchild::quiet);
    } else if (mode == "fork-grandchild-stubborn") {
      fork_grandchild(Grandchild::stubborn);
    } else if (mode == "fork-escapee") {
      fork_grandchild(Grandchild::escapee);
    } else {
      usage("unknown mode " + mode);
    }
  }
  return 0;
}
