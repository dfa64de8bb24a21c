#include "remedies/system_bus.hpp"

#include <poll.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <utility>
#include <vector>

#include "util/log.hpp"

namespace tend::remedies {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

const auto& logger() {
  static auto l = log::get("remedies");
  return l;
}

std::string errno_text(int negative_errno) { return std::strerror(-negative_errno); }

// "Unit x.service not found. (org.freedesktop.systemd1.NoSuchUnit)"
std::string error_text(const sd_bus_error* e) {
  if (e == nullptr || e->name == nullptr) {
    return "unknown D-Bus error";
  }
  std::string text = e->message != nullptr && *e->message != '\0' ? e->message : e->name;
  if (e->message != nullptr && *e->message != '\0') {
    text += " (" + std::string(e->name) + ")";
  }
  return text;
}

}  // namespace

SystemBus::SystemBus(asio::io_context& io, std::string address)
    : io_(io), address_(std::move(address)), fd_(io), timer_(io) {}

SystemBus::~SystemBus() {
  if (load_ticket_ != 0) {
    sdbus::library().cancel(load_ticket_);
  }
  // Dropped without callbacks: whoever is still waiting is going away with us.
  for (auto& [token, op] : ops_) {
    op->call = unref(op->call);
  }
  ops_.clear();
  jobs_.clear();
  close();
}

std::string SystemBus::name() const { return address_.empty() ? "the system bus" : "the bus at " + address_; }

bool SystemBus::connect(std::string& error) {
  sd_bus* bus = nullptr;
  int r = 0;
  if (address_.empty()) {
    r = api_->open_system(&bus);
  } else {
    r = api_->new_bus(&bus);
    if (r >= 0) {
      r = api_->set_address(bus, address_.c_str());
    }
    if (r >= 0) {
      r = api_->set_bus_client(bus, 1);
    }
    if (r >= 0) {
      r = api_->start(bus);  // connect() on a non-blocking socket; authentication happens in process()
    }
  }
  if (r >= 0) {
    (void)api_->set_description(bus, "tend-remedies");
    r = api_->get_fd(bus);
  }
  if (r < 0) {
    api_->unref(bus);
    error = errno_text(r);
    return false;
  }
  error_code ec;
  fd_.assign(r, ec);
  if (ec) {
    api_->close_unref(bus);
    error = ec.message();
    return false;
  }
  bus_ = bus;
  ++generation_;
  logger()->debug("remedy=systemd bus={} event=BUS_CONNECTING", log::quote(name()));
  setup();
  return bus_ != nullptr;
}

void SystemBus::setup() {
  // Match first, then Subscribe: the bus daemon handles our messages in order, so the match is in
  // place before systemd can emit a JobRemoved for a restart we ask for later.
  int r = api_->match_signal_async(bus_, &match_slot_, kSystemd, kManagerPath, kManager, "JobRemoved",
                                   &SystemBus::on_job_removed, &SystemBus::on_match_installed, this);
  if (r >= 0) {
    r = api_->call_method_async(bus_, &subscribe_slot_, kSystemd, kManagerPath, kManager, "Subscribe",
                                &SystemBus::on_subscribed, this, "");
  }
  if (r < 0) {
    fatal_ = "cannot watch systemd jobs: " + errno_text(r);
    schedule_process();
    return;
  }
  setup_pending_ = 2;
  ready_ = false;
  schedule_process();
}

SystemBus::Token SystemBus::restart_unit(const std::string& unit, JobDone done) {
  if (bus_ != nullptr && api_->is_open(bus_) <= 0) {
    drop("connection lost");  // went away unnoticed so far: fail what waits on it, start afresh
  }
  const Token token = ++next_token_;
  auto op = std::make_unique<Op>();
  op->bus = this;
  op->token = token;
  op->unit = unit;
  op->done = std::move(done);
  Op& ref = *op;
  ops_.emplace(token, std::move(op));
  if (api_ == nullptr) {
    load();  // connects once libsystemd is loaded; setup's completion then sends this one
    return token;
  }
  if (bus_ == nullptr) {
    std::string error;
    if (!connect(error)) {
      complete(token, {"", "", "cannot connect to " + name() + ": " + error});
      return token;
    }
  }
  if (ready_) {
    send(ref);
  }
  // Otherwise setup's completion sends it.
  return token;
}

void SystemBus::load() {
  api_ = sdbus::library().loaded();
  if (api_ != nullptr) {
    on_loaded("");
    return;
  }
  if (load_ticket_ != 0) {
    return;  // on its way
  }
  load_ticket_ = sdbus::library().load_async(io_, [weak = weak_from_this()](const std::string& error) {
    if (auto self = weak.lock()) {
      self->load_ticket_ = 0;
      self->on_loaded(error);
    }
  });
}

void SystemBus::on_loaded(const std::string& error) {
  api_ = sdbus::library().loaded();
  std::string why = error;
  if (why.empty() && !ops_.empty() && bus_ == nullptr && !connect(why)) {
    why = "cannot connect to " + name() + ": " + why;
  }
  if (!why.empty()) {
    fail_all(why);
  }
}

void SystemBus::fail_all(const std::string& why) {
  std::vector<Token> tokens;
  for (const auto& [token, op] : ops_) {
    tokens.push_back(token);
  }
  for (Token t : tokens) {
    complete(t, {"", "", why});
  }
}

sd_bus_slot* SystemBus::unref(sd_bus_slot* slot) const {
  return slot != nullptr ? api_->slot_unref(slot) : nullptr;  // a slot means the table is loaded
}

void SystemBus::send(Op& op) {
  const int r = api_->call_method_async(bus_, &op.call, kSystemd, kManagerPath, kManager, "RestartUnit",
                                        &SystemBus::on_restart_reply, &op, "ss", op.unit.c_str(), "replace");
  if (r < 0) {
    complete(op.token, {"", "", "cannot send RestartUnit: " + errno_text(r)});
    return;
  }
  schedule_process();  // sd-bus writes when processed
}

void SystemBus::cancel(Token token) {
  auto it = ops_.find(token);
  if (it == ops_.end()) {
    return;
  }
  it->second->call = unref(it->second->call);
  forget_job(*it->second);
  ops_.erase(it);
}

void SystemBus::forget_job(const Op& op) {
  if (op.job.empty()) {
    return;
  }
  auto [first, last] = jobs_.equal_range(op.job);
  for (auto j = first; j != last; ++j) {
    if (j->second == op.token) {
      jobs_.erase(j);
      return;
    }
  }
}

std::string SystemBus::stage(Token token) const {
  auto it = ops_.find(token);
  if (it == ops_.end()) {
    return "";
  }
  if (!it->second->job.empty()) {
    return "awaiting job " + it->second->job.substr(it->second->job.rfind('/') + 1);
  }
  return it->second->call != nullptr ? "awaiting the RestartUnit reply" : "connecting";
}

void SystemBus::complete(Token token, JobOutcome outcome) {
  auto it = ops_.find(token);
  if (it == ops_.end()) {
    return;
  }
  auto op = std::move(it->second);
  ops_.erase(it);
  op->call = unref(op->call);
  forget_job(*op);
  // Never from inside sd_bus_process or restart_unit(): the callback may start another restart or
  // destroy its remedy.
  asio::post(io_, [done = std::move(op->done), outcome = std::move(outcome)]() mutable { done(std::move(outcome)); });
}

int SystemBus::on_restart_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* op = static_cast<Op*>(userdata);
  SystemBus* self = op->bus;
  op->call = self->api_->slot_unref(op->call);  // sd-bus holds its own reference while we run
  if (self->api_->message_is_method_error(m, nullptr) != 0) {
    self->complete(op->token, {"", "", error_text(self->api_->message_get_error(m))});
    return 0;
  }
  const char* job = nullptr;
  const int r = self->api_->message_read(m, "o", &job);
  if (r < 0 || job == nullptr) {
    self->complete(op->token, {"", "", "unreadable RestartUnit reply: " + errno_text(r < 0 ? r : -EBADMSG)});
    return 0;
  }
  // The reply comes before the job's JobRemoved: systemd answers when it queues the job, and
  // messages from one sender arrive in order.
  op->job = job;
  self->jobs_.emplace(op->job, op->token);
  logger()->debug("remedy=systemd unit={} event=JOB_QUEUED job={}", op->unit, op->job);
  return 0;
}

int SystemBus::on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<SystemBus*>(userdata);
  std::uint32_t id = 0;
  const char* job = nullptr;
  const char* unit = nullptr;
  const char* result = nullptr;
  if (self->api_->message_read(m, "uoss", &id, &job, &unit, &result) < 0 || job == nullptr || result == nullptr) {
    return 0;
  }
  std::vector<Token> waiting;
  auto [first, last] = self->jobs_.equal_range(job);
  for (auto it = first; it != last; ++it) {
    waiting.push_back(it->second);
  }
  for (Token t : waiting) {
    self->complete(t, {job, result, ""});
  }
  return 0;
}

int SystemBus::on_match_installed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  static_cast<SystemBus*>(userdata)->setup_step(m, "cannot watch systemd jobs (AddMatch)");
  return 0;
}

int SystemBus::on_subscribed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* self = static_cast<SystemBus*>(userdata);
  self->subscribe_slot_ = self->api_->slot_unref(self->subscribe_slot_);
  self->setup_step(m, "cannot subscribe to systemd's job signals");
  return 0;
}

void SystemBus::setup_step(sd_bus_message* m, const char* what) {
  const sd_bus_error* e = api_->message_get_error(m);
  if (e != nullptr && api_->error_has_name(e, "org.freedesktop.systemd1.AlreadySubscribed") == 0) {
    fatal_ = std::string(what) + ": " + error_text(e);
    return;
  }
  if (--setup_pending_ > 0) {
    return;
  }
  ready_ = true;
  std::vector<Op*> waiting;
  for (auto& [token, op] : ops_) {
    if (op->call == nullptr && op->job.empty()) {
      waiting.push_back(op.get());
    }
  }
  for (Op* op : waiting) {
    send(*op);
  }
}

void SystemBus::schedule_process() {
  // One post per connection at a time; a post for an older connection does not count.
  if (bus_ == nullptr || posted_for_ == generation_) {
    return;
  }
  posted_for_ = generation_;
  asio::post(io_, [weak = weak_from_this(), gen = generation_] {
    auto self = weak.lock();
    if (!self || gen != self->generation_) {
      return;
    }
    self->posted_for_ = 0;
    self->process();
  });
}

void SystemBus::process() {
  if (bus_ == nullptr) {
    return;
  }
  auto keep = shared_from_this();  // callbacks may release the last outside owner
  for (;;) {
    const int r = api_->process(bus_, nullptr);
    if (!fatal_.empty()) {
      drop(std::exchange(fatal_, std::string()));
      return;
    }
    if (r < 0) {
      // A peer that went away shows as ECONNRESET once sd-bus has failed its pending calls.
      drop("connection lost: " + errno_text(r));
      return;
    }
    if (r == 0) {
      break;
    }
  }
  arm();
}

void SystemBus::arm() {
  const int events = api_->get_events(bus_);
  if (events < 0) {
    drop("connection lost: " + errno_text(events));
    return;
  }
  const auto gen = generation_;
  auto on_ready = [weak = weak_from_this(), gen](bool read) {
    return [weak, gen, read](const error_code& ec) {
      auto self = weak.lock();
      if (!self || gen != self->generation_) {
        return;
      }
      (read ? self->reading_ : self->writing_) = false;
      if (!ec) {
        self->process();
      }
    };
  };
  if ((events & POLLIN) != 0 && !reading_) {
    reading_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_read, on_ready(true));
  }
  if ((events & POLLOUT) != 0 && !writing_) {
    writing_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_write, on_ready(false));
  }
  std::uint64_t until = 0;
  const int r = api_->get_timeout(bus_, &until);
  if (r < 0) {
    drop("connection lost: " + errno_text(r));
    return;
  }
  if (until == UINT64_MAX) {
    timer_.cancel();
    return;
  }
  // An absolute CLOCK_MONOTONIC time: steady_clock's epoch on Linux.
  timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::microseconds(until)));
  timer_.async_wait([weak = weak_from_this(), gen](const error_code& ec) {
    auto self = weak.lock();
    if (!ec && self && gen == self->generation_) {
      self->process();
    }
  });
}

void SystemBus::drop(const std::string& why) {
  logger()->warn("remedy=systemd bus={} event=BUS_DROPPED reason={} restarts_failed={}", log::quote(name()),
                 log::quote(why), ops_.size());
  const bool was_ready = ready_;
  close();
  fail_all((was_ready ? "lost " : "cannot connect to ") + name() + ": " + why);
}

void SystemBus::close() {
  ++generation_;  // pending waits of this connection are stale from now on
  reading_ = writing_ = false;
  ready_ = false;
  setup_pending_ = 0;
  timer_.cancel();
  if (fd_.is_open()) {
    // sd-bus owns the descriptor: Asio lets go of it before sd-bus closes it (it may have already).
    error_code ec;
    fd_.cancel(ec);
    (void)fd_.release();
  }
  match_slot_ = unref(match_slot_);
  subscribe_slot_ = unref(subscribe_slot_);
  for (auto& [token, op] : ops_) {
    op->call = unref(op->call);
  }
  jobs_.clear();
  for (auto& [token, op] : ops_) {
    op->job.clear();
  }
  if (bus_ != nullptr) {
    bus_ = api_->close_unref(bus_);  // no flush: that would block
  }
}

}  // namespace tend::remedies
