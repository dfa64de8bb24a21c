#pragma once
// The durable outbox: every notification is written to the state database before its first
// delivery attempt and leaves it only when delivered or given up. Each notifier is a lane that
// delivers one notification at a time in creation order (a receiver never sees a resolve before
// its firing), retries with exponential backoff (1 s doubling to 5 min) or the receiver's
// Retry-After (429/503) until `delivery.max_age`, and gives up loudly: logged, counted, shown in
// status, and reported through `on_give_up` (the engine raises `delivery_failed`). Pending rows
// found at start-up (a SIGKILLed daemon) are delivered first, with their original ids.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerts/notification.hpp"
#include "alerts/notifier.hpp"
#include "config/model.hpp"
#include "http/client.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/lifetime.hpp"

namespace tend::alerts {

/// What alerting runs on (the engine and its outbox share it).
struct Context {
  Clock& clock;
  state::Store& store;
  http::Client& http;
  std::string user_agent = "tend";
};

struct LaneStatus {
  std::string name;
  std::string type;
  std::string target;  // scheme://host[:port] only
  std::size_t pending = 0;
  std::uint64_t sent = 0;
  std::uint64_t given_up = 0;
  std::uint64_t retries = 0;
  std::string last_error;  // secrets scrubbed
  std::optional<WallTime> last_sent;
  std::optional<WallTime> next_attempt;
  std::optional<WallTime> oldest;  // created_at of the oldest notification waiting
};

class Outbox {
 public:
  using GiveUp = std::function<void(const Notification&, const std::string& error)>;
  /// A group's message was delivered (notifier, group key, when): the next may go out a
  /// group_interval later.
  using Flushed = std::function<void(const std::string& notifier, const std::string& group_key, WallTime at)>;

  Outbox(Context ctx, GiveUp on_give_up, Flushed on_flushed = {});
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  /// Set (or replace, on reload) the notifiers and the give-up age. Queued notifications of a
  /// notifier that is gone are given up; those of a changed one go to its new address.
  void configure(const std::vector<config::NotifierConfig>& notifiers, Duration max_age);
  /// Pending rows of the previous instance, in seq order: delivered before anything new.
  void restore(const std::vector<state::OutboxRecord>& rows);
  /// Write, then deliver. `n.id`, `n.notifier` and `n.created_at` must be set.
  void enqueue(Notification n);
  /// Deliver once now, outside the outbox (tend test-alert): done(ok, what happened).
  void send_now(const Notification& n, std::function<void(bool ok, std::string message)> done);
  /// Stop sending (pending rows stay in the database for the next start).
  void shutdown();

  [[nodiscard]] std::vector<LaneStatus> status() const;
  [[nodiscard]] std::uint64_t given_up() const { return given_up_; }
  /// Notifications being written or sent now; those waiting for a retry do not count.
  [[nodiscard]] std::size_t in_flight() const;

 private:
  struct Item {
    Notification n;
    int attempts = 0;
  };
  struct Lane {
    std::string name;
    std::optional<config::NotifierConfig> cfg;
    std::unique_ptr<Notifier> notifier;
    std::deque<Item> queue;   // durable (or failed to write, still delivered), in order
    std::size_t writing = 0;  // enqueued, write not yet committed
    // What is being delivered: one notification, or a group's (same members and id on every
    // retry); out of the queue until delivered or given up.
    std::vector<Item> batch;
    std::string batch_id;
    std::unique_ptr<http::Handle> in_flight;
    std::unique_ptr<TimerHandle> retry;
    std::unique_ptr<TimerHandle> wake;  // the earliest not_before of the queue
    // Nothing in the queue is due before this (kept as items arrive, recomputed when a batch is
    // taken): a storm of group members waiting for their group_wait costs O(1) each, not a scan
    // of the queue each (10,000 alerts: 12.9 s of loop time before, bench/README.md).
    std::optional<WallTime> quiet_until;
    WallTime wake_at{};  // when `wake` fires
    std::optional<WallTime> next_attempt;
    std::chrono::milliseconds backoff{0};
    LaneStatus stats;
  };

  Lane& lane(const std::string& name);
  void pump(Lane& lane);
  /// Take the next batch out of the queue: the first notification due, with every other due one
  /// of its group. False when nothing is due yet (then `wake` is armed).
  bool form_batch(Lane& lane);
  /// Put `item` at the end of `lane`'s queue.
  static void push(Lane& lane, Item item);
  void on_response(const std::string& lane_name, http::Response resp);
  void give_up(Lane& lane, const std::string& error);
  http::Request request_for(const Lane& lane, const Notification& n) const;
  http::Request request_for(const Lane& lane) const;
  [[nodiscard]] std::string scrub(const Lane& lane, std::string text) const;

  Context ctx_;
  GiveUp on_give_up_;
  Flushed on_flushed_;
  Duration max_age_ = std::chrono::hours(24);
  std::int64_t seq_ = 0;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;
  std::uint64_t given_up_ = 0;
  std::map<int, std::unique_ptr<http::Handle>> direct_;  // send_now requests in flight
  int next_direct_ = 0;
  bool stopped_ = false;
  Lifetime lifetime_;  // last: goes first
};

/// Whether a response is delivered (2xx), worth retrying (transport failure, 408, 425, 429,
/// 5xx) or final (any other status: the receiver says the request itself is wrong).
enum class Outcome { delivered, retry, final };
Outcome classify(const http::Response& r);
/// The receiver's Retry-After (seconds or an HTTP date) as a delay from `now`, if any.
std::optional<std::chrono::milliseconds> retry_after(const http::Response& r, WallTime now);

}  // namespace tend::alerts
