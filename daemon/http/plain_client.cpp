// The plain HTTP/1.1 client: http:// over TCP on Asio, with Beast's parser for responses. It exists
// for CPU: libcurl's per-transfer machinery (easy handle setup, multi bookkeeping, its socket and
// timer callbacks) dominated a probe's cost, while a probe's request is the simplest HTTP there is.
//
// What it keeps from the curl client, so the router may pick either: the Client/Handle contract
// (callbacks posted, exactly once, never after cancel or the client's end), check_request() first,
// the timeout from send() with curl's wording for every failure (curl_detail's describe()), the
// request curl would send (Host, User-Agent: tend, Accept: */*, Content-Length and Content-Type for
// bodies), the header and body caps, the FIFO past kMaxInFlight, and reuse of idle connections
// (per host and port, most recent first, a pooled connection the server closed retried once).
//
// Costs it avoids: the request head is one string written with the body in one gather write; the
// response is parsed straight into the Response (a basic_parser of our own, no Beast fields); one
// steady_timer for the whole client, armed at the earliest deadline (most requests finish before
// it, so it is rarely re-armed); name resolution only for host names (IP literals need none).

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/intrusive/list.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "http/client.hpp"
#include "http/curl_detail.hpp"
#include "http/engine.hpp"
#include "http/limits.hpp"
#include "http/plain_detail.hpp"
#include "util/log.hpp"

namespace tend::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace bi = boost::intrusive;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Beast's parser needs a response's whole header in memory before it hands out fields; past this
// much the response is a failure (only the first kMaxHeaderBytes of fields are kept either way).
// curl 8 stops at the same 300 KiB.
constexpr std::uint32_t kMaxHeaderRead = 300 * 1024;
// curl's default CURLOPT_MAXAGE_CONN: an idle connection older than this is closed, not reused
// (a server's keep-alive timeout has likely closed it by then).
constexpr auto kMaxIdleAge = std::chrono::seconds(118);
constexpr std::uint16_t kDefaultPort = 80;

// A TCP connection to one host and port, owned by the request using it or by the pool.
struct Conn {
  explicit Conn(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  beast::flat_buffer buffer;  // bytes read past the last response: none when pooled
  std::string key;            // "host:port" (the pool's key)
  Clock::time_point idle_since;
  bi::list_member_hook<> by_age;  // Pool::all_
  bi::list_member_hook<> by_key;  // its key's stack in Pool::by_key_
};

// Idle connections: a stack per host and port (the most recently used is reused first: it is the
// one least likely to have been closed by the server's keep-alive timeout), and all of them in age
// order so that the oldest goes first past the cap. Intrusive lists: taking and returning a
// connection allocates nothing.
class Pool {
 public:
  explicit Pool(std::size_t cap) : cap_(cap) {}
  ~Pool() { clear(); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// The most recently used idle connection to `key` that is still usable, or null.
  std::unique_ptr<Conn> take(const std::string& key, Clock::time_point now) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) {
      return nullptr;
    }
    KeyList& stack = it->second;
    while (!stack.empty()) {
      std::unique_ptr<Conn> c(&stack.back());
      stack.pop_back();
      all_.erase(all_.iterator_to(*c));
      if (now - c->idle_since < kMaxIdleAge && still_open(*c)) {
        return c;
      }
    }
    return nullptr;
  }

  /// Keep `c` for reuse, closing the oldest idle connection past the cap.
  void put(std::unique_ptr<Conn> c, Clock::time_point now) {
    c->idle_since = now;
    if (by_key_.size() > 4 * cap_) {
      std::erase_if(by_key_, [](const auto& entry) { return entry.second.empty(); });
    }
    by_key_[c->key].push_back(*c);
    all_.push_back(*c.release());
    while (all_.size() > cap_) {
      drop(all_.front());
    }
  }

  void clear() {
    while (!all_.empty()) {
      drop(all_.front());
    }
    by_key_.clear();
  }

 private:
  using AgeList = bi::list<Conn, bi::member_hook<Conn, bi::list_member_hook<>, &Conn::by_age>>;
  using KeyList =
      bi::list<Conn, bi::member_hook<Conn, bi::list_member_hook<>, &Conn::by_key>, bi::constant_time_size<false>>;

  // curl's check before reuse: an idle connection that is readable has been closed by the server
  // (EOF) or carries bytes nobody asked for; either way it cannot take a request. One recv, no
  // wait: most closed connections are caught here, the rest by the retry.
  static bool still_open(Conn& c) {
    char byte = 0;
    const ssize_t n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void drop(Conn& c) {
    all_.erase(all_.iterator_to(c));
    auto it = by_key_.find(c.key);
    if (it != by_key_.end()) {
      it->second.erase(it->second.iterator_to(c));
    }
    const std::unique_ptr<Conn> owned(&c);
    error_code ignored;
    owned->socket.close(ignored);
  }

  std::size_t cap_;
  AgeList all_;
  std::unordered_map<std::string, KeyList> by_key_;
};

// The response parser: fields and body go straight into the Response, with the curl client's caps
// (kMaxHeaderBytes of header lines kept, last value wins, names lower-cased; max_body of body).
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  ResponseParser(Response& out, std::size_t max_body) : out_(out), max_body_(max_body) {
    header_limit(kMaxHeaderRead);
    body_limit(boost::none);  // ours is max_body, and past it we keep what fits (put())
  }

  /// The body went past max_body: what fits was kept, the rest is not read.
  [[nodiscard]] bool truncated() const { return truncated_; }

 private:
  void on_request_impl(bhttp::verb /*method*/, beast::string_view /*method_str*/, beast::string_view /*target*/,
                       int /*version*/, error_code& /*ec*/) override {}

  void on_response_impl(int code, beast::string_view /*reason*/, int /*version*/, error_code& /*ec*/) override {
    out_.status = code;
  }

  void on_field_impl(bhttp::field /*name*/, beast::string_view name, beast::string_view value,
                     error_code& ec) override {
    const std::size_t line = name.size() + 2 + value.size();  // "Name: value", as curl counts it
    if (header_bytes_ + line > detail::kMaxHeaderBytes) {
      return;
    }
    try {
      std::string key(name.data(), name.size());
      for (char& c : key) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      out_.headers.insert_or_assign(std::move(key), std::string(value.data(), value.size()));
      header_bytes_ += line;
    } catch (const std::exception&) {
      ec = bhttp::error::header_limit;  // out of memory: fail this request, never unwind through Beast
    }
  }

  void on_header_impl(error_code& /*ec*/) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    if (!length) {
      return;
    }
    try {
      out_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, max_body_)));
    } catch (const std::exception&) {
      ec = bhttp::error::body_limit;
    }
  }

  std::size_t on_body_impl(beast::string_view body, error_code& ec) override { return put(body, ec); }

  void on_chunk_header_impl(std::uint64_t /*size*/, beast::string_view /*extensions*/, error_code& /*ec*/) override {}

  std::size_t on_chunk_body_impl(std::uint64_t /*remain*/, beast::string_view body, error_code& ec) override {
    return put(body, ec);
  }

  void on_finish_impl(error_code& /*ec*/) override {}

  std::size_t put(beast::string_view data, error_code& ec) {
    const std::size_t room = max_body_ - std::min(max_body_, out_.body.size());
    try {
      if (data.size() <= room) {
        out_.body.append(data.data(), data.size());
        return data.size();
      }
      // Past the cap: keep what fits and stop the read; the connection is then closed unread.
      out_.body.append(data.data(), room);
      truncated_ = true;
    } catch (const std::exception&) {
      // Out of memory: fail the request.
    }
    ec = bhttp::error::body_limit;
    return room;
  }

  Response& out_;
  std::size_t max_body_;
  std::size_t header_bytes_ = 0;
  bool truncated_ = false;
};

class Engine;

// One request, from send() to its posted completion. Asio handlers hold it (shared_ptr) while an
// operation is pending, so the connection and parser they use outlive the operation even when a
// timeout or cancel has already ended the request; `owner` says whether it is still in flight.
struct Transfer {
  Request req;
  Callback done;
  Engine* owner = nullptr;  // set while in flight (in the engine's deadlines_)
  bool finished = false;    // delivered, cancelled or its client is gone: never call back
  bool queued = false;      // waiting for a slot, not started yet
  bool reused = false;      // on a pooled connection: a failure before any response byte is retried
  bool retried = false;     // once
  Clock::time_point started = Clock::now();
  Clock::time_point deadline;
  std::multimap<Clock::time_point, std::shared_ptr<Transfer>>::iterator deadline_pos;
  std::string host;  // to resolve (an IPv6 literal without its brackets)
  std::uint16_t port = kDefaultPort;
  std::optional<asio::ip::address> address;  // the host when it is an IP literal
  std::string key;                           // the pool's: "host:port"
  std::string head;                          // request line and header fields, as sent
  std::unique_ptr<Conn> conn;
  std::optional<tcp::resolver> resolver;
  std::optional<ResponseParser> parser;
  Response resp;
};

using TransferPtr = std::shared_ptr<Transfer>;

bool has_header(const Request& req, std::string_view name) {
  return std::any_of(req.headers.begin(), req.headers.end(),
                     [name](const auto& h) { return beast::iequals(h.first, name); });
}

// "user[:password]@" before the host: cheaper to see in the text than to ask the parsed URL.
bool url_has_userinfo(std::string_view url) {
  const std::size_t start = url.find("://");
  if (start == std::string_view::npos) {
    return false;
  }
  const std::string_view rest = url.substr(start + 3);
  return rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string_view::npos;
}

// The request as curl sends it (its default headers unless the caller set the same name), so a
// target sees the same bytes whichever client the router picked. Also fills where to connect.
void prepare(Transfer& t, const Url& url) {
  const Request& req = t.req;
  std::string host = url.host();
  const std::optional<int> port = url.port();
  t.port = port ? static_cast<std::uint16_t>(*port) : kDefaultPort;
  t.key = host + ':' + std::to_string(t.port);
  t.host = host.size() > 2 && host.front() == '[' && host.back() == ']' ? host.substr(1, host.size() - 2) : host;
  error_code ec;
  const auto address = asio::ip::make_address(t.host, ec);
  if (!ec) {
    t.address = address;
  }
  std::string& h = t.head;
  h.reserve(256 + req.url.size());
  h += req.method;
  h += ' ';
  h += url.target();
  h += " HTTP/1.1\r\n";
  if (!has_header(req, "Host")) {
    h += "Host: ";
    h += host;
    if (t.port != kDefaultPort) {
      h += ':';
      h += std::to_string(t.port);
    }
    h += "\r\n";
  }
  if (!has_header(req, "User-Agent")) {
    h += "User-Agent: tend\r\n";
  }
  if (!has_header(req, "Accept")) {
    h += "Accept: */*\r\n";
  }
  if (req.fresh_connection && !has_header(req, "Connection")) {
    h += "Connection: close\r\n";  // the server may close first: no TIME_WAIT left on our side
  }
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || !req.body.empty()) {
    h += "Content-Length: ";
    h += std::to_string(req.body.size());
    h += "\r\n";
    if (!has_header(req, "Content-Type")) {
      h += "Content-Type: application/x-www-form-urlencoded\r\n";  // curl's for a POSTFIELDS body
    }
  }
  for (const auto& [name, value] : req.headers) {
    h += name;
    h += value.empty() ? ":" : ": ";
    h += value;
    h += "\r\n";
  }
  h += "\r\n";
}

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  explicit Engine(asio::io_context& io) : io_(io), log_(log::get("http")), timer_(io) {}
  ~Engine() { shutdown(); }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  TransferPtr send(Request req, Callback done);
  void cancel(Transfer& t);
  void shutdown();
  [[nodiscard]] bool shut_down() const { return shut_down_; }

 private:
  void begin(const TransferPtr& t);
  void begin_queued();
  void connect(const TransferPtr& t);
  void on_connected(const TransferPtr& t, const error_code& ec);
  void write(const TransferPtr& t);
  void read(const TransferPtr& t);
  void on_read(const TransferPtr& t, const error_code& ec);
  void retry_or_fail(const TransferPtr& t, CURLcode code, std::string_view text);
  void fail(const TransferPtr& t, CURLcode code, std::string_view text);
  void complete(const TransferPtr& t, bool keep_connection);
  static void abort_io(Transfer& t);
  void arm_timer();
  void on_timer();
  void deliver_later(TransferPtr t, Response r);

  asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  asio::steady_timer timer_;
  std::optional<Clock::time_point> timer_at_;  // when the pending wait fires, if one is pending
  // Every request in flight by deadline (their count is what kMaxInFlight bounds).
  std::multimap<Clock::time_point, TransferPtr> deadlines_;
  std::deque<TransferPtr> queued_;  // FIFO past max_in_flight_; cancelled ones skipped
  Pool pool_{detail::fd_budget(detail::kMaxCachedConnections)};
  const std::size_t max_in_flight_ = detail::fd_budget(detail::kMaxInFlight);
  bool starting_queued_ = false;  // begin_queued() is on the stack
  bool shut_down_ = false;
};

TransferPtr Engine::send(Request req, Callback done) {
  auto t = std::make_shared<Transfer>();
  t->req = std::move(req);
  t->done = std::move(done);
  auto url = detail::check_request(t->req);
  if (!url || !detail::plain_serves(t->req)) {
    Response r;
    r.failure = Failure::other;
    r.error = url ? "invalid request: not a plain http request" : url.error();
    deliver_later(t, std::move(r));
    return t;
  }
  try {
    prepare(*t, *url);
  } catch (const std::exception&) {
    Response r;
    r.failure = Failure::other;
    r.error = "cannot start request";
    deliver_later(t, std::move(r));
    return t;
  }
  t->deadline = t->started + t->req.timeout;
  if (deadlines_.size() >= max_in_flight_) {
    t->queued = true;
    queued_.push_back(t);
    return t;
  }
  begin(t);
  return t;
}

void Engine::begin(const TransferPtr& t) {
  t->owner = this;
  t->deadline_pos = deadlines_.emplace(t->deadline, t);
  const auto now = Clock::now();
  if (now >= t->deadline) {
    fail(t, CURLE_OPERATION_TIMEDOUT, "");  // its whole timeout went waiting for a slot
    return;
  }
  arm_timer();
  if (!t->req.fresh_connection) {
    if (auto c = pool_.take(t->key, now)) {
      t->conn = std::move(c);
      t->reused = true;
      write(t);
      return;
    }
  }
  connect(t);
}

void Engine::begin_queued() {
  // Re-entered through begin() -> fail() -> complete() when a queued request has already timed
  // out; the outer loop goes on with the rest (no recursion as deep as the queue).
  if (starting_queued_) {
    return;
  }
  starting_queued_ = true;
  while (deadlines_.size() < max_in_flight_ && !queued_.empty() && !shut_down_) {
    auto t = std::move(queued_.front());
    queued_.pop_front();
    if (!t->finished) {
      t->queued = false;
      begin(t);
    }
  }
  starting_queued_ = false;
}

void Engine::connect(const TransferPtr& t) {
  t->conn = std::make_unique<Conn>(io_);
  t->conn->key = t->key;
  if (t->address) {
    t->conn->socket.async_connect(tcp::endpoint(*t->address, t->port), [t](const error_code& ec) {
      if (t->owner != nullptr) {
        t->owner->on_connected(t, ec);
      }
    });
    return;
  }
  if (!t->resolver) {
    t->resolver.emplace(io_);
  }
  // Resolved on Asio's resolver thread; the addresses are tried in getaddrinfo's order.
  t->resolver->async_resolve(t->host, std::to_string(t->port), tcp::resolver::numeric_service,
                             [t](const error_code& ec, const tcp::resolver::results_type& results) {
                               if (t->owner == nullptr) {
                                 return;
                               }
                               if (ec || results.empty()) {
                                 t->owner->fail(t, CURLE_COULDNT_RESOLVE_HOST, "");
                                 return;
                               }
                               asio::async_connect(t->conn->socket, results,
                                                   [t](const error_code& connect_ec, const tcp::endpoint&) {
                                                     if (t->owner != nullptr) {
                                                       t->owner->on_connected(t, connect_ec);
                                                     }
                                                   });
                             });
}

void Engine::on_connected(const TransferPtr& t, const error_code& ec) {
  if (ec) {
    // Refused, unreachable, no route: curl's CURLE_COULDNT_CONNECT for every address tried.
    fail(t, CURLE_COULDNT_CONNECT, "");
    return;
  }
  error_code ignored;
  t->conn->socket.set_option(tcp::no_delay(true), ignored);  // as curl: the request is one write
  write(t);
}

void Engine::write(const TransferPtr& t) {
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(t->head), asio::buffer(t->req.body)};
  asio::async_write(t->conn->socket, buffers, [t](const error_code& ec, std::size_t /*written*/) {
    if (t->owner == nullptr) {
      return;
    }
    if (ec) {
      t->owner->retry_or_fail(t, CURLE_SEND_ERROR, "Send failure: " + ec.message());
      return;
    }
    t->owner->read(t);
  });
}

void Engine::read(const TransferPtr& t) {
  t->parser.emplace(t->resp, t->req.max_body);
  if (t->req.method == "HEAD") {
    t->parser->skip(true);
  }
  bhttp::async_read(t->conn->socket, t->conn->buffer, *t->parser, [t](const error_code& ec, std::size_t /*read*/) {
    if (t->owner != nullptr) {
      t->owner->on_read(t, ec);
    }
  });
}

void Engine::on_read(const TransferPtr& t, const error_code& ec) {
  ResponseParser& parser = *t->parser;
  if (parser.truncated()) {
    t->resp.body_truncated = true;
    complete(t, false);  // the rest of the body stays unread: the connection goes
    return;
  }
  if (ec == bhttp::error::end_of_stream) {
    retry_or_fail(t, CURLE_GOT_NOTHING, "Empty reply from server");
    return;
  }
  if (ec == bhttp::error::partial_message) {
    fail(t, CURLE_PARTIAL_FILE, "transfer closed with outstanding read data remaining");
    return;
  }
  if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
    fail(t, CURLE_WEIRD_SERVER_REPLY, "invalid response: " + ec.message());
    return;
  }
  if (ec) {
    retry_or_fail(t, CURLE_RECV_ERROR, "Recv failure: " + ec.message());
    return;
  }
  const int status = t->resp.status;
  if (status >= 100 && status < 200 && status != 101) {
    // An interim response (100 Continue, 103 Early Hints): as curl, only the final one counts.
    t->resp.headers.clear();
    t->resp.status = 0;
    read(t);
    return;
  }
  // Reused only when the server keeps it (HTTP/1.1 without "Connection: close", or 1.0 with
  // keep-alive), the body was delimited, nothing unexpected followed it, and no fresh one was asked for.
  complete(t, parser.keep_alive() && status != 101 && t->conn->buffer.size() == 0 && !t->req.fresh_connection);
}

void Engine::retry_or_fail(const TransferPtr& t, CURLcode code, std::string_view text) {
  const bool got_some = t->parser && t->parser->got_some();
  if (t->reused && !t->retried && !got_some) {
    // The server closed the pooled connection as we reused it (its keep-alive timeout raced our
    // request): once more on a fresh connection, as curl does. Nothing is pending on the old one.
    t->retried = true;
    t->reused = false;
    error_code ignored;
    t->conn->socket.close(ignored);
    t->conn.reset();
    t->parser.reset();
    t->resp = Response{};
    connect(t);
    return;
  }
  fail(t, code, text);
}

void Engine::fail(const TransferPtr& t, CURLcode code, std::string_view text) {
  t->resp = Response{};
  t->resp.failure = detail::classify(code);
  t->resp.error = detail::describe(code, text, t->req);
  complete(t, false);
}

void Engine::complete(const TransferPtr& t, bool keep_connection) {
  Response& r = t->resp;
  const auto now = Clock::now();
  r.latency = std::chrono::duration_cast<milliseconds>(now - t->started);
  if (keep_connection) {
    pool_.put(std::move(t->conn), now);
  } else {
    abort_io(*t);  // closed, not destroyed: an operation may still be pending on it (timeout)
  }
  t->owner = nullptr;
  deadlines_.erase(t->deadline_pos);
  if (log_->should_log(spdlog::level::debug)) {
    log_->debug("request method={} origin={} status={} error={} latency_ms={}", t->req.method,
                detail::origin_of(t->req.url), r.status, log::quote(r.error), r.latency.count());
  }
  deliver_later(t, std::move(r));
  begin_queued();
}

void Engine::abort_io(Transfer& t) {
  if (t.resolver) {
    t.resolver->cancel();
  }
  if (t.conn) {
    error_code ignored;
    t.conn->socket.close(ignored);  // pending operations complete with operation_aborted
  }
}

void Engine::cancel(Transfer& t) {
  t.finished = true;
  t.done = nullptr;
  if (t.queued || t.owner != this) {
    return;  // queued: begin_queued() drops it; done: its posted completion stays silent
  }
  abort_io(t);
  t.owner = nullptr;
  deadlines_.erase(t.deadline_pos);  // may drop the engine's reference: the handle holds one too
  begin_queued();
}

void Engine::arm_timer() {
  if (deadlines_.empty() || shut_down_) {
    return;
  }
  const auto first = deadlines_.begin()->first;
  if (timer_at_ && *timer_at_ <= first) {
    return;  // the pending wait comes first; it re-arms for what is left then
  }
  timer_at_ = first;
  timer_.expires_at(first);  // a later pending wait completes with operation_aborted
  timer_.async_wait([weak_self = weak_from_this()](const error_code& ec) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    auto self = weak_self.lock();
    if (self && !self->shut_down_) {
      self->on_timer();
    }
  });
}

void Engine::on_timer() {
  timer_at_.reset();
  const auto now = Clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const TransferPtr t = deadlines_.begin()->second;
    fail(t, CURLE_OPERATION_TIMEDOUT, "");
  }
  arm_timer();
}

void Engine::shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  for (auto& [when, t] : deadlines_) {
    t->finished = true;
    t->done = nullptr;
    t->owner = nullptr;
    abort_io(*t);
  }
  deadlines_.clear();
  for (auto& t : queued_) {
    t->finished = true;
    t->done = nullptr;
  }
  queued_.clear();
  pool_.clear();
  timer_.cancel();
}

void Engine::deliver_later(TransferPtr t, Response r) {
  detail::post_completion(io_, weak_from_this(), std::move(t), std::move(r));
}

}  // namespace

namespace detail {

bool plain_serves(const Request& req) {
  constexpr std::string_view scheme = "http://";
  if (!req.unix_socket.empty() || req.follow_redirects || req.url.compare(0, scheme.size(), scheme) != 0 ||
      url_has_userinfo(req.url)) {
    return false;
  }
  return !has_header(req, "Expect") && !has_header(req, "Content-Length") && !has_header(req, "Transfer-Encoding");
}

}  // namespace detail

std::unique_ptr<Client> make_plain_client(boost::asio::io_context& io) {
  return std::make_unique<detail::EngineClient<Engine>>(std::make_shared<Engine>(io));
}

}  // namespace tend::http
