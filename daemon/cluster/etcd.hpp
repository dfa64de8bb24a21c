#pragma once
// etcd's v3 key-value and lease API, asynchronous on the loop. The interface is the seam
// (Membership, Claims and the janitor take an Etcd&; tests of their state machines answer it by
// hand); make_gateway() is the real one: JSON over HTTP to etcd's gRPC gateway (/v3/...) through
// tend's http::Client, failing over between endpoints. No gRPC dependency.
//
// Every operation calls `done` exactly once, on the loop, never before it returns, and never after
// the Etcd is destroyed. Errors are one line ("etcd unreachable: 10.0.0.1:2379: connect refused;
// ...", "etcd: requested lease not found"); a compare that fails is not an error.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/settings.hpp"
#include "util/expected.hpp"

namespace tend {
class Clock;
namespace http {
class Client;
}
}  // namespace tend

namespace tend::cluster {

using Revision = std::int64_t;
using LeaseId = std::int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  std::int64_t version = 0;
  LeaseId lease = 0;  // 0: none
};

/// One compare of a transaction.
struct Compare {
  enum class Target { version, create, mod, value, lease };
  enum class Result { equal, not_equal, less, greater };
  Target target = Target::create;
  Result result = Result::equal;
  std::string key;
  std::int64_t number = 0;  // version, revision or lease id
  std::string value;        // for Target::value

  /// The key does not exist (create_revision == 0): create-if-absent.
  static Compare absent(std::string key);
  /// The key is this incarnation (created at `rev`): it was not deleted and made again since.
  static Compare created_at(std::string key, Revision rev);
  /// The key was last written at `rev`: nobody wrote it since it was read.
  static Compare modified_at(std::string key, Revision rev);
  /// The key is bound to `lease` (an absent key has lease 0).
  static Compare lease_is(std::string key, LeaseId lease);
  /// The key exists and its value is below `value` (bytewise; ISO-8601 UTC times sort so).
  static Compare value_less(std::string key, std::string value);
};

struct Txn;

/// One operation of a transaction (or of its nested transactions).
struct Op {
  enum class Kind { put, range, del, txn };
  Kind kind = Kind::range;
  std::string key;
  std::string range_end;           // "": the key alone; prefix_end(key): everything under key
  std::string value;               // put
  LeaseId lease = 0;               // put
  bool keys_only = false;          // range
  std::int64_t limit = 0;          // range; 0: no limit
  bool descending = false;         // range: by key, last first (with limit: the newest N ticks)
  std::shared_ptr<const Txn> txn;  // Kind::txn (etcd >= 3.3)

  static Op put(std::string key, std::string value, LeaseId lease = 0);
  static Op get(std::string key);
  static Op get_prefix(std::string prefix, bool keys_only = false);
  static Op del(std::string key);
  static Op del_range(std::string key, std::string range_end);
  static Op nested(Txn txn);
};

struct Txn {
  std::vector<Compare> compare;
  std::vector<Op> success;
  std::vector<Op> failure;
};

struct TxnResult;

/// What one operation of a transaction returned.
struct OpResult {
  Op::Kind kind = Op::Kind::range;
  std::vector<KeyValue> kvs;             // range
  std::int64_t count = 0;                // range: matching keys (also past a limit)
  std::int64_t deleted = 0;              // del
  std::shared_ptr<const TxnResult> txn;  // nested
};

struct TxnResult {
  bool succeeded = false;         // every compare held: `success` ran (else `failure`)
  Revision revision = 0;          // the store's revision after the transaction
  std::vector<OpResult> results;  // one per operation of the branch that ran
};

struct Range {
  std::vector<KeyValue> kvs;
  std::int64_t count = 0;
  bool more = false;
  Revision revision = 0;
};

struct Lease {
  LeaseId id = 0;
  std::chrono::seconds ttl{0};  // as granted (etcd may round it up to its minimum)
};

/// The end of the range of keys that start with `prefix` (etcd's "prefix + 1").
std::string prefix_end(const std::string& prefix);

class Etcd {
 public:
  template <class T>
  using Done = std::function<void(Expected<T>)>;

  virtual ~Etcd() = default;
  /// A transaction: if every compare holds, `success` runs, else `failure`; atomically.
  virtual void txn(Txn txn, Done<TxnResult> done) = 0;
  /// Keys from `key` (to `range_end` when not empty), linearizable.
  virtual void range(std::string key, std::string range_end, bool keys_only, Done<Range> done) = 0;
  /// Write `key`, bound to `lease` when not 0; the new revision.
  virtual void put(std::string key, std::string value, LeaseId lease, Done<Revision> done) = 0;
  /// Delete `key` (to `range_end` when not empty); how many keys went.
  virtual void del(std::string key, std::string range_end, Done<std::int64_t> done) = 0;
  /// A new lease of `ttl` (whole seconds).
  virtual void grant(std::chrono::seconds ttl, Done<Lease> done) = 0;
  /// Renew `lease`: its TTL again, or nothing when etcd no longer knows it (expired or revoked).
  virtual void keepalive(LeaseId lease, Done<std::optional<std::chrono::seconds>> done) = 0;
  /// Time `lease` has left, or nothing when etcd no longer knows it.
  virtual void time_to_live(LeaseId lease, Done<std::optional<std::chrono::seconds>> done) = 0;
  /// End `lease` now (its keys go with it); false when it was already gone.
  virtual void revoke(LeaseId lease, Done<bool> done) = 0;
  /// Drop the history before `revision`; false when it already was (by us, another host or etcd).
  virtual void compact(Revision revision, Done<bool> done) = 0;
};

struct GatewayOptions {
  std::vector<std::string> endpoints;  // base URLs; the gateway's /v3/ paths are appended
  Tls tls;
  std::chrono::milliseconds request_timeout{2000};  // one HTTP attempt
  std::chrono::milliseconds op_timeout{3000};       // one operation, fail-overs and retries included
};

/// The options a client for `settings` (resolved) uses.
GatewayOptions gateway_options(const Settings& settings);

/// The real client: etcd's JSON gateway over `http`. A transport failure or a 5xx answer moves to
/// the next endpoint (and, after a whole round, retries after a short pause while op_timeout
/// allows); the endpoint that answered is tried first next time. Retried writes must be
/// idempotent or recognise their own earlier success (Claims' transactions do).
std::unique_ptr<Etcd> make_gateway(http::Client& http, Clock& clock, GatewayOptions options);

}  // namespace tend::cluster
