#include "web/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <ctime>
#include <map>
#include <stdexcept>

#include "util/log.hpp"
#include "web/target.hpp"

namespace tend::web {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

const auto& logger() {
  static auto l = log::get("web");
  return l;
}

/// IMF-fixdate for the Date header, without the C locale's help (strftime's names follow it).
std::string http_date(std::time_t t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

/// The address a per-client cap counts: an IPv4 client on a dual-stack socket is still IPv4.
asio::ip::address client_key(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

/// A client still sending after its error response may cost this much reading, no more.
constexpr std::size_t kMaxDrain = std::size_t{1} << 20;

// Pages: no script may run, nothing may frame them, styles only inline (the page's own
// stylesheet), images only inline SVG/data.
constexpr const char* kPageCsp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  class Session;

  Impl(asio::io_context& io, Options o, Router r)
      : io_(io), options_(std::move(o)), router_(std::move(r)), pause_(io) {}

  /// A bound, listening acceptor for options' address, or why not.
  Expected<std::shared_ptr<tcp::acceptor>> open(const Options& o) {
    const std::string shown =
        (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
    last_open_error_.clear();
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(o.host, ec);
    if (ec) {
      return Error{"cannot listen on " + shown + ": not an IP address"};
    }
    auto a = std::make_shared<tcp::acceptor>(io_);
    const tcp::endpoint ep(address, o.port);
    a->open(ep.protocol(), ec);
    if (!ec) {
      a->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      a->bind(ep, ec);
    }
    if (!ec) {
      a->listen(asio::socket_base::max_listen_connections, ec);
    }
    last_open_error_ = ec;
    if (ec) {
      return Error{"cannot listen on " + shown + ": " + ec.message()};
    }
    return a;
  }

  void accept(const std::shared_ptr<tcp::acceptor>& a) {
    a->async_accept([self = shared_from_this(), a](const boost::system::error_code& ec, tcp::socket socket) {
      if (a != self->acceptor_ || !a->is_open()) {
        return;  // closed or replaced by a rebind
      }
      if (ec) {
        if (ec == asio::error::operation_aborted) {
          return;
        }
        // Out of descriptors (or memory): the listener stays readable, so accepting again at
        // once would spin the loop. Pause, and say so at most once a minute.
        const auto now = Clock::now();
        if (now - self->last_accept_error_ > std::chrono::minutes(1)) {
          self->last_accept_error_ = now;
          logger()->warn("accept failed: {} (pausing the listener for 100 ms)", ec.message());
        }
        self->pause_.expires_after(std::chrono::milliseconds(100));
        self->pause_.async_wait([self, a](const boost::system::error_code& pec) {
          if (!pec && a == self->acceptor_ && a->is_open()) {
            self->accept(a);
          }
        });
        return;
      }
      self->admit(std::move(socket));
      self->accept(a);
    });
  }

  void admit(tcp::socket socket);
  void refuse(tcp::socket& socket);
  /// Close the oldest connection that is idle or still sending its header (of `client` only,
  /// when set); false when every candidate is busy.
  bool evict(const std::optional<asio::ip::address>& client);
  void remove(Session* s);
  const std::string& date();

  asio::io_context& io_;
  Options options_;
  Router router_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  asio::steady_timer pause_;
  Clock::time_point last_accept_error_{};
  boost::system::error_code last_open_error_;
  std::map<Session*, std::shared_ptr<Session>> sessions_;
  std::map<asio::ip::address, std::size_t> per_client_;
  Stats stats_;
  std::time_t date_at_ = 0;
  std::string date_;
};

class Server::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  enum class Phase { idle, reading, handling, writing, lingering, closed };

  Session(std::shared_ptr<Impl> server, tcp::socket socket, asio::ip::address client)
      : server_(std::move(server)),
        limits_(server_->options_.limits),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        client_(client),
        remote_(client.to_string()),
        buffer_(limits_.max_request_line + limits_.max_header_bytes + 4096) {}

  void start() {
    begin_request(Phase::reading, limits_.header_timeout);
    read_more();
  }

  [[nodiscard]] Phase phase() const { return phase_; }
  [[nodiscard]] Clock::time_point since() const { return since_; }
  [[nodiscard]] const asio::ip::address& client() const { return client_; }
  /// Idle, still sending its header, or finished: closing it loses no answer.
  [[nodiscard]] bool evictable() const {
    return phase_ == Phase::idle || phase_ == Phase::reading || phase_ == Phase::lingering;
  }

  /// Close now, without an answer; the server forgets this session.
  void close() {
    if (phase_ == Phase::closed) {
      return;
    }
    phase_ = Phase::closed;
    boost::system::error_code ec;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    server_->remove(this);
  }

 private:
  void set_phase(Phase p) {
    phase_ = p;
    since_ = Clock::now();
  }

  void deadline(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) {
        self->on_timeout();
      }
    });
  }

  void on_timeout() {
    switch (phase_) {
      case Phase::handling:
        // The handler never answered: the client gets a status instead of a hang.
        ++server_->stats_.timed_out;
        send(Response::text(503, "the page took too long to render\n"), true);
        return;
      case Phase::reading:
      case Phase::writing:
        ++server_->stats_.timed_out;
        close();
        return;
      case Phase::idle:
      case Phase::lingering:
        close();
        return;
      case Phase::closed:
        return;
    }
  }

  void begin_request(Phase p, std::chrono::milliseconds timeout) {
    set_phase(p);
    parser_.emplace();
    // Beast checks the start line and the field block against this limit separately; the
    // exact 414/431 limits are checked in parse() (this only bounds Beast's own scanning).
    parser_->header_limit(static_cast<std::uint32_t>(std::max(limits_.max_request_line, limits_.max_header_bytes) + 4));
    line_length_ = 0;
    header_bytes_ = 0;
    deadline(timeout);
  }

  void read_more() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {
      reject(431, "request header fields too large\n");
      return;
    }
    socket_.async_read_some(
        buffer_.prepare(std::min<std::size_t>(room, 4096)),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (phase_ == Phase::closed) {
      return;
    }
    if (ec) {
      close();
      return;
    }
    buffer_.commit(n);
    if (phase_ == Phase::idle) {
      // The next request has begun: from now on its header must arrive in time.
      begin_request(Phase::reading, limits_.header_timeout);
    }
    parse();
  }

  std::string_view buffered() const { return {static_cast<const char*>(buffer_.data().data()), buffer_.data().size()}; }

  void parse() {
    if (buffer_.size() == 0) {
      read_more();
      return;
    }
    if (line_length_ == 0) {
      // The request line is judged on its own before Beast sees it, so an endless line is
      // answered with 414 as soon as it passes the limit (not after the header timeout).
      const auto data = buffered();
      const auto nl = data.find('\n');
      const std::size_t limit = limits_.max_request_line + 2;  // the line and its CRLF
      if ((nl == std::string_view::npos && data.size() > limit) || (nl != std::string_view::npos && nl + 1 > limit)) {
        reject(414, "request line too long\n");
        return;
      }
      if (nl == std::string_view::npos) {
        read_more();
        return;
      }
      line_length_ = nl + 1;
    }
    boost::system::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    header_bytes_ += used;
    if (ec == http::error::need_more) {
      if (header_bytes_ + buffer_.size() > line_length_ + limits_.max_header_bytes + 2) {
        reject(431, "request header fields too large\n");
        return;
      }
      read_more();
      return;
    }
    if (ec == http::error::header_limit) {
      reject(431, "request header fields too large\n");
      return;
    }
    if (ec) {
      reject(400, "bad request: " + ec.message() + "\n");
      return;
    }
    if (header_bytes_ > line_length_ + limits_.max_header_bytes + 2) {
      reject(431, "request header fields too large\n");
      return;
    }
    handle();
  }

  void handle() {
    const auto& req = parser_->get();
    const bool has_body = parser_->chunked() || (parser_->content_length() && *parser_->content_length() > 0);
    keep_alive_ = req.keep_alive() && !has_body;
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      ++server_->stats_.rejected;
      auto r = Response::text(405, "method not allowed: GET and HEAD only\n");
      r.headers.emplace_back("Allow", "GET, HEAD");
      head_ = false;
      send(std::move(r), !keep_alive_);
      return;
    }
    head_ = req.method() == http::verb::head;
    if (has_body) {
      // Nothing here takes a body; it is not read, so the connection cannot continue.
      reject(413, "request bodies are not accepted\n");
      return;
    }
    auto target = parse_target(std::string_view(req.target().data(), req.target().size()));
    if (!target) {
      ++server_->stats_.rejected;
      send(Response::text(400, "bad request: " + target.error() + "\n"), !keep_alive_);
      return;
    }
    Request request;
    request.head = head_;
    request.path = std::move(target->path);
    request.query = std::move(target->query);
    request.remote = remote_;
    if (auto it = req.find(http::field::accept_encoding); it != req.end()) {
      request.accept_encoding = std::string(it->value());
    }
    const AsyncHandler* handler = server_->router_.find(request.path, request.rest);
    if (handler == nullptr) {
      send(Response::text(404, "not found\n"), !keep_alive_);
      return;
    }
    set_phase(Phase::handling);
    deadline(limits_.handler_timeout);
    const auto generation = ++generation_;
    Respond respond = [weak = weak_from_this(), generation](Response r) {
      auto self = weak.lock();
      if (!self || self->phase_ != Phase::handling || self->generation_ != generation) {
        return;  // the client left, or the request timed out
      }
      self->send(std::move(r), !self->keep_alive_);
    };
    try {
      (*handler)(request, respond);
    } catch (const std::exception& e) {
      // A handler bug costs one request, not the daemon.
      logger()->error("path={} handler error: {}", log::quote(request.path), e.what());
      respond(Response::text(500, "internal error\n"));
    }
  }

  /// Answer a request the server itself refuses, then close: what follows cannot be framed.
  void reject(unsigned status, std::string message) {
    ++server_->stats_.rejected;
    head_ = false;
    send(Response::text(status, std::move(message)), true);
  }

  void send(Response r, bool close_after) {
    ++server_->stats_.requests;
    close_after_ = close_after;
    set_phase(Phase::writing);
    body_ = r.body ? std::move(r.body) : std::make_shared<const std::string>();
    res_.emplace(static_cast<http::status>(r.status), 11);
    res_->set(http::field::date, server_->date());
    res_->set(http::field::content_type, r.content_type);
    // Every document here is live state: never cache it, never guess its type.
    res_->set(http::field::cache_control, "no-store");
    res_->set("X-Content-Type-Options", "nosniff");
    if (r.content_type.starts_with("text/html")) {
      res_->set("Content-Security-Policy", kPageCsp);
      res_->set("X-Frame-Options", "DENY");
      res_->set("Referrer-Policy", "no-referrer");
    }
    for (const auto& [name, value] : r.headers) {
      res_->set(name, value);
    }
    res_->keep_alive(!close_after);
    res_->content_length(body_->size());
    res_->body() = head_ ? http::span_body<const char>::value_type() : http::span_body<const char>::value_type(*body_);
    serializer_.emplace(*res_);
    write_some();
  }

  void write_some() {
    // A fresh deadline for every piece: a client that reads slowly but steadily is served, one
    // that stops reading is dropped after write_timeout.
    deadline(limits_.write_timeout);
    http::async_write_some(
        socket_, *serializer_,
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(const boost::system::error_code& ec) {
    if (phase_ == Phase::closed) {
      return;
    }
    if (ec) {
      close();
      return;
    }
    if (!serializer_->is_done()) {
      write_some();
      return;
    }
    serializer_.reset();
    res_.reset();
    body_.reset();
    if (close_after_) {
      linger();
      return;
    }
    // Keep-alive: a pipelined request may already be buffered.
    if (buffer_.size() > 0) {
      begin_request(Phase::reading, limits_.header_timeout);
      parse();
    } else {
      begin_request(Phase::idle, limits_.idle_timeout);
      read_more();
    }
  }

  /// Half-close and drain what the client still sends for a moment before closing: closing
  /// with unread input makes the kernel send a reset, which can destroy the error response
  /// (a 414 or 413) before the client reads it.
  void linger() {
    set_phase(Phase::lingering);
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    deadline(std::chrono::milliseconds(2000));
    drained_ = 0;
    drain();
  }

  void drain() {
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              if (self->phase_ != Phase::lingering) {
                                return;
                              }
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrain) {
                                self->close();
                                return;
                              }
                              self->drain();
                            });
  }

  std::shared_ptr<Impl> server_;
  Limits limits_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::ip::address client_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::size_t line_length_ = 0;
  std::size_t header_bytes_ = 0;
  std::size_t drained_ = 0;
  bool keep_alive_ = true;
  bool head_ = false;
  bool close_after_ = false;
  std::uint64_t generation_ = 0;
  Phase phase_ = Phase::reading;
  Clock::time_point since_ = Clock::now();
  std::shared_ptr<const std::string> body_;
  std::optional<http::response<http::span_body<const char>>> res_;
  std::optional<http::response_serializer<http::span_body<const char>>> serializer_;
};

void Server::Impl::admit(tcp::socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) {
    socket.close(ec);  // already gone
    return;
  }
  ++stats_.accepted;
  const auto client = client_key(remote.address());
  const auto& limits = options_.limits;
  // One client first: it makes room among its own connections, never at others' expense.
  const auto known = per_client_.find(client);
  if (known != per_client_.end() && known->second >= limits.max_connections_per_client && !evict(client)) {
    refuse(socket);
    return;
  }
  if (sessions_.size() >= limits.max_connections && !evict(std::nullopt)) {
    refuse(socket);
    return;
  }
  auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), client);
  sessions_[session.get()] = session;
  ++per_client_[client];
  session->start();
}

void Server::Impl::refuse(tcp::socket& socket) {
  ++stats_.refused;
  static constexpr std::string_view reply =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n"
      "Retry-After: 1\r\nCache-Control: no-store\r\nConnection: close\r\n\r\ntoo many connections\n";
  boost::system::error_code ec;
  // Best effort on a fresh socket: its send buffer is empty, so this never waits.
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(reply.data(), reply.size()), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

bool Server::Impl::evict(const std::optional<asio::ip::address>& client) {
  Session* oldest = nullptr;
  for (const auto& [ptr, s] : sessions_) {
    if (s->evictable() && (!client || s->client() == *client) && (oldest == nullptr || s->since() < oldest->since())) {
      oldest = ptr;
    }
  }
  if (oldest == nullptr) {
    return false;
  }
  ++stats_.evicted;
  oldest->close();
  return true;
}

void Server::Impl::remove(Session* s) {
  auto it = sessions_.find(s);
  if (it == sessions_.end()) {
    return;
  }
  auto keep = std::move(it->second);  // the session may be running this very call
  sessions_.erase(it);
  if (auto c = per_client_.find(keep->client()); c != per_client_.end() && --c->second == 0) {
    per_client_.erase(c);
  }
  // The last reference may be this one; destroy it after the call that closed it returns.
  asio::post(io_, [keep = std::move(keep)] {});
}

const std::string& Server::Impl::date() {
  const std::time_t now = std::time(nullptr);
  if (now != date_at_) {
    date_at_ = now;
    date_ = http_date(now);
  }
  return date_;
}

Server::Server(asio::io_context& io, Options options, Router router)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(router))) {}

Server::~Server() { stop(); }

void Server::start() {
  if (auto error = rebind(impl_->options_)) {
    throw std::runtime_error(*error);
  }
}

std::optional<std::string> Server::rebind(const Options& options) {
  auto& impl = *impl_;
  const bool same = impl.acceptor_ && impl.acceptor_->is_open() && options.host == impl.options_.host &&
                    options.port == impl.options_.port && options.port != 0;
  if (same) {
    impl.options_.limits = options.limits;
    return std::nullopt;
  }
  auto fresh = impl.open(options);
  if (!fresh && impl.last_open_error_ == asio::error::address_in_use && impl.acceptor_ && impl.acceptor_->is_open() &&
      options.port == impl.options_.port) {
    // The same port on another address (0.0.0.0:9717 → 127.0.0.1:9717) cannot be bound while
    // the old socket holds it: release it, try, and take it back if the new one fails.
    boost::system::error_code ec;
    impl.acceptor_->close(ec);
    fresh = impl.open(options);
    if (!fresh) {
      auto back = impl.open(impl.options_);
      if (back) {
        impl.acceptor_ = *back;
        impl.accept(impl.acceptor_);
      } else {
        impl.acceptor_.reset();
        logger()->error("listener lost: {}", back.error());
      }
    }
  }
  if (!fresh) {
    return fresh.error();
  }
  if (impl.acceptor_) {
    boost::system::error_code ec;
    impl.acceptor_->close(ec);
  }
  impl.acceptor_ = *fresh;
  impl.options_ = options;
  boost::system::error_code ec;
  const auto ep = impl.acceptor_->local_endpoint(ec);
  logger()->info("listening on {}:{}", ep.address().to_string(), ep.port());
  impl.accept(impl.acceptor_);
  return std::nullopt;
}

void Server::stop() {
  if (!impl_) {
    return;
  }
  boost::system::error_code ec;
  if (impl_->acceptor_) {
    impl_->acceptor_->close(ec);
    impl_->acceptor_.reset();
  }
  impl_->pause_.cancel();
  auto sessions = impl_->sessions_;
  for (auto& [ptr, session] : sessions) {
    session->close();
  }
}

bool Server::listening() const { return impl_->acceptor_ && impl_->acceptor_->is_open(); }

std::optional<tcp::endpoint> Server::endpoint() const {
  if (!listening()) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto ep = impl_->acceptor_->local_endpoint(ec);
  if (ec) {
    return std::nullopt;
  }
  return ep;
}

Stats Server::stats() const {
  Stats s = impl_->stats_;
  s.open = impl_->sessions_.size();
  return s;
}

}  // namespace tend::web
