// The libcurl multi-socket client. One CURLM for the whole client; Asio tells curl when a socket is
// ready (curl_multi_socket_action) and when its single timer expires; curl tells us, through the
// socket and timer callbacks, what to wait for next. Nothing here blocks: connects, TLS and reads
// all advance from readiness events, and DNS runs on curl's resolver threads.
//
// Sockets are watched with posix::stream_descriptor assigned to curl's own fd and released (never
// closed) when curl says CURL_POLL_REMOVE. The alternative, CURLOPT_OPENSOCKETFUNCTION with Asio
// tcp sockets, only covers the sockets curl opens for connections: the threaded resolver's wake-up
// socketpair and AF_UNIX sockets (unix_socket requests) would need special cases, and curl would
// still decide when they close. Watching whatever fd curl hands us covers every case uniformly.

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/client.hpp"
#include "http/curl_api.hpp"
#include "http/curl_detail.hpp"
#include "http/engine.hpp"
#include "http/limits.hpp"
#include "util/log.hpp"

namespace tend::http {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using detail::fd_budget;
using detail::kMaxCachedConnections;
using detail::kMaxHeaderBytes;
using detail::kMaxInFlight;
using std::chrono::milliseconds;

// No per-host cap: each probe has at most one request in flight, so the count is already bounded
// by the configuration, and a cap would queue healthy probes of a host behind its hung endpoints
// (with their timeouts running while queued). Idle connections are still reused.
constexpr long kMaxHostConnections = 0;
// Finished easy handles kept (curl_easy_reset) for the next request: curl_easy_init and _cleanup
// were ~8% of tendd's CPU at 100 probes a second.
constexpr std::size_t kMaxSpareHandles = 64;
constexpr long kMaxRedirects = 5;
// Leaf-certificate expiry remembered per origin for reused connections (see cert_expiry()).
constexpr std::size_t kMaxCertCacheEntries = 4096;

class Engine;

// One request: everything curl's callbacks write into, owned by the engine while curl has it and by
// the posted completion afterwards; the Handle only observes it.
struct Transfer {
  Request req;
  int redirects = 0;       // followed so far (we follow them ourselves: see next_hop)
  std::optional<Url> url;  // req.url as config validation parsed it
  Callback done;
  Engine* owner = nullptr;  // set while the easy handle is in the multi
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  bool finished = false;  // delivered, cancelled or its client is gone: never call back
  bool queued = false;    // waiting for a slot (max_in_flight_), not in curl yet
  Clock::time_point started = Clock::now();
  std::string body;
  bool truncated = false;
  std::map<std::string, std::string> response_headers;
  std::size_t header_bytes = 0;
  char error[CURL_ERROR_SIZE] = {};
};

// A socket curl asked us to watch. The fd belongs to curl: released, never closed.
struct Watch {
  Watch(asio::io_context& io, curl_socket_t s) : fd(s), descriptor(io) {}
  ~Watch() { release(); }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  void release() {
    if (descriptor.is_open()) {
      // Deregisters from epoll and aborts the pending waits (they complete with operation_aborted
      // and find `removed` set), but leaves the fd open for curl to close.
      descriptor.release();
    }
  }

  curl_socket_t fd;
  asio::posix::stream_descriptor descriptor;
  int want = 0;          // CURL_POLL_IN / CURL_POLL_OUT bits curl currently asks for
  bool reading = false;  // an async_wait(wait_read) is pending
  bool writing = false;
  bool removed = false;
};

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  explicit Engine(asio::io_context& io);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::shared_ptr<Transfer> send(Request req, Callback done);
  void cancel(Transfer& t);
  void begin(const std::shared_ptr<Transfer>& t);
  void begin_queued();
  void shutdown();
  [[nodiscard]] bool shut_down() const { return shut_down_; }

 private:
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* clientp, void* socketp);
  static int on_close_socket(void* clientp, curl_socket_t s);
  static int on_timer(CURLM* multi, long timeout_ms, void* clientp);
  static size_t on_body(char* data, size_t size, size_t count, void* userp);
  static size_t on_header(char* data, size_t size, size_t count, void* userp);

  void watch(curl_socket_t s, int what, void* socketp);
  void unwatch(curl_socket_t s);
  void arm(const std::shared_ptr<Watch>& w);
  void on_ready(const std::shared_ptr<Watch>& w, int direction, const boost::system::error_code& ec);
  void arm_timer(long timeout_ms);
  void socket_action(curl_socket_t s, int events);
  void collect_done();
  bool configure(Transfer& t);
  Response finish(Transfer& t, CURLcode code);
  std::optional<WallTime> cert_expiry(Transfer& t);
  void detach(Transfer& t);
  /// Turn `t` into its next hop after a redirect to `location`; false (with `r` saying why) when
  /// it must not be followed.
  bool next_hop(Transfer& t, int status, const std::string& location, Response& r);
  void deliver_later(std::shared_ptr<Transfer> t, Response r);
  /// Whether the multi handle is up; starts loading libcurl when it is not loaded yet.
  bool start();
  void on_loaded(const std::string& error);

  asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  const curl::Api* api_ = nullptr;  // set with multi_
  CURLM* multi_ = nullptr;          // made once libcurl is loaded (start())
  std::uint64_t load_ticket_ = 0;   // waiting for curl::load_async
  asio::steady_timer timer_;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches_;
  std::unordered_map<CURL*, std::shared_ptr<Transfer>> transfers_;
  std::deque<std::shared_ptr<Transfer>> queued_;  // FIFO past max_in_flight_; cancelled ones skipped
  const std::size_t max_in_flight_ = fd_budget(kMaxInFlight);
  const std::size_t max_cached_ = fd_budget(kMaxCachedConnections);
  std::unordered_map<std::string, WallTime> cert_expiry_by_origin_;
  std::vector<CURL*> spare_;  // reset easy handles, not in the multi
  bool kick_posted_ = false;  // a zero-timeout socket_action is already posted
  bool shut_down_ = false;
};

Engine::Engine(asio::io_context& io) : io_(io), log_(log::get("http")), timer_(io) {}

Engine::~Engine() { shutdown(); }

bool Engine::start() {
  if (multi_ != nullptr) {
    return true;
  }
  api_ = curl::library().loaded();
  if (api_ == nullptr) {
    if (load_ticket_ == 0) {  // the first request: libcurl loads on a thread of its own
      load_ticket_ = curl::library().load_async(io_, [weak = weak_from_this()](const std::string& error) {
        if (auto self = weak.lock()) {
          self->on_loaded(error);
        }
      });
    }
    return false;
  }
  multi_ = api_->multi_init();
  if (multi_ == nullptr) {
    return false;
  }
  api_->multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Engine::on_socket);
  api_->multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  api_->multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Engine::on_timer);
  api_->multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  api_->multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, kMaxHostConnections);
  api_->multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_cached_));
  return true;
}

void Engine::on_loaded(const std::string& error) {
  load_ticket_ = 0;
  if (shut_down_) {
    return;
  }
  if (!error.empty() || !start()) {
    log_->error("libcurl unavailable error={}", log::quote(error.empty() ? "curl_multi_init failed" : error));
    auto queued = std::move(queued_);
    queued_.clear();
    for (auto& t : queued) {
      Response r;
      r.failure = Failure::other;
      r.error = error.empty() ? "cannot start request" : error;
      deliver_later(t, std::move(r));
    }
    return;
  }
  begin_queued();
}

void Engine::shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  if (load_ticket_ != 0) {
    curl::library().cancel(load_ticket_);
    load_ticket_ = 0;
  }
  for (auto& [easy, t] : transfers_) {
    t->finished = true;
    t->done = nullptr;
    detach(*t);
  }
  transfers_.clear();
  for (auto& t : queued_) {
    t->finished = true;
    t->done = nullptr;
  }
  queued_.clear();
  for (CURL* e : spare_) {
    api_->easy_cleanup(e);
  }
  spare_.clear();
  // Closes cached connections; curl reports each with CURL_POLL_REMOVE, so the watches must still
  // exist here and are dropped only afterwards.
  if (multi_ != nullptr) {
    api_->multi_cleanup(multi_);
  }
  multi_ = nullptr;
  watches_.clear();
  timer_.cancel();
}

std::shared_ptr<Transfer> Engine::send(Request req, Callback done) {
  auto t = std::make_shared<Transfer>();
  t->req = std::move(req);
  t->done = std::move(done);
  auto url = detail::check_request(t->req);
  if (!url) {
    Response r;
    r.failure = Failure::other;
    r.error = url.error();
    deliver_later(t, std::move(r));
    return t;
  }
  t->url = std::move(*url);
  if (!start() || transfers_.size() >= max_in_flight_) {  // libcurl still loading, or no slot
    t->queued = true;
    queued_.push_back(t);
    return t;
  }
  begin(t);
  return t;
}

void Engine::begin(const std::shared_ptr<Transfer>& t) {
  if (spare_.empty()) {
    t->easy = api_->easy_init();
  } else {
    t->easy = spare_.back();
    spare_.pop_back();
  }
  if (t->easy == nullptr || !configure(*t) || api_->multi_add_handle(multi_, t->easy) != CURLM_OK) {
    detach(*t);
    Response r;
    r.failure = Failure::other;
    r.error = "cannot start request";
    deliver_later(t, std::move(r));
    return;
  }
  t->owner = this;
  transfers_.emplace(t->easy, t);
  // curl_multi_add_handle set a zero timeout through on_timer: the transfer starts on the loop.
}

void Engine::begin_queued() {
  while (multi_ != nullptr && transfers_.size() < max_in_flight_ && !queued_.empty() && !shut_down_) {
    auto t = std::move(queued_.front());
    queued_.pop_front();
    if (!t->finished) {
      t->queued = false;
      begin(t);
    }
  }
}

bool Engine::configure(Transfer& t) {
  CURL* e = t.easy;
  const Request& req = t.req;
  // The time spent queued counts: the timeout is the caller's, from send().
  const auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - t.started);
  const long timeout_ms = static_cast<long>(std::max(req.timeout - waited, milliseconds(1)).count());
  bool ok = true;
  auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
  set(api_->easy_setopt(e, CURLOPT_URL, t.url->text().c_str()));  // curl parses it alike (fuzz/url.cpp)
  set(api_->easy_setopt(e, CURLOPT_PRIVATE, &t));
  set(api_->easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Engine::on_close_socket));
  set(api_->easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this));
  set(api_->easy_setopt(e, CURLOPT_NOSIGNAL, 1L));  // no SIGALRM around DNS: we own the process's signals
  // Without this, removing a transfer whose name lookup is still running (timeout, cancel, client
  // destroyed) joins the resolver thread, i.e. blocks the loop until getaddrinfo() gives up, which
  // with a dead DNS server is many seconds. With it the thread is detached and frees itself.
  set(api_->easy_setopt(e, CURLOPT_QUICK_EXIT, 1L));
  set(api_->easy_setopt(e, CURLOPT_ERRORBUFFER, t.error));
  set(api_->easy_setopt(e, CURLOPT_WRITEFUNCTION, &Engine::on_body));
  set(api_->easy_setopt(e, CURLOPT_WRITEDATA, &t));
  set(api_->easy_setopt(e, CURLOPT_HEADERFUNCTION, &Engine::on_header));
  set(api_->easy_setopt(e, CURLOPT_HEADERDATA, &t));
  // A probe URL or a redirect must never turn into file://, ftp:// or anything else curl speaks.
  set(api_->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(api_->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  set(api_->easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms));
  set(api_->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms));
  set(api_->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L));
  set(api_->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L));
  set(api_->easy_setopt(e, CURLOPT_CERTINFO, 1L));
  if (!req.tls_ca.empty()) {
    set(api_->easy_setopt(e, CURLOPT_CAINFO, req.tls_ca.c_str()));
  }
  if (!req.tls_cert.empty()) {
    set(api_->easy_setopt(e, CURLOPT_SSLCERT, req.tls_cert.c_str()));
    set(api_->easy_setopt(e, CURLOPT_SSLKEY, (req.tls_key.empty() ? req.tls_cert : req.tls_key).c_str()));
  }
  // Redirects are followed by collect_done(), not by curl: curl would send our custom headers
  // (X-Api-Key, ...) to whatever host a target redirects to, https -> http included.
  set(api_->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L));
  set(api_->easy_setopt(e, CURLOPT_USERAGENT, "tend"));
  if (!req.unix_socket.empty()) {
    set(api_->easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, req.unix_socket.c_str()));
  }
  if (req.fresh_connection) {
    set(api_->easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L));
    set(api_->easy_setopt(e, CURLOPT_FORBID_REUSE, 1L));
  }
  if (req.method == "HEAD") {
    set(api_->easy_setopt(e, CURLOPT_NOBODY, 1L));
  } else if (req.method == "GET" && req.body.empty()) {
    set(api_->easy_setopt(e, CURLOPT_HTTPGET, 1L));
  } else {
    if (req.method != "POST") {
      set(api_->easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str()));
    }
    if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || !req.body.empty()) {
      // The body lives in the Transfer, so curl may point at it without copying.
      set(api_->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size())));
      set(api_->easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data()));
    }
  }
  // "Expect: 100-continue" would stall every POST over 1 KiB by up to a second against servers
  // that ignore it; suppress it unless the caller set the header.
  if (req.headers.find("Expect") == req.headers.end()) {
    t.headers = api_->slist_append(t.headers, "Expect:");
  }
  for (const auto& [name, value] : req.headers) {
    // "Name:" would delete a header in curl's syntax; "Name;" sends it empty.
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* next = api_->slist_append(t.headers, line.c_str());
    if (next == nullptr) {
      return false;
    }
    t.headers = next;
  }
  set(api_->easy_setopt(e, CURLOPT_HTTPHEADER, t.headers));
  return ok;
}

void Engine::cancel(Transfer& t) {
  t.finished = true;
  t.done = nullptr;
  if (t.queued) {
    return;  // begin_queued() drops it
  }
  if (t.owner != this || t.easy == nullptr) {
    return;  // already done: its posted completion will see `finished` and stay silent
  }
  CURL* easy = t.easy;
  detach(t);
  transfers_.erase(easy);  // may free `t`: the handle holds its own reference while it cancels
  if (!queued_.empty()) {
    // Not from inside curl (cancel comes from the caller), so a queued transfer may start here.
    asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->begin_queued();
      }
    });
  }
}

void Engine::detach(Transfer& t) {
  if (t.easy != nullptr) {
    if (t.owner != nullptr && multi_ != nullptr) {
      api_->multi_remove_handle(multi_, t.easy);
    }
    if (multi_ != nullptr && !shut_down_ && spare_.size() < kMaxSpareHandles) {
      // Options back to defaults; what reset keeps (connections, DNS cache) belongs to the multi.
      api_->easy_reset(t.easy);
      spare_.push_back(t.easy);
    } else {
      api_->easy_cleanup(t.easy);
    }
    t.easy = nullptr;
  }
  if (t.headers != nullptr) {
    api_->slist_free_all(t.headers);
    t.headers = nullptr;
  }
  t.owner = nullptr;
}

// --- curl → us: what to watch ------------------------------------------------------------------

int Engine::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* clientp, void* socketp) {
  auto* self = static_cast<Engine*>(clientp);
  try {
    if (what == CURL_POLL_REMOVE) {
      self->unwatch(s);
    } else {
      self->watch(s, what, socketp);
    }
  } catch (const std::exception& e) {
    // Nothing may unwind through curl's C frames; the transfer then ends by its own timeout.
    self->log_->error("socket watch failed fd={} error={}", s, log::quote(e.what()));
  }
  return 0;
}

// curl closes its sockets through us, so our watch is always released (epoll_ctl DEL) while the
// number is still this socket's, whatever order curl reports CURL_POLL_REMOVE and closes in:
// releasing it after the close would take a number that may already be another socket's out of
// the epoll set, and that socket would never be woken.
int Engine::on_close_socket(void* clientp, curl_socket_t s) {
  auto* self = static_cast<Engine*>(clientp);
  try {
    self->unwatch(s);
  } catch (const std::exception& e) {
    self->log_->error("socket unwatch failed fd={} error={}", s, log::quote(e.what()));
  }
  return ::close(s);
}

void Engine::watch(curl_socket_t s, int what, void* socketp) {
  std::shared_ptr<Watch> w;
  auto it = watches_.find(s);
  if (it != watches_.end() && it->second.get() == socketp) {
    w = it->second;
  } else {
    // curl keeps our pointer per socket until CURL_POLL_REMOVE. An entry of ours for this fd that
    // curl does not know is a closed socket whose number was reused: drop it (release, not close)
    // and register the new socket afresh, or epoll would never report on it.
    if (it != watches_.end()) {
      it->second->removed = true;
      watches_.erase(it);
    }
    w = std::make_shared<Watch>(io_, s);
    boost::system::error_code ec;
    w->descriptor.assign(s, ec);
    if (ec) {
      log_->error("cannot watch socket fd={} error={}", s, log::quote(ec.message()));
      return;
    }
    watches_.emplace(s, w);
    api_->multi_assign(multi_, s, w.get());
  }
  w->want = what;
  arm(w);
}

void Engine::unwatch(curl_socket_t s) {
  auto it = watches_.find(s);
  if (it == watches_.end()) {
    return;
  }
  // A wait may be pending right now; it completes later with operation_aborted and must then
  // neither call curl nor re-arm, hence `removed`.
  it->second->removed = true;
  it->second->release();
  watches_.erase(it);
}

void Engine::arm(const std::shared_ptr<Watch>& w) {
  std::weak_ptr<Engine> weak_self = weak_from_this();
  std::weak_ptr<Watch> weak_watch = w;
  auto handler = [weak_self, weak_watch](int direction) {
    return [weak_self, weak_watch, direction](const boost::system::error_code& ec) {
      auto self = weak_self.lock();
      auto watch = weak_watch.lock();
      if (self && watch) {
        self->on_ready(watch, direction, ec);
      }
    };
  };
  // One pending wait per direction: curl's socket callback only reports changes, so we re-arm
  // after each event for as long as curl still wants that direction.
  if ((w->want & CURL_POLL_IN) != 0 && !w->reading) {
    w->reading = true;
    w->descriptor.async_wait(asio::posix::descriptor_base::wait_read, handler(CURL_CSELECT_IN));
  }
  if ((w->want & CURL_POLL_OUT) != 0 && !w->writing) {
    w->writing = true;
    w->descriptor.async_wait(asio::posix::descriptor_base::wait_write, handler(CURL_CSELECT_OUT));
  }
}

void Engine::on_ready(const std::shared_ptr<Watch>& w, int direction, const boost::system::error_code& ec) {
  const int poll_bit = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
  (direction == CURL_CSELECT_IN ? w->reading : w->writing) = false;
  if (w->removed || shut_down_ || ec == asio::error::operation_aborted) {
    return;
  }
  if ((w->want & poll_bit) == 0) {
    return;  // curl lost interest while the wait was pending (e.g. switched from IN to OUT)
  }
  socket_action(w->fd, ec ? CURL_CSELECT_ERR : direction);
  // After an error curl has failed or will time out the transfer; re-arming could spin.
  if (!ec && !w->removed && !shut_down_) {
    arm(w);
  }
}

int Engine::on_timer(CURLM* /*multi*/, long timeout_ms, void* clientp) {
  auto* self = static_cast<Engine*>(clientp);
  try {
    self->arm_timer(timeout_ms);
  } catch (const std::exception& e) {
    self->log_->error("timer failed error={}", log::quote(e.what()));
  }
  return 0;
}

void Engine::arm_timer(long timeout_ms) {
  if (timeout_ms < 0) {
    timer_.cancel();  // curl has nothing timed left
    return;
  }
  std::weak_ptr<Engine> weak_self = weak_from_this();
  if (timeout_ms == 0) {
    // "Act now" comes with every new transfer. curl must not be re-entered from inside its own
    // callback, so it runs on the next turn of the loop: one posted action for all the transfers
    // added in this turn, and no timerfd update each time (which, with the cancelled wait it
    // leaves behind, was ~5% of tendd's CPU at 1,000 probes a second). A wait still armed for a
    // later time may fire anyway: a timeout action with nothing expired is harmless.
    if (!kick_posted_) {
      kick_posted_ = true;
      asio::post(io_, [weak_self] {
        auto self = weak_self.lock();
        if (!self || self->shut_down_) {
          return;
        }
        self->kick_posted_ = false;
        self->socket_action(CURL_SOCKET_TIMEOUT, 0);
      });
    }
    return;
  }
  timer_.expires_after(milliseconds(timeout_ms));
  timer_.async_wait([weak_self](const boost::system::error_code& ec) {
    auto self = weak_self.lock();
    if (ec || !self || self->shut_down_) {
      return;
    }
    self->socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
}

void Engine::socket_action(curl_socket_t s, int events) {
  int running = 0;
  const CURLMcode rc = api_->multi_socket_action(multi_, s, events, &running);
  if (rc != CURLM_OK) {
    log_->error("curl_multi_socket_action failed error={}", log::quote(api_->multi_strerror(rc)));
  }
  collect_done();
}

// --- curl → us: data --------------------------------------------------------------------------

size_t Engine::on_body(char* data, size_t size, size_t count, void* userp) {
  auto& t = *static_cast<Transfer*>(userp);
  const std::size_t len = size * count;
  try {
    const std::size_t room = t.req.max_body - std::min(t.req.max_body, t.body.size());
    if (len <= room) {
      t.body.append(data, len);
      return len;
    }
    // Past the cap: keep what fits and return a short count, which makes curl abort the transfer
    // (CURLE_WRITE_ERROR) and close the connection; the rest is never read.
    t.body.append(data, room);
    t.truncated = true;
    return room;
  } catch (const std::exception&) {
    return 0;  // out of memory: abort this transfer rather than unwind through curl
  }
}

size_t Engine::on_header(char* data, size_t size, size_t count, void* userp) {
  auto& t = *static_cast<Transfer*>(userp);
  const std::size_t len = size * count;
  try {
    std::string_view line(data, len);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    if (line.substr(0, 5) == "HTTP/") {
      // A new response (after a 1xx or a followed redirect): only the last one's headers count.
      t.response_headers.clear();
      t.header_bytes = 0;
      return len;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || t.header_bytes + line.size() > kMaxHeaderBytes) {
      return len;
    }
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    std::string_view value = line.substr(colon + 1);
    const std::size_t first = value.find_first_not_of(" \t");
    value = first == std::string_view::npos ? std::string_view() : value.substr(first);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    t.header_bytes += line.size();
    t.response_headers[std::move(name)] = std::string(value);
    return len;
  } catch (const std::exception&) {
    return 0;
  }
}

// --- completions ------------------------------------------------------------------------------

void Engine::collect_done() {
  int left = 0;
  while (CURLMsg* msg = api_->multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) {
      continue;
    }
    // `msg` dies with curl_multi_remove_handle: copy what we need first.
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) {
      api_->multi_remove_handle(multi_, easy);  // not ours: cannot happen, but never leak it in the multi
      continue;
    }
    std::shared_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    Response r = finish(*t, code);
    std::optional<std::string> hop;
    if (t->req.follow_redirects && r.failure == Failure::none && r.status >= 300 && r.status < 400 && r.status != 304) {
      char* location = nullptr;
      if (api_->easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr) {
        hop = location;
      }
    }
    detach(*t);
    if (hop && next_hop(*t, r.status, *hop, r)) {
      begin(t);  // the same transfer, to the next address; its timeout still runs from send()
      continue;
    }
    deliver_later(std::move(t), std::move(r));
  }
  begin_queued();
}

bool Engine::next_hop(Transfer& t, int status, const std::string& location, Response& r) {
  if (t.redirects >= kMaxRedirects) {
    r = Response{};
    r.failure = Failure::too_many_redirects;
    r.error = detail::describe(CURLE_TOO_MANY_REDIRECTS, "", t.req);
    return false;
  }
  auto next = Url::parse(location);
  if (!next) {
    r = Response{};
    r.failure = Failure::other;
    r.error = "redirect to an address that is not http(s)";
    return false;
  }
  // Our headers go only where the configuration sent them: same scheme, host and port.
  if (next->origin() != t.url->origin()) {
    t.req.headers.clear();
  }
  // As browsers and curl do: 303 turns into GET, and so do 301/302 after a POST.
  if (status == 303 || ((status == 301 || status == 302) && t.req.method == "POST")) {
    t.req.method = "GET";
    t.req.body.clear();
  }
  t.req.url = next->text();
  t.url = std::move(*next);
  ++t.redirects;
  t.body.clear();
  t.truncated = false;
  t.response_headers.clear();
  t.header_bytes = 0;
  t.error[0] = '\0';
  return true;
}

Response Engine::finish(Transfer& t, CURLcode code) {
  Response r;
  r.latency = std::chrono::duration_cast<milliseconds>(Clock::now() - t.started);
  const bool capped = code == CURLE_WRITE_ERROR && t.truncated;
  if (code == CURLE_OK || capped) {
    long status = 0;
    api_->easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    r.headers = std::move(t.response_headers);
    r.body = std::move(t.body);
    r.body_truncated = capped;
    r.cert_expiry = cert_expiry(t);
  } else {
    r.failure = detail::classify(code);
    r.error = detail::describe(code, t.error, t.req);
  }
  if (log_->should_log(spdlog::level::debug)) {
    log_->debug("request method={} origin={} status={} error={} latency_ms={}", t.req.method,
                detail::origin_of(t.req.url), r.status, log::quote(r.error), r.latency.count());
  }
  return r;
}

std::optional<WallTime> Engine::cert_expiry(Transfer& t) {
  char* effective = nullptr;
  api_->easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &effective);
  const std::string origin = detail::origin_of(effective != nullptr ? effective : t.req.url);
  if (origin.rfind("https://", 0) != 0) {
    return std::nullopt;
  }
  const std::string key = origin + (t.req.unix_socket.empty() ? "" : " via " + t.req.unix_socket);
  curl_certinfo* info = nullptr;
  if (api_->easy_getinfo(t.easy, CURLINFO_CERTINFO, &info) == CURLE_OK && info != nullptr && info->num_of_certs > 0) {
    for (curl_slist* field = info->certinfo[0]; field != nullptr; field = field->next) {
      constexpr std::string_view prefix = "Expire date:";
      const std::string_view text(field->data);
      if (text.substr(0, prefix.size()) == prefix) {
        auto expiry = detail::parse_cert_time(text.substr(prefix.size()));
        if (expiry) {
          if (cert_expiry_by_origin_.size() >= kMaxCertCacheEntries) {
            cert_expiry_by_origin_.clear();
          }
          cert_expiry_by_origin_[key] = *expiry;
        }
        return expiry;
      }
    }
  }
  // curl fills CERTINFO only during a handshake; a reused connection has none, and its
  // certificate is the one seen when that connection was made.
  auto it = cert_expiry_by_origin_.find(key);
  return it == cert_expiry_by_origin_.end() ? std::nullopt : std::optional<WallTime>(it->second);
}

void Engine::deliver_later(std::shared_ptr<Transfer> t, Response r) {
  detail::post_completion(io_, weak_from_this(), std::move(t), std::move(r));
}

}  // namespace

std::unique_ptr<Client> make_curl_client(boost::asio::io_context& io) {
  auto engine = std::make_shared<Engine>(io);  // libcurl loads with its first request
  return std::make_unique<detail::EngineClient<Engine>>(std::move(engine));
}

}  // namespace tend::http
