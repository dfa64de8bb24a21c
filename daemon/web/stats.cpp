#include "web/stats.hpp"

namespace tend::web {

void collect_stats(const Stats& s, metrics::Collector& c) {
  using metrics::Type;
  c.family("tend_http_connections_open", "Connections open to the metrics and status listener.", Type::gauge)
      .sample({}, s.open);
  c.family("tend_http_connections_accepted_total", "Connections accepted by the listener (refused ones included).",
           Type::counter)
      .sample({}, s.accepted);
  c.family("tend_http_connections_refused_total",
           "Connections answered 503 and closed at once because every connection was busy.", Type::counter)
      .sample({}, s.refused);
  c.family("tend_http_connections_evicted_total",
           "Idle or unfinished connections closed to make room for a new one (connection caps).", Type::counter)
      .sample({}, s.evicted);
  c.family("tend_http_timeouts_total", "Connections closed by a header, write or handler timeout.", Type::counter)
      .sample({}, s.timed_out);
  c.family("tend_http_requests_total", "Requests answered by the listener (any status).", Type::counter)
      .sample({}, s.requests);
  c.family("tend_http_rejected_requests_total",
           "Requests the listener refused itself: bad method, oversized, malformed or bad path.", Type::counter)
      .sample({}, s.rejected);
}

}  // namespace tend::web
