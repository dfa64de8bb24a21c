#pragma once
// The listener's own series (tend_http_*), from Server::stats().

#include "metrics/exposition.hpp"
#include "web/server.hpp"

namespace tend::web {

/// Add tend_http_connections_open, tend_http_connections_{accepted,refused,evicted}_total,
/// tend_http_timeouts_total, tend_http_requests_total and tend_http_rejected_requests_total.
void collect_stats(const Stats& stats, metrics::Collector& c);

}  // namespace tend::web
