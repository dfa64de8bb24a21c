#pragma once
// What the listener serves: exact paths and path prefixes mapped to handlers.
//
// Handlers run on the event loop. Budget: a synchronous handler returns within a few
// milliseconds (the status page of 1,000 entries renders in about 5 ms, /metrics of 10,000
// entries in about 20 ms: bench/bench_web.cpp); anything slower, or anything that waits (the
// state database, a file), is an asynchronous handler that calls Respond later, from the loop.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tend::web {

struct Request {
  bool head = false;   // HEAD: the server sends the headers of the GET response only
  std::string path;    // percent-decoded, normalised ("/entry/api")
  std::string rest;    // for a prefix route: the decoded part after the prefix ("api")
  std::string query;   // raw, without '?'
  std::string remote;  // client address ("127.0.0.1")
  std::string accept_encoding;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  /// Shared so one rendered document can go to several clients without a copy.
  std::shared_ptr<const std::string> body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Retry-After)

  /// A response with this body.
  static Response make(unsigned status, std::string content_type, std::string body);
  /// text/plain; charset=utf-8.
  static Response text(unsigned status, std::string body);
  /// text/html; charset=utf-8 (the server adds the page security headers).
  static Response html(unsigned status, std::string body);
};

/// Send the response; call exactly once, on the loop. Calls after the client left are ignored.
using Respond = std::function<void(Response)>;
using Handler = std::function<Response(const Request&)>;
using AsyncHandler = std::function<void(const Request&, Respond)>;

class Router {
 public:
  /// Serve `path` exactly ("/metrics").
  void add(std::string path, Handler handler);
  void add_async(std::string path, AsyncHandler handler);
  /// Serve every path that starts with `prefix` ("/entry/"), the rest in Request::rest.
  void add_prefix(std::string prefix, Handler handler);
  void add_prefix_async(std::string prefix, AsyncHandler handler);

  /// The handler for a normalised path (exact routes first, then the longest prefix), setting
  /// `rest`; nullptr when none matches.
  [[nodiscard]] const AsyncHandler* find(std::string_view path, std::string& rest) const;

 private:
  std::map<std::string, AsyncHandler, std::less<>> exact_;
  std::vector<std::pair<std::string, AsyncHandler>> prefixes_;  // longest first
};

}  // namespace tend::web
