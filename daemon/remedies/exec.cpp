// `restart: {exec: [argv]}`: run the command through the launcher (own process group, timeout,
// capped output), never through a shell. Exit 0 is success.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "process/launcher.hpp"
#include "remedies/common.hpp"
#include "remedies/kinds.hpp"

namespace tend::remedies::detail {
namespace {

using Clock = std::chrono::steady_clock;

class ExecRemedy final : public Remedy {
 public:
  ExecRemedy(Context& ctx, std::vector<std::string> argv)
      : io_(ctx.io), launcher_(ctx.launcher), timeout_(ctx.command_timeout), argv_(std::move(argv)) {}

  void run(Done done) override {
    if (child_) {
      post_outcome(io_, guard_, std::move(done), {false, describe() + ": a restart is already running", "", {}});
      return;
    }
    process::Spec spec;
    spec.argv = argv_;
    spec.timeout = timeout_;
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
  std::vector<std::string> argv_;
  std::shared_ptr<process::Child> child_;
  std::shared_ptr<int> guard_ = std::make_shared<int>(0);
};

}  // namespace

Expected<std::unique_ptr<Remedy>> make_exec(const config::RemedyConfig& cfg, Context& ctx) {
  if (cfg.argv.empty() || cfg.argv.front().empty()) {
    return Error{"exec remedy needs a command (argv)"};
  }
  return std::unique_ptr<Remedy>(std::make_unique<ExecRemedy>(ctx, cfg.argv));
}

}  // namespace tend::remedies::detail
