// remedy_driver: run one remedy once, with the real launcher and the real system bus, and print its
// Outcome as one JSON line — for integration tests that restart real PM2 apps and systemd units
// without the probe engine. Exit 0 when the outcome is ok, 1 when not, 2 on a usage error.
//
//   remedy_driver [--timeout MS] [--debug] pm2 APP [USER]
//   remedy_driver [--timeout MS] [--debug] systemd UNIT
//   remedy_driver [--timeout MS] [--debug] exec -- ARGV...

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
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
  // The arguments become the `restart:` mapping config would hold, read by the same readers.
  const std::string type = args[i++];
  boost::json::array rest;
  for (; i < args.size(); ++i) {
    if (!(type == "exec" && rest.empty() && args[i] == "--")) {
      rest.emplace_back(args[i]);
    }
  }
  std::string yaml;
  if (type == "pm2" && (rest.size() == 1 || rest.size() == 2)) {
    yaml = "{pm2: " + boost::json::serialize(rest[0]) +
           (rest.size() == 2 ? ", user: " + boost::json::serialize(rest[1]) : std::string()) + "}";
  } else if (type == "systemd" && rest.size() == 1) {
    yaml = "{systemd: " + boost::json::serialize(rest[0]) + "}";
  } else if (type == "exec" && !rest.empty()) {
    yaml = "{exec: " + boost::json::serialize(rest) + "}";
  } else {
    return usage("pm2 APP [USER] | systemd UNIT | exec -- ARGV...");
  }
  auto cfg = tend::remedies::parse_restart(yaml);

  tend::log::configure(level, "text");
  int rc = 1;
  {
    boost::asio::io_context io;
    auto launcher = tend::process::make_posix_launcher(io);
    tend::remedies::Context ctx{io, *launcher, timeout};
    std::unique_ptr<tend::remedies::Remedy> remedy;
    if (!cfg) {
      print({false, cfg.error(), "", {}});
    } else {
      remedy = tend::remedies::make_remedy(*cfg, ctx);
      std::optional<tend::remedies::Outcome> outcome;
      remedy->run([&](tend::remedies::Outcome o) {
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
    remedy.reset();  // the remedy and the bus go before the loop does
    ctx.system_bus.reset();
  }
  tend::log::shutdown();
  return rc;
}
