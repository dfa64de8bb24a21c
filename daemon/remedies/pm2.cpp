// `restart: {pm2: NAME, user: U}`: `pm2 jlist`, `pm2 restart NAME`, `pm2 jlist` again, each as U
// through the launcher (argv only, timeout, captured output). The first jlist guards against pm2's
// worst habit: for a wrong user or PM2_HOME it silently starts a new, empty daemon, and restarting
// there would "succeed" without touching the app. The second shows whether the restart happened.

#include "remedies/pm2.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/values.hpp"
#include "process/launcher.hpp"
#include "remedies/common.hpp"
#include "util/lifetime.hpp"
#include "util/log.hpp"

namespace tend::remedies::detail {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// jlist carries every app's environment (~6 KiB an app here): room for a large fleet, bounded.
constexpr std::size_t kJlistLimitMiB = 16;
constexpr std::size_t kJlistLimit = kJlistLimitMiB * 1024 * 1024;

const auto& logger() {
  static auto l = log::get("remedies");
  return l;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

template <class F>
void for_each_line(std::string_view text, F f) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
}

std::optional<std::int64_t> as_int(const json::value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  if (v->is_uint64()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double()) {
    return static_cast<std::int64_t>(v->get_double());
  }
  return std::nullopt;
}

std::string as_string(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool looks_like_the_list(std::string_view line) { return line == "[]" || line.starts_with("[{") || line.size() > 2000; }

// The daemon's own account: who "without user:" runs as.
struct Account {
  std::string name;
  std::string home;
  uid_t uid = 0;
};

std::optional<Account> lookup(const std::string* name, uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  const int rc = name != nullptr ? ::getpwnam_r(name->c_str(), &pw, buf.data(), buf.size(), &found)
                                 : ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return std::nullopt;
  }
  return Account{pw.pw_name, pw.pw_dir != nullptr ? pw.pw_dir : "", pw.pw_uid};
}

std::optional<std::string> env(const char* name) {
  // The daemon's environment decides where pm2 looks when it runs as the daemon's user: that is
  // the documented behaviour ("with its environment"), not a seam.
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read on the loop thread only
  return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
}

class Pm2Remedy;

/// One restart: three commands in a row, each reported back on the loop.
class Pm2Run : public std::enable_shared_from_this<Pm2Run> {
 public:
  Pm2Run(Pm2Remedy& remedy, Done done) : remedy_(remedy), done_(std::move(done)), started_(Clock::now()) {}

  void start();

 private:
  using Step = void (Pm2Run::*)(process::Result);
  void run_command(std::vector<std::string> args, std::size_t output_limit, Step next);
  void on_first_list(process::Result r);
  void on_restart(process::Result r);
  void on_second_list(process::Result r);
  // The list in a jlist result, or the reason there is none (then finish()ed already).
  std::optional<std::vector<Pm2Process>> read_list(const process::Result& r);
  void finish(bool ok, std::string detail);
  void note_command(const std::vector<std::string>& args);

  Pm2Remedy& remedy_;
  Done done_;
  Clock::time_point started_;
  std::string who_;       // "ubuntu"
  std::string pm2_home_;  // as pm2 will use it
  process::Spec base_;
  std::shared_ptr<process::Child> child_;
  std::vector<Pm2Process> before_;
  std::string transcript_;
  bool finished_ = false;
};

class Pm2Remedy final : public Remedy {
 public:
  Pm2Remedy(Context& ctx, std::string app, std::string user)
      : io_(ctx.io),
        launcher_(ctx.launcher),
        timeout_(ctx.command_timeout),
        base_env_(ctx.base_env),
        app_(std::move(app)),
        user_(std::move(user)) {}

  ~Pm2Remedy() override {
    // Abandon: the Child handle goes with the run, which kills its process group; no callback.
    run_.reset();
  }
  Pm2Remedy(const Pm2Remedy&) = delete;
  Pm2Remedy& operator=(const Pm2Remedy&) = delete;

  void run(Done done) override {
    if (run_) {
      post_outcome(io_, lifetime_.guard(std::move(done)),
                   {false, describe() + ": a restart is already running", "", {}});
      return;
    }
    auto run = std::make_shared<Pm2Run>(*this, std::move(done));
    run_ = run;
    run->start();
  }

  [[nodiscard]] std::string describe() const override {
    return "pm2 restart " + app_ + (user_.empty() ? "" : " (user " + user_ + ")");
  }

 private:
  friend class Pm2Run;

  // The run is over: hand its outcome on (from the loop, never from inside run()).
  void finished(Done done, Outcome outcome) {
    run_.reset();  // whoever called holds the run until it has unwound
    post_outcome(io_, lifetime_.guard(std::move(done)), std::move(outcome));
  }

  boost::asio::io_context& io_;
  process::Launcher& launcher_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::string> base_env_;
  std::string app_;
  std::string user_;
  std::shared_ptr<Pm2Run> run_;
  Lifetime lifetime_;
};

void Pm2Run::start() {
  const auto& r = remedy_;
  const uid_t self = ::geteuid();
  Pm2HomeInputs in;
  in.env_pm2_home = env("PM2_HOME");
  in.env_home = env("HOME");
  if (!r.user_.empty()) {
    const auto account = lookup(&r.user_, 0);
    if (!account) {
      finish(false, "pm2 restart " + r.app_ + ": user " + r.user_ + ": no such user");
      return;
    }
    who_ = account->name;
    in.user_configured = true;
    in.same_as_daemon = account->uid == self;
    in.user_home = account->home;
    pm2_home_ = resolve_pm2_home(in);
    base_.user = r.user_;
  } else {
    const auto me = lookup(nullptr, self);
    who_ = me ? me->name : "uid " + std::to_string(self);
    in.user_home = me ? me->home : "";
    pm2_home_ = resolve_pm2_home(in);
  }
  // Children start with a clean environment (no PM2_HOME, HOME from passwd): pm2 is told where its
  // daemon lives. Another user's pm2 gets its own; the daemon's user gets the daemon's PM2_HOME.
  base_.env["PM2_HOME"] = pm2_home_;
  base_.timeout = r.timeout_;
  base_.base_env = r.base_env_;
  run_command({"jlist"}, kJlistLimit, &Pm2Run::on_first_list);
}

void Pm2Run::note_command(const std::vector<std::string>& args) {
  transcript_ += "$ pm2";
  for (const auto& a : args) {
    transcript_ += ' ';
    transcript_ += a;
  }
  transcript_ += '\n';
}

void Pm2Run::run_command(std::vector<std::string> args, std::size_t output_limit, Step next) {
  note_command(args);
  process::Spec spec = base_;
  spec.argv.emplace_back("pm2");  // found in the children's PATH (/usr/local/bin, /usr/bin), node too
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.output_limit = output_limit;
  // Weak: the run owns the Child, which owns this callback; the remedy's destructor must be able to
  // end the run (and with it the process group) by letting go of it.
  std::weak_ptr<Pm2Run> weak = weak_from_this();
  child_ = remedy_.launcher_.spawn(spec, [weak, next, step = args.front()](process::Result res) {
    auto self = weak.lock();
    if (!self || self->finished_) {
      return;
    }
    self->child_.reset();
    logger()->debug("remedy=pm2 app={} user={} step={} result={} duration_ms={}", self->remedy_.app_, self->who_, step,
                    log::quote(ending(res, self->remedy_.timeout_)), res.duration.count());
    ((*self).*next)(std::move(res));
  });
}

std::optional<std::vector<Pm2Process>> Pm2Run::read_list(const process::Result& r) {
  const std::string as = "pm2 jlist as " + who_;
  if (r.output_bytes > r.output.size()) {
    transcript_ += "[output of " + std::to_string(r.output_bytes) + " bytes not kept]\n";
    finish(false, as + ": output larger than " + std::to_string(kJlistLimitMiB) + " MiB");
    return std::nullopt;
  }
  transcript_ += jlist_remarks(r.output);
  if (!r.success() || r.timed_out) {
    finish(false, as + " (PM2_HOME=" + pm2_home_ + "): " + ending(r, remedy_.timeout_));
    return std::nullopt;
  }
  auto list = parse_jlist(r.output);
  if (!list) {
    finish(false, as + " (PM2_HOME=" + pm2_home_ + "): " + list.error());
    return std::nullopt;
  }
  return std::move(*list);
}

void Pm2Run::on_first_list(process::Result r) {
  auto list = read_list(r);
  if (!list) {
    return;
  }
  before_ = find_app(*list, remedy_.app_);
  if (before_.empty()) {
    transcript_ += "[apps listed: " + std::to_string(list->size()) + ", none named " + remedy_.app_ + "]\n";
    std::string detail =
        "pm2 app '" + remedy_.app_ + "' not found in " + who_ + "'s pm2 jlist (PM2_HOME=" + pm2_home_ + ")";
    if (spawned_daemon(r.output)) {
      detail += "; pm2 had no daemon there and started an empty one: wrong user or PM2_HOME?";
    }
    finish(false, detail);
    return;
  }
  transcript_ += "[" + summarize(remedy_.app_, before_) + "]\n";
  run_command({"restart", remedy_.app_}, kOutputLimit, &Pm2Run::on_restart);
}

void Pm2Run::on_restart(process::Result r) {
  transcript_ += strip_ansi(r.output);
  if (!transcript_.empty() && transcript_.back() != '\n') {
    transcript_ += '\n';
  }
  if (!r.success() || r.timed_out) {
    finish(false, "pm2 restart " + remedy_.app_ + ": " + ending(r, remedy_.timeout_));
    return;
  }
  run_command({"jlist"}, kJlistLimit, &Pm2Run::on_second_list);
}

void Pm2Run::on_second_list(process::Result r) {
  auto list = read_list(r);
  if (!list) {
    return;
  }
  auto after = find_app(*list, remedy_.app_);
  transcript_ += "[" + (after.empty() ? remedy_.app_ + ": not listed" : summarize(remedy_.app_, after)) + "]\n";
  auto verdict = judge_restart(remedy_.app_, before_, after);
  finish(verdict.ok, std::move(verdict.detail));
}

void Pm2Run::finish(bool ok, std::string detail) {
  if (finished_) {
    return;
  }
  finished_ = true;
  Outcome outcome{ok, std::move(detail), tail(transcript_), since(started_)};
  remedy_.finished(std::move(done_), std::move(outcome));
}

}  // namespace

Expected<std::vector<Pm2Process>> parse_jlist(std::string_view output) {
  std::vector<std::string_view> lines;
  for_each_line(output, [&](std::string_view line) { lines.push_back(trim(line)); });
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (!it->starts_with('[')) {
      continue;
    }
    boost::system::error_code ec;
    json::value doc = json::parse(*it, ec);
    if (ec || !doc.is_array()) {
      continue;  // "[PM2] ..." lines start with '[' too
    }
    std::vector<Pm2Process> out;
    for (const auto& item : doc.get_array()) {
      if (!item.is_object()) {
        return Error{"pm2 jlist: an entry is not an object"};
      }
      const auto& o = item.get_object();
      Pm2Process p;
      p.name = as_string(o.if_contains("name"));
      p.pm_id = as_int(o.if_contains("pm_id")).value_or(-1);
      p.pid = as_int(o.if_contains("pid")).value_or(0);
      if (const auto* env = o.if_contains("pm2_env"); env != nullptr && env->is_object()) {
        const auto& e = env->get_object();
        p.restart_time = as_int(e.if_contains("restart_time")).value_or(0);
        p.status = as_string(e.if_contains("status"));
        if (p.name.empty()) {
          p.name = as_string(e.if_contains("name"));
        }
      }
      out.push_back(std::move(p));
    }
    return out;
  }
  return Error{"no JSON list in its output"};
}

std::vector<Pm2Process> find_app(const std::vector<Pm2Process>& list, std::string_view name) {
  std::vector<Pm2Process> out;
  std::copy_if(list.begin(), list.end(), std::back_inserter(out), [&](const Pm2Process& p) { return p.name == name; });
  std::sort(out.begin(), out.end(), [](const Pm2Process& a, const Pm2Process& b) { return a.pm_id < b.pm_id; });
  return out;
}

bool spawned_daemon(std::string_view output) { return output.find("Spawning PM2 daemon") != std::string_view::npos; }

std::string jlist_remarks(std::string_view output) {
  std::string out;
  bool in_banner = false;
  const std::string clean = strip_ansi(output);
  for_each_line(clean, [&](std::string_view raw) {
    const auto line = trim(raw);
    // pm2's banner sits between two rules of dashes.
    if (line.size() >= 5 && line.find_first_not_of('-') == std::string_view::npos) {
      in_banner = !in_banner;
      return;
    }
    if (in_banner || line.empty() || looks_like_the_list(line)) {
      return;
    }
    auto kept = raw;  // indentation stays (stack traces)
    while (!kept.empty() && (kept.back() == ' ' || kept.back() == '\t' || kept.back() == '\r')) {
      kept.remove_suffix(1);
    }
    out.append(kept);
    out.push_back('\n');
  });
  return out;
}

std::string summarize(std::string_view name, const std::vector<Pm2Process>& entries) {
  if (entries.empty()) {
    return std::string(name) + ": not listed";
  }
  const auto& p = entries.front();
  std::string s = std::string(name) + ": pid " + std::to_string(p.pid) + ", restarts " +
                  std::to_string(p.restart_time) + ", " + (p.status.empty() ? "status unknown" : p.status);
  if (entries.size() > 1) {
    s += ", " + std::to_string(entries.size()) + " instances";
  }
  return s;
}

std::optional<std::string> ambiguous_name(std::string_view name) {
  if (name == "all") {
    return "pm2 reads 'all' as every app";
  }
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "pm2 reads a number as a process id";
  }
  if (name.starts_with('-')) {
    return "pm2 reads a leading '-' as an option";
  }
  return std::nullopt;
}

std::string resolve_pm2_home(const Pm2HomeInputs& in) {
  if (in.user_configured && !in.same_as_daemon) {
    return in.user_home + "/.pm2";
  }
  if (in.env_pm2_home && !in.env_pm2_home->empty()) {
    return *in.env_pm2_home;
  }
  if (!in.user_configured && in.env_home && !in.env_home->empty()) {
    return *in.env_home + "/.pm2";
  }
  return in.user_home + "/.pm2";
}

Pm2Verdict judge_restart(std::string_view name, const std::vector<Pm2Process>& before,
                         const std::vector<Pm2Process>& after) {
  const std::string what = "pm2 restart " + std::string(name);
  if (after.empty()) {
    return {false, what + ": the app is no longer in the jlist after the restart"};
  }
  const auto& b0 = before.front();
  const auto it0 = std::find_if(after.begin(), after.end(), [&](const Pm2Process& p) { return p.pm_id == b0.pm_id; });
  const auto& a0 = it0 != after.end() ? *it0 : after.front();
  const std::string counts = "restarts " + std::to_string(b0.restart_time) + " -> " + std::to_string(a0.restart_time) +
                             ", pid " + std::to_string(b0.pid) + " -> " + std::to_string(a0.pid) +
                             (after.size() > 1 ? "; " + std::to_string(after.size()) + " instances" : "");
  for (const auto& b : before) {
    const auto it = std::find_if(after.begin(), after.end(), [&](const Pm2Process& p) { return p.pm_id == b.pm_id; });
    if (it == after.end()) {
      return {false, what + ": instance " + std::to_string(b.pm_id) + " is gone after the restart (" + counts + ")"};
    }
    if (it->restart_time <= b.restart_time && it->pid == b.pid) {
      return {false, what + ": not restarted, restart count and pid unchanged (" + counts + ")"};
    }
    if (it->status == "errored" || it->status == "stopped") {
      return {false, what + ": " + it->status + " after the restart (" + counts + ")"};
    }
  }
  return {true, what + ": ok (" + counts + ")"};
}

}  // namespace tend::remedies::detail

namespace tend::remedies {
namespace {

struct Pm2Settings : config::Settings<Pm2Settings> {
  std::string app;
  std::string user;  // empty: the daemon's own user, with its PM2_HOME
  bool operator==(const Pm2Settings&) const = default;
};

// An app name pm2's CLI reads as that app, and only as that app.
std::optional<std::string> check_pm2_name(const std::string& name, const std::string& shown) {
  const bool ok = !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '@' || c == ':' || c == '-';
  });
  if (!ok) {
    return "invalid pm2 app name " + shown + " (letters, digits and _ . @ : - only)";
  }
  if (auto why = detail::ambiguous_name(name)) {
    return "pm2 app name " + shown + " cannot be restarted by name: " + *why;
  }
  return std::nullopt;
}

}  // namespace

/// `restart: {pm2: NAME, user: U}`.
extern const Variant pm2_variant;
const Variant pm2_variant{
    "pm2",
    {"user"},
    [](config::MapReader& s, const config::Value& v) -> std::shared_ptr<const config::EntrySettings> {
      auto out = std::make_shared<Pm2Settings>();
      auto app = v.string(check_pm2_name);
      s.read("user", out->user, config::check_user_name);
      if (!app) {
        return nullptr;
      }
      out->app = std::move(*app);
      return out;
    },
    [](const config::EntrySettings& settings, Context& ctx) -> std::unique_ptr<Remedy> {
      const auto& p = static_cast<const Pm2Settings&>(settings);
      return std::make_unique<detail::Pm2Remedy>(ctx, p.app, p.user);
    },
};

}  // namespace tend::remedies
