#pragma once
// HTTP(S) requests on the event loop. The interface is the seam (probes, notifiers and the
// heartbeat take a Client&); the real one drives libcurl's multi-socket API from Asio: no thread
// per request, no blocking call on the loop, bounded memory per request.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "util/time.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::http {

struct Request {
  std::string method = "GET";
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string unix_socket;                    // connect through this socket instead of TCP
  std::chrono::milliseconds timeout{10'000};  // whole request, connect included
  bool verify_tls = true;
  std::string tls_ca;    // PEM file of the CA(s) that sign the server's certificate; "": the system's
  std::string tls_cert;  // PEM client certificate (mutual TLS, e.g. etcd's --client-cert-auth); "": none
  std::string tls_key;   // PEM private key of tls_cert
  bool follow_redirects = false;
  bool fresh_connection = false;                    // no connection reuse (as Monit does); default: reuse
  std::size_t max_body = std::size_t{1024} * 1024;  // read at most this much; the rest is not read
};

/// Why a request did not produce a response (none = it did).
enum class Failure { none, connect_refused, dns, timeout, tls, too_many_redirects, other };

struct Response {
  Failure failure = Failure::none;
  std::string error;  // one line: "connect refused", "timeout after 10s", "tls: certificate has expired"
  int status = 0;     // HTTP status when failure == none
  std::map<std::string, std::string> headers;  // lower-case names (last value wins)
  std::string body;                            // at most max_body bytes
  bool body_truncated = false;
  std::chrono::milliseconds latency{0};  // request start to last byte (or failure)
  std::optional<WallTime> cert_expiry;   // leaf certificate notAfter, for https
};

using Callback = std::function<void(Response)>;

/// A request in flight; cancel() (or destroying the handle) drops it without calling back.
class Handle {
 public:
  virtual ~Handle() = default;
  virtual void cancel() = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  /// Start `req`; `done` runs on the loop exactly once unless the handle is cancelled first.
  virtual std::unique_ptr<Handle> send(Request req, Callback done) = 0;
};

/// The libcurl multi-socket client on `io` (single-threaded: use it on `io`'s thread; destroy it before `io`).
std::unique_ptr<Client> make_curl_client(boost::asio::io_context& io);

/// The plain HTTP/1.1 client on `io` (same threading rules): http:// over TCP with keep-alive reuse,
/// cheaper per request than curl. A request it does not serve (https, unix_socket, redirects to
/// follow: see detail::plain_serves) fails with Failure::other; make_client() routes around that.
std::unique_ptr<Client> make_plain_client(boost::asio::io_context& io);

/// The probes' client: every request the plain client serves goes to it, the rest to a curl client.
std::unique_ptr<Client> make_client(boost::asio::io_context& io);

/// make_client()'s routing over two given clients (`plain` gets what detail::plain_serves accepts).
std::unique_ptr<Client> make_router(std::unique_ptr<Client> plain, std::unique_ptr<Client> curl);

}  // namespace tend::http
