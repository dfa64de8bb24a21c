#pragma once
// Builtin jobs (`builtin: NAME`): work tend does itself on a schedule. Each is one file defining
// one Builtin (its name and what it runs); registry.cpp holds the only list, which the config
// reader also takes (`builtin:` accepts exactly these names).

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "entries/entry.hpp"
#include "entries/services.hpp"

namespace tend::alerts {
class Engine;
}

namespace tend::builtins {

/// What builtins may use.
struct Context {
  Clock& clock;
  state::Store& store;
  alerts::Engine& alerts;
  /// The entry named so in the configuration in force, or nullptr.
  std::function<std::shared_ptr<const entries::Entry>(const std::string& name)> find_entry;
  const config::DaemonConfig& daemon;  // the section in force (host)
};

struct Builtin {
  std::string_view name;
  /// Run for job `job`; `done` exactly once, on the loop.
  std::function<void(Context& ctx, const std::string& job, entries::BuiltinDone done)> run;
};

/// Every builtin, in table order.
std::span<const Builtin* const> all();

/// Their names (config::Plugins::builtins).
std::vector<std::string_view> names();

/// Runs builtins by name for the jobs (entries::Builtins).
class Runner final : public entries::Builtins {
 public:
  explicit Runner(Context ctx) : ctx_(std::move(ctx)) {}
  void run(const std::string& builtin, const std::string& job, entries::BuiltinDone done) override;

 private:
  Context ctx_;
};

}  // namespace tend::builtins
