#pragma once
// Internal: which requests the plain HTTP/1.1 client serves exactly as the curl client would, for
// the router and the tests.

#include "http/client.hpp"

namespace tend::http::detail {

/// True for a plain http:// request over TCP, without userinfo (curl's Basic auth), that follows no
/// redirect and sets none of the headers
/// curl gives a meaning of its own (Expect, Content-Length, Transfer-Encoding). Everything else stays with curl: https,
/// unix_socket, and the origin-checked redirect logic, which lives in one place only.
bool plain_serves(const Request& req);

}  // namespace tend::http::detail
