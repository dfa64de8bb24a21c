#pragma once
// Remedies: what restarts the thing behind a failing probe. Each type (pm2, systemd, exec) is one
// file that defines one Variant: the key it takes under `restart:`, its config reader (so
// `tendd --check` validates exactly what the runtime accepts) and its factory. registry.cpp holds
// the only list of them; adding a type = its file + one line there.

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "config/reader.hpp"
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
  /// The one bus connection all systemd remedies share; the systemd variant creates it on first
  /// use, it connects lazily and again after a drop. Must go before `io` does.
  std::shared_ptr<SystemBus> system_bus{};
  /// `daemon.env`: added to the clean environment of every command a remedy runs.
  std::map<std::string, std::string> base_env{};
};

/// One remedy type.
struct Variant {
  std::string_view type;               // its key under `restart:` ("pm2")
  std::vector<std::string_view> keys;  // the further keys of `restart:` it reads ("user")
  /// Read `restart: {TYPE: value, ...}`; errors go to the reader, nullptr when invalid.
  std::function<std::shared_ptr<const config::EntrySettings>(config::MapReader& restart, const config::Value& value)>
      read;
  /// Build the remedy from what read() returned.
  std::function<std::unique_ptr<Remedy>(const config::EntrySettings& settings, Context& ctx)> make;
};

/// Every remedy type, in table order (registry.cpp).
std::span<const Variant* const> variants();

enum class Notify { all, failures };

/// A probe's `remedy:`: the restart (one variant's settings) and the policy around it.
struct RemedyConfig {
  std::string type;                                      // the variant's key
  std::shared_ptr<const config::EntrySettings> restart;  // the variant's settings
  std::chrono::milliseconds settle{10'000};
  int max_restarts = 3;
  std::chrono::milliseconds window{15 * 60'000};
  std::chrono::milliseconds cooldown{60 * 60'000};
  Notify notify = Notify::all;
  bool operator==(const RemedyConfig& o) const {
    return type == o.type && config::same_settings(restart, o.restart) && settle == o.settle &&
           max_restarts == o.max_restarts && window == o.window && cooldown == o.cooldown && notify == o.notify;
  }
};

/// Read a probe's `remedy:` mapping (restart, settle, max_restarts, window, cooldown, notify).
std::optional<RemedyConfig> read_remedy(config::MapReader& m);

/// Read a `restart:` mapping written as YAML text ("{pm2: api, user: app}"), for tools and tests
/// that build a remedy without a config file. Errors are the reader's, one per line.
Expected<RemedyConfig> parse_restart(std::string_view yaml);

/// Build the remedy `cfg` describes. The remedy keeps ctx.io, ctx.launcher and ctx.system_bus,
/// not ctx itself.
std::unique_ptr<Remedy> make_remedy(const RemedyConfig& cfg, Context& ctx);

}  // namespace tend::remedies
