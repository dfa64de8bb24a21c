// remedy_driver: run one remedy once, with the real launcher and the real system bus, and print its
// Outcome as one JSON line — for integration tests that restart real PM2 apps and systemd units
// without the probe engine. Exit 0 when the outcome is ok, 1 when not, 2 on a usage error.
//
//   remedy_driver [--timeout MS] [--debug] pm2 APP [USER]
//   remedy_driver [--timeout MS] [--debug] systemd UNIT
//   remedy_driver [--timeout MS] [--debug] exec -- ARGV...

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "process/launcher.hpp"
#include "remedies/remedy.hpp"
#include "util/log.hpp"

namespace {

int usage(const std::string& why) {
  std::cerr << "remedy_driver: " << why << "\n"
            << "usage: remedy_driver [--timeout MS] [--debug] pm2 APP [USER] | systemd UNIT | exec -- ARGV...\n";
  return 2;
}

void print(const tend::remedies::Outcome& o) {
  boost::json::object j;
  j["ok"] = o.ok;
  j["detail"] = o.detail;
  j["output"] = o.output;
  j["duration_ms"] = o.duration.count();
  std::cout << boost::json::serialize(j) << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::chrono::milliseconds timeout{60'000};
  std::string level = "warn";
  std::size_t i = 0;
  while (i < args.size() && args[i].starts_with("--")) {
    if (args[i] == "--timeout" && i + 1 < args.size()) {
      timeout = std::chrono::milliseconds(std::stoll(args[i + 1]));
      i += 2;
    } else if (args[i] == "--debug") {
      level = "debug";
      ++i;
    } else {
      return usage("unknown option " + args[i]);
    }
  }
  if (i >= args.size()) {
    return usage("no remedy type");
  }
  tend::config::RemedyConfig cfg;
  cfg.type = args[i++];
  if (cfg.type == "pm2") {
    if (i >= args.size() || args.size() - i > 2) {
      return usage("pm2 APP [USER]");
    }
    cfg.target = args[i];
    cfg.user = i + 1 < args.size() ? args[i + 1] : "";
  } else if (cfg.type == "systemd") {
    if (args.size() - i != 1) {
      return usage("systemd UNIT");
    }
    cfg.target = args[i];
  } else if (cfg.type == "exec") {
    if (i < args.size() && args[i] == "--") {
      ++i;
    }
    cfg.argv.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    if (cfg.argv.empty()) {
      return usage("exec -- ARGV...");
    }
  }

  tend::log::configure(level, "text");
  int rc = 1;
  {
    boost::asio::io_context io;
    auto launcher = tend::process::make_posix_launcher(io);
    tend::remedies::Context ctx{io, *launcher, timeout};
    auto remedy = tend::remedies::make_remedy(cfg, ctx);
    if (!remedy) {
      print({false, remedy.error(), "", {}});
    } else {
      std::optional<tend::remedies::Outcome> outcome;
      (*remedy)->run([&](tend::remedies::Outcome o) {
        outcome = std::move(o);
        io.stop();
      });
      io.run();
      if (outcome) {
        print(*outcome);
        rc = outcome->ok ? 0 : 1;
      } else {
        print({false, "remedy_driver: the loop ended without an outcome", "", {}});
      }
    }
    remedy = tend::Error{""};  // the remedy and the bus go before the loop does
    ctx.system_bus.reset();
  }
  tend::log::shutdown();
  return rc;
}
