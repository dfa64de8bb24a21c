// `restart: {exec: [argv]}`: run the command through the launcher (own process group, timeout,
// capped output), never through a shell. Exit 0 is success.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "process/launcher.hpp"
#include "remedies/common.hpp"
#include "util/lifetime.hpp"

namespace tend::remedies::detail {
namespace {

using Clock = std::chrono::steady_clock;

class ExecRemedy final : public Remedy {
 public:
  ExecRemedy(Context& ctx, std::vector<std::string> argv)
      : io_(ctx.io),
        launcher_(ctx.launcher),
        timeout_(ctx.command_timeout),
        base_env_(ctx.base_env),
        argv_(std::move(argv)) {}

  void run(Done done) override {
    if (child_) {
      post_outcome(io_, lifetime_.guard(std::move(done)),
                   {false, describe() + ": a restart is already running", "", {}});
      return;
    }
    process::Spec spec;
    spec.argv = argv_;
    spec.timeout = timeout_;
    spec.base_env = base_env_;
    spec.output_limit = kOutputLimit;
    const auto started = Clock::now();
    // `this` outlives the callback: destroying the remedy destroys child_, and a destroyed Child
    // never reports.
    child_ = launcher_.spawn(spec, [this, done = std::move(done), started](process::Result result) mutable {
      child_.reset();
      Outcome outcome;
      outcome.ok = result.success() && !result.timed_out;
      outcome.detail = "exec " + argv_.front() + ": " + ending(result, timeout_);
      outcome.output = tail(result.output);
      outcome.duration = since(started);
      // Last: `done` may destroy this remedy.
      Done finish = std::move(done);
      finish(std::move(outcome));
    });
  }

  [[nodiscard]] std::string describe() const override { return "exec " + argv_.front(); }

 private:
  boost::asio::io_context& io_;
  process::Launcher& launcher_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::string> base_env_;
  std::vector<std::string> argv_;
  std::shared_ptr<process::Child> child_;
  Lifetime lifetime_;
};

}  // namespace

}  // namespace tend::remedies::detail

namespace tend::remedies {
namespace {

struct ExecSettings : config::Settings<ExecSettings> {
  std::vector<std::string> argv;
  bool operator==(const ExecSettings&) const = default;
};

}  // namespace

/// `restart: {exec: [argv...]}`.
extern const Variant exec_variant;
const Variant exec_variant{
    "exec",
    {},
    [](config::MapReader& /*s*/, const config::Value& v) -> std::shared_ptr<const config::EntrySettings> {
      auto argv = v.string_list(/*non_empty=*/true);
      if (!argv) {
        return nullptr;
      }
      if (argv->front().empty()) {
        v.error("the command (the first element) must not be empty");
        return nullptr;
      }
      auto out = std::make_shared<ExecSettings>();
      out->argv = std::move(*argv);
      return out;
    },
    [](const config::EntrySettings& settings, Context& ctx) -> std::unique_ptr<Remedy> {
      return std::make_unique<detail::ExecRemedy>(ctx, static_cast<const ExecSettings&>(settings).argv);
    },
};

}  // namespace tend::remedies
