#pragma once
// Internal: etcd's gateway JSON, apart from the transport so the unit tests reach every shape
// without a server. The gateway speaks proto3's JSON mapping: keys and values base64, 64-bit
// integers as strings, fields at their default value (false, 0, empty) left out.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/etcd.hpp"
#include "util/expected.hpp"

namespace tend::cluster::wire {

std::string base64(std::string_view bytes);
/// Nothing when `text` is not base64.
std::optional<std::string> unbase64(std::string_view text);

/// The body of POST /v3/kv/txn.
boost::json::object encode(const Txn& txn);
/// One RequestOp ({"request_put": ...}).
boost::json::object encode(const Op& op);

Expected<TxnResult> decode_txn(const boost::json::value& body);
Expected<Range> decode_range(const boost::json::value& body);
Expected<Revision> decode_put(const boost::json::value& body);
Expected<std::int64_t> decode_delete(const boost::json::value& body);
Expected<Lease> decode_grant(const boost::json::value& body);
/// TTL left; nothing when etcd does not know the lease (keepalive answers TTL 0, timetolive -1).
Expected<std::optional<std::chrono::seconds>> decode_keepalive(const boost::json::value& body);
Expected<std::optional<std::chrono::seconds>> decode_time_to_live(const boost::json::value& body);

/// An int64 field, whether the gateway sent it as a string or a number; 0 when absent.
std::int64_t int_field(const boost::json::object& o, std::string_view name);

/// The error an answer carries: etcd's message ("requested lease not found", the "etcdserver: "
/// prefix dropped) and whether another endpoint might do better (unavailable, timed out, no
/// leader, overloaded). Streaming endpoints (keepalive) answer 200 with {"error":{...}}.
struct ErrorInfo {
  std::string message;
  bool retryable = false;
};
std::optional<ErrorInfo> error_of(int status, const boost::json::value& body);

}  // namespace tend::cluster::wire
