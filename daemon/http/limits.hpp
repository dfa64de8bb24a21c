#pragma once
// Internal: the bounds both HTTP clients (libcurl's and the plain one) keep, said once so that a
// probe costs the same descriptors and memory whichever client serves it.

#include <sys/resource.h>

#include <algorithm>
#include <cstddef>

namespace tend::http::detail {

// Connections kept open for reuse after their request (the oldest idle one is closed past this).
// curl's default grows with the transfers in flight (4x), so a burst of thousands of probes left a
// cache of thousands, and curl 7.88 walks the whole cache when a transfer that kept its connection
// is removed (and walks the host's connections to find one to reuse): at 10,000 probes a second
// every request paid for every other probe's connection and the loop fell to ~600 probes/s
// (bench/README.md, `scale`). Probes of one interval rarely overlap, so a few hundred idle
// connections are enough to reuse one for nearly every request.
constexpr std::size_t kMaxCachedConnections = 256;
// Requests on the wire at once; more wait in a FIFO (their timeout running from send()). For curl
// the reason is the same walk: curl scans every connection of the host when it looks for one to
// reuse and the whole cache when a transfer is removed, so with thousands in flight (the start-up
// burst of 10,000 probes, all opening new connections at once) each request cost more than the
// last and the loop stayed collapsed at ~1,200 probes/s in two runs of three, with 250 MB of
// transfers waiting. curl's own limit (CURLMOPT_MAX_TOTAL_CONNECTIONS) does not help: its pending
// list is walked too. A hung target holds a slot only until its timeout, so healthy probes wait
// behind hung ones only past this many hung targets at once.
constexpr std::size_t kMaxInFlight = 256;
// Descriptors left for everything that is not HTTP (the control socket's clients, the state
// database, logs, children's pipes, the web listener) when RLIMIT_NOFILE is low.
constexpr rlim_t kFdsKeptForOthers = 128;
// Response headers kept per request; past this they are read and dropped, so memory per request
// stays bounded (body cap + this) whatever a server sends.
constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;

/// `cap`, or less under a low RLIMIT_NOFILE. Requests in flight and idle connections each hold a
/// descriptor; under a low limit (`ulimit -n 256`, a container's default) HTTP must not take them
/// all: the control socket could accept no client and every other open would fail. Each client may
/// use a quarter of what is left for requests and a quarter for idle connections, up to the usual
/// caps; past that, requests wait in the FIFO with their timeout running.
inline std::size_t fd_budget(std::size_t cap) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return cap;
  }
  const rlim_t spare = rl.rlim_cur > kFdsKeptForOthers ? rl.rlim_cur - kFdsKeptForOthers : 0;
  return std::clamp<std::size_t>(static_cast<std::size_t>(spare / 4), 4, cap);
}

}  // namespace tend::http::detail
