// tendd: parse flags -> load and validate config -> build the daemon -> run the loop -> tear down.

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <iostream>
#include <string>

#include "config/loader.hpp"
#include "core/daemon.hpp"
#include "util/log.hpp"

namespace {

/// Probes hold one socket each while in flight: raise the soft fd limit to the hard one.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

struct Flags {
  std::string config = "/etc/tend/tend.yaml";
  bool check = false;
};

int usage(std::ostream& out, int code) {
  out << "usage: tendd [--config FILE]     run the daemon (default /etc/tend/tend.yaml)\n"
         "       tendd --check FILE        validate FILE and its includes; exit 0 when valid\n"
         "       tendd --version\n";
  return code;
}

/// Print every error; true when the config loaded.
bool report(const tend::config::LoadResult& result) {
  for (const auto& e : result.errors) {
    std::cerr << e.to_string() << "\n";
  }
  return result.config.has_value();
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c" || a == "--check") && i + 1 < argc) {
      flags.check = flags.check || a == "--check";
      flags.config = argv[++i];
    } else if (a == "--version" || a == "-V") {
      std::cout << "tendd " << tend::core::version() << "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      return usage(std::cout, 0);
    } else {
      std::cerr << "tendd: unknown argument '" << a << "'\n";
      return usage(std::cerr, 2);
    }
  }

  auto sources = tend::config::Sources::system();
  auto loaded = tend::config::load_file(flags.config, sources);
  if (!report(loaded)) {
    std::cerr << "tendd: " << flags.config << ": " << loaded.errors.size() << " error(s)\n";
    return 1;
  }
  if (flags.check) {
    std::cout << flags.config << ": ok (" << loaded.config->jobs.size() << " jobs, " << loaded.config->probes.size()
              << " probes, " << loaded.config->watches.size() << " watches, " << loaded.config->checks.size()
              << " checks)\n";
    return 0;
  }

  tend::log::configure(loaded.config->daemon.log.level, loaded.config->daemon.log.format);
  raise_fd_limit();
  int code = 0;
  try {
    boost::asio::io_context io(1);
    tend::core::Daemon daemon(io, std::move(*loaded.config), sources);
    daemon.start();
    io.run();
  } catch (const std::exception& e) {
    tend::log::get("daemon")->critical("event=FATAL error={}", tend::log::quote(e.what()));
    std::cerr << "tendd: " << e.what() << "\n";
    code = 1;
  }
  tend::log::shutdown();
  return code;
}
