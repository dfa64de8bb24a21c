#pragma once
// Internal: the D-Bus connection systemd remedies share, driven by the Asio loop (never a blocking
// sd_bus_call): sd_bus_get_fd/get_events decide what the descriptor waits for, sd_bus_get_timeout
// arms a timer, and sd_bus_process runs until it has nothing left. Loads libsystemd (sd_bus_api) and
// connects on first use, connects again after a drop; per connection, the JobRemoved match and
// systemd's Subscribe are set up once.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "remedies/sd_bus_api.hpp"

namespace tend::remedies {

class SystemBus : public std::enable_shared_from_this<SystemBus> {
 public:
  /// How a restart went as far as the bus can tell.
  struct JobOutcome {
    std::string job;     // the job's object path, once RestartUnit returned it
    std::string result;  // JobRemoved's result: "done", "failed", "timeout", "canceled", ...
    std::string error;   // set instead of result: no connection, a D-Bus error reply, the bus lost
  };
  using JobDone = std::function<void(JobOutcome)>;
  using Token = std::uint64_t;

  /// `address` empty: the system bus; otherwise a D-Bus address ("unix:path=/run/x.sock").
  SystemBus(boost::asio::io_context& io, std::string address);
  /// Closes the connection; restarts in flight are dropped without a callback.
  ~SystemBus();
  SystemBus(const SystemBus&) = delete;
  SystemBus& operator=(const SystemBus&) = delete;

  /// RestartUnit(unit, "replace"), then the job's JobRemoved result. `done` runs on the loop once,
  /// never inside this call — unless cancel(token) comes first.
  Token restart_unit(const std::string& unit, JobDone done);
  /// Forget a restart: no callback. (The job, if queued, still runs in systemd.)
  void cancel(Token token);
  /// Where a restart is: "connecting", "awaiting the RestartUnit reply", "awaiting job N" ("" if unknown).
  [[nodiscard]] std::string stage(Token token) const;

 private:
  struct Op {
    SystemBus* bus = nullptr;
    Token token = 0;
    std::string unit;
    JobDone done;
    sd_bus_slot* call = nullptr;  // the RestartUnit call until its reply
    std::string job;              // set once the reply came
  };

  void load();
  void on_loaded(const std::string& error);
  [[nodiscard]] sd_bus_slot* unref(sd_bus_slot* slot) const;
  bool connect(std::string& error);
  void setup();  // the JobRemoved match and Subscribe, once per connection
  void send(Op& op);
  void complete(Token token, JobOutcome outcome);
  void arm();
  void process();
  void schedule_process();
  void drop(const std::string& why);
  void fail_all(const std::string& why);  // complete every restart with this error
  void forget_job(const Op& op);
  void close();
  [[nodiscard]] std::string name() const;

  static int on_restart_reply(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_match_installed(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_subscribed(sd_bus_message* m, void* userdata, sd_bus_error* error);
  void setup_step(sd_bus_message* m, const char* what);

  boost::asio::io_context& io_;
  std::string address_;
  const sdbus::Api* api_ = nullptr;  // once libsystemd is loaded
  std::uint64_t load_ticket_ = 0;    // waiting for it
  sd_bus* bus_ = nullptr;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;  // one per connection: waits of an older one are stale
  bool reading_ = false;
  bool writing_ = false;
  std::uint64_t posted_for_ = 0;  // the connection a process() is posted for (0: none)
  sd_bus_slot* match_slot_ = nullptr;
  sd_bus_slot* subscribe_slot_ = nullptr;
  int setup_pending_ = 0;  // replies still awaited (AddMatch, Subscribe)
  bool ready_ = false;
  std::string fatal_;  // set inside sd-bus callbacks: drop once sd_bus_process has returned
  Token next_token_ = 0;
  std::map<Token, std::unique_ptr<Op>> ops_;
  // job path -> restarts awaiting its JobRemoved (two restarts of one unit can share a job: "replace"
  // merges the second into the first).
  std::multimap<std::string, Token> jobs_;
};

}  // namespace tend::remedies
