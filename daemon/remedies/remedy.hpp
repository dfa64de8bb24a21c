#pragma once
// Remedies: what restarts the thing behind a failing probe. One file per type (pm2, systemd,
// exec) behind this interface, registered in one table (registry.cpp) that is the single list of
// types. Adding a type = one file + one line.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "util/expected.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::process {
class Launcher;
}

namespace tend::remedies {

class SystemBus;

/// How an attempt to restart went (before verification by the probe).
struct Outcome {
  bool ok = false;
  std::string detail;  // one line: "pm2 restart api: ok (restarts 3 -> 4)", "RestartUnit api.service: job failed"
  std::string output;  // captured output of commands run (tail), for the record
  std::chrono::milliseconds duration{0};
};

using Done = std::function<void(Outcome)>;

class Remedy {
 public:
  /// Destroying a remedy abandons a restart in flight: its command is killed (process group), its
  /// D-Bus call dropped, and its `done` never runs.
  virtual ~Remedy() = default;
  /// Start one restart; `done` runs on the loop exactly once (also on timeout or error), never
  /// inside run(). A run() while one is in flight fails that second run (ok = false).
  virtual void run(Done done) = 0;
  /// "pm2 restart api (user ubuntu)", for logs and status.
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// What remedies may use. Seams: the launcher (processes) and the system bus (its address).
struct Context {
  boost::asio::io_context& io;
  process::Launcher& launcher;
  std::chrono::milliseconds command_timeout{60'000};  // pm2/exec commands; systemd: call to job result
  /// The D-Bus address systemd remedies use; empty: the system bus. A seam for tests ("unix:path=...").
  std::string system_bus_address{};
  /// The one bus connection all systemd remedies share; make_remedy creates it on first use, it
  /// connects lazily and again after a drop. Must go before `io` does.
  std::shared_ptr<SystemBus> system_bus{};
};

/// Build the remedy `cfg` describes (cfg.type is one of config::remedy_types()). The remedy keeps
/// ctx.io, ctx.launcher and ctx.system_bus, not ctx itself. Errors: an unknown type, or a pm2 name
/// pm2's CLI would read as something else ("all", a number, a leading '-').
Expected<std::unique_ptr<Remedy>> make_remedy(const config::RemedyConfig& cfg, Context& ctx);

/// The remedy types the registry knows, in table order (the same list as config::remedy_types()).
std::vector<std::string> types();

}  // namespace tend::remedies
