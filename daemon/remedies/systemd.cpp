// `restart: {systemd: UNIT}`: systemd's RestartUnit(UNIT, "replace") over the shared system bus
// connection, and the job's JobRemoved result awaited: "done" is success, anything else
// ("failed", "timeout", "canceled", "dependency", "skipped") is not. Bounded by command_timeout.

#include <algorithm>
#include <array>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <memory>
#include <string>
#include <utility>

#include "remedies/common.hpp"
#include "remedies/system_bus.hpp"
#include "util/duration.hpp"
#include "util/lifetime.hpp"

namespace tend::remedies::detail {
namespace {

using Clock = std::chrono::steady_clock;

/// One restart in flight; the bus callback and the timer hold it weakly.
struct SystemdRun {
  SystemdRun(boost::asio::io_context& io, Done d) : done(std::move(d)), timer(io), started(Clock::now()) {}
  Done done;
  boost::asio::steady_timer timer;
  Clock::time_point started;
  SystemBus::Token token = 0;
  bool finished = false;
};

class SystemdRemedy final : public Remedy {
 public:
  SystemdRemedy(Context& ctx, std::string unit)
      : io_(ctx.io), bus_(ctx.system_bus), timeout_(ctx.command_timeout), unit_(std::move(unit)) {}

  ~SystemdRemedy() override {
    if (run_ && !run_->finished) {
      bus_->cancel(run_->token);
      run_->finished = true;
      run_->timer.cancel();
    }
  }
  SystemdRemedy(const SystemdRemedy&) = delete;
  SystemdRemedy& operator=(const SystemdRemedy&) = delete;

  void run(Done done) override {
    if (run_ && !run_->finished) {
      post_outcome(io_, lifetime_.guard(std::move(done)),
                   {false, describe() + ": a restart is already running", "", {}});
      return;
    }
    run_ = std::make_shared<SystemdRun>(io_, std::move(done));
    std::weak_ptr<SystemdRun> weak = run_;
    run_->timer.expires_after(timeout_);
    run_->timer.async_wait([this, weak](const boost::system::error_code& ec) {
      auto run = weak.lock();
      if (ec || !run || run->finished) {
        return;
      }
      const std::string stage = bus_->stage(run->token);
      bus_->cancel(run->token);
      finish(*run, false,
             "RestartUnit " + unit_ + ": no result after " + format_duration(timeout_) +
                 (stage.empty() ? "" : " (" + stage + ")"),
             "");
    });
    // The bus reports on the loop, after run() has returned; `this` is valid while the run is ours.
    run_->token = bus_->restart_unit(unit_, [this, weak](SystemBus::JobOutcome o) {
      auto run = weak.lock();
      if (!run || run->finished) {
        return;
      }
      std::string output = "RestartUnit(" + unit_ + ", replace)";
      output += o.job.empty() ? "\n" : " -> job " + o.job + "\n";
      if (!o.error.empty()) {
        finish(*run, false, "RestartUnit " + unit_ + ": " + o.error, output + o.error + "\n");
        return;
      }
      output += "JobRemoved: " + o.result + "\n";
      if (o.result == "done") {
        finish(*run, true, "RestartUnit " + unit_ + ": job done", output);
      } else {
        finish(*run, false, "RestartUnit " + unit_ + ": job result " + o.result, output);
      }
    });
  }

  [[nodiscard]] std::string describe() const override { return "systemd restart " + unit_; }

 private:
  void finish(SystemdRun& run, bool ok, std::string detail, std::string output) {
    run.finished = true;
    run.timer.cancel();
    Outcome outcome{ok, std::move(detail), std::move(output), since(run.started)};
    Done done = std::move(run.done);
    done(std::move(outcome));  // last: it may destroy this remedy
  }

  boost::asio::io_context& io_;
  std::shared_ptr<SystemBus> bus_;
  std::chrono::milliseconds timeout_;
  std::string unit_;
  std::shared_ptr<SystemdRun> run_;
  Lifetime lifetime_;
};

}  // namespace

}  // namespace tend::remedies::detail

namespace tend::remedies {
namespace {

struct SystemdSettings : config::Settings<SystemdSettings> {
  std::string unit;
  bool operator==(const SystemdSettings&) const = default;
};

// A unit name systemd would accept, with its suffix (api.service).
std::optional<std::string> check_systemd_unit(const std::string& name, const std::string& shown) {
  const bool chars_ok =
      !name.empty() && name.size() <= 255 && name.front() != '-' && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '_' || c == '.' || c == '\\' ||
               c == '@' || c == '-';
      });
  if (!chars_ok) {
    return "invalid systemd unit name " + shown + " (letters, digits and : _ . \\ @ - only)";
  }
  static constexpr std::array<std::string_view, 8> suffixes = {".service", ".socket", ".target", ".timer",
                                                               ".mount",   ".path",   ".slice",  ".scope"};
  for (auto suffix : suffixes) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return std::nullopt;
    }
  }
  return "systemd unit " + shown + " needs a unit suffix (e.g. .service, .socket, .target, .timer)";
}

}  // namespace

/// `restart: {systemd: UNIT}`.
extern const Variant systemd_variant;
const Variant systemd_variant{
    "systemd",
    {},
    [](config::MapReader& /*s*/, const config::Value& v) -> std::shared_ptr<const config::EntrySettings> {
      auto unit = v.string(check_systemd_unit);
      if (!unit) {
        return nullptr;
      }
      auto out = std::make_shared<SystemdSettings>();
      out->unit = std::move(*unit);
      return out;
    },
    [](const config::EntrySettings& settings, Context& ctx) -> std::unique_ptr<Remedy> {
      if (!ctx.system_bus) {
        // One connection for every systemd remedy; it connects on the first restart.
        ctx.system_bus = std::make_shared<SystemBus>(ctx.io, ctx.system_bus_address);
      }
      return std::make_unique<detail::SystemdRemedy>(ctx, static_cast<const SystemdSettings&>(settings).unit);
    },
};

}  // namespace tend::remedies
