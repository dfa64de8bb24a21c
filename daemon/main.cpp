// tendd: parse flags -> load and validate config -> build the daemon -> run the loop -> tear down.

#include <malloc.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <iostream>
#include <string>

#include "cli/tendd_program.hpp"
#include "config/loader.hpp"
#include "core/daemon.hpp"
#include "plugins/plugins.hpp"
#include "process/launcher.hpp"
#include "util/log.hpp"

namespace {

/// Probes hold one socket each while in flight: raise the soft fd limit to the hard one. Children
/// get the soft limit we were started with (select() breaks above 1024).
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    tend::process::set_child_nofile_limit(lim.rlim_cur);
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// One malloc arena for all threads. glibc gives each thread that allocates an arena of its own (up
/// to 8 a core) and keeps its freed pages: the store worker's alone held 384 kB resident at 100
/// probes. tendd's threads besides the loop allocate little and rarely at once (issue 14).
void share_one_malloc_arena() { ::mallopt(M_ARENA_MAX, 1); }

/// Print every error; true when the config loaded.
bool report(const tend::config::LoadResult& result) {
  for (const auto& e : result.errors) {
    std::cerr << e.to_string() << "\n";
  }
  return result.config.has_value();
}

/// "2 jobs, 1 probes, 0 watches, 3 checks": every kind, from the registry.
std::string summary(const tend::config::Config& cfg) {
  std::string out;
  for (const auto* kind : tend::plugins::kinds()) {
    out += (out.empty() ? "" : ", ") + std::to_string(cfg.count(kind->section.kind)) + " " +
           std::string(kind->section.section);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  share_one_malloc_arena();
  const auto parsed = tend::cli::parse_daemon_flags(argc, argv, tend::core::version());
  if (parsed.exit) {
    return *parsed.exit;
  }
  const tend::cli::DaemonFlags& flags = parsed.flags;

  auto sources = tend::config::Sources::system();
  auto loaded = tend::config::load_file(flags.config, sources, tend::plugins::config());
  if (!report(loaded)) {
    std::cerr << "tendd: " << flags.config << ": " << loaded.errors.size() << " error(s)\n";
    return 1;
  }
  if (flags.check) {
    std::cout << flags.config << ": ok (" << summary(*loaded.config) << ")\n";
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
