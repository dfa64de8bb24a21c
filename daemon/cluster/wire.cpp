#include "cluster/wire.hpp"

#include <array>
#include <boost/json/array.hpp>
#include <charconv>
#include <utility>

namespace tend::cluster::wire {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char* target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::version:
      return "VERSION";
    case Compare::Target::create:
      return "CREATE";
    case Compare::Target::mod:
      return "MOD";
    case Compare::Target::value:
      return "VALUE";
    case Compare::Target::lease:
      return "LEASE";
  }
  return "CREATE";
}

const char* result_name(Compare::Result r) {
  switch (r) {
    case Compare::Result::equal:
      return "EQUAL";
    case Compare::Result::not_equal:
      return "NOT_EQUAL";
    case Compare::Result::less:
      return "LESS";
    case Compare::Result::greater:
      return "GREATER";
  }
  return "EQUAL";
}

json::object encode_compare(const Compare& c) {
  json::object o;
  o["target"] = target_name(c.target);
  o["result"] = result_name(c.result);
  o["key"] = base64(c.key);
  const std::string n = std::to_string(c.number);
  switch (c.target) {
    case Compare::Target::version:
      o["version"] = n;
      break;
    case Compare::Target::create:
      o["create_revision"] = n;
      break;
    case Compare::Target::mod:
      o["mod_revision"] = n;
      break;
    case Compare::Target::value:
      o["value"] = base64(c.value);
      break;
    case Compare::Target::lease:
      o["lease"] = n;
      break;
  }
  return o;
}

json::array encode_ops(const std::vector<Op>& ops) {
  json::array a;
  a.reserve(ops.size());
  for (const auto& op : ops) {
    a.emplace_back(wire::encode(op));
  }
  return a;
}

const json::object* object_field(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

const json::object* as_object(const json::value& v) { return v.is_object() ? &v.get_object() : nullptr; }

Revision header_revision(const json::object& o) {
  const json::object* h = object_field(o, "header");
  return h != nullptr ? int_field(*h, "revision") : 0;
}

std::string string_field(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

bool bool_field(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_bool() && it->value().get_bool();
}

Error malformed(std::string_view what) { return Error{"etcd: malformed answer (" + std::string(what) + ")"}; }

Expected<KeyValue> decode_kv(const json::value& v) {
  const json::object* o = as_object(v);
  if (o == nullptr) {
    return malformed("kv");
  }
  KeyValue kv;
  auto key = unbase64(string_field(*o, "key"));
  auto value = unbase64(string_field(*o, "value"));
  if (!key || !value) {
    return malformed("base64");
  }
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  kv.create_revision = int_field(*o, "create_revision");
  kv.mod_revision = int_field(*o, "mod_revision");
  kv.version = int_field(*o, "version");
  kv.lease = int_field(*o, "lease");
  return kv;
}

Expected<std::vector<KeyValue>> decode_kvs(const json::object& o) {
  std::vector<KeyValue> out;
  auto it = o.find("kvs");
  if (it == o.end()) {
    return out;
  }
  if (!it->value().is_array()) {
    return malformed("kvs");
  }
  out.reserve(it->value().get_array().size());
  for (const auto& item : it->value().get_array()) {
    auto kv = decode_kv(item);
    if (!kv) {
      return Error{kv.error()};
    }
    out.push_back(std::move(*kv));
  }
  return out;
}

Expected<TxnResult> decode_txn_object(const json::object& o) {
  TxnResult r;
  r.succeeded = bool_field(o, "succeeded");
  r.revision = header_revision(o);
  auto it = o.find("responses");
  if (it == o.end()) {
    return r;
  }
  if (!it->value().is_array()) {
    return malformed("responses");
  }
  for (const auto& item : it->value().get_array()) {
    const json::object* resp = as_object(item);
    if (resp == nullptr) {
      return malformed("response");
    }
    OpResult op;
    if (const json::object* put = object_field(*resp, "response_put")) {
      (void)put;
      op.kind = Op::Kind::put;
    } else if (const json::object* range = object_field(*resp, "response_range")) {
      op.kind = Op::Kind::range;
      auto kvs = decode_kvs(*range);
      if (!kvs) {
        return Error{kvs.error()};
      }
      op.kvs = std::move(*kvs);
      op.count = int_field(*range, "count");
    } else if (const json::object* del = object_field(*resp, "response_delete_range")) {
      op.kind = Op::Kind::del;
      op.deleted = int_field(*del, "deleted");
    } else if (const json::object* nested = object_field(*resp, "response_txn")) {
      op.kind = Op::Kind::txn;
      auto inner = decode_txn_object(*nested);
      if (!inner) {
        return Error{inner.error()};
      }
      op.txn = std::make_shared<const TxnResult>(std::move(*inner));
    } else {
      return malformed("unknown response");
    }
    r.results.push_back(std::move(op));
  }
  return r;
}

}  // namespace

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U) |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += kAlphabet[n & 63U];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
    if (rest == 2) {
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
    }
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += rest == 2 ? kAlphabet[(n >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) {
      return std::nullopt;
    }
    acc = (acc << 6U) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

json::object encode(const Op& op) {
  json::object body;
  switch (op.kind) {
    case Op::Kind::put: {
      json::object put;
      put["key"] = base64(op.key);
      put["value"] = base64(op.value);
      if (op.lease != 0) {
        put["lease"] = std::to_string(op.lease);
      }
      body["request_put"] = std::move(put);
      break;
    }
    case Op::Kind::range: {
      json::object range;
      range["key"] = base64(op.key);
      if (!op.range_end.empty()) {
        range["range_end"] = base64(op.range_end);
      }
      if (op.keys_only) {
        range["keys_only"] = true;
      }
      if (op.limit > 0) {
        range["limit"] = std::to_string(op.limit);
      }
      if (op.descending) {
        range["sort_order"] = "DESCEND";
        range["sort_target"] = "KEY";
      }
      body["request_range"] = std::move(range);
      break;
    }
    case Op::Kind::del: {
      json::object del;
      del["key"] = base64(op.key);
      if (!op.range_end.empty()) {
        del["range_end"] = base64(op.range_end);
      }
      body["request_delete_range"] = std::move(del);
      break;
    }
    case Op::Kind::txn:
      body["request_txn"] = op.txn ? encode(*op.txn) : json::object();
      break;
  }
  return body;
}

json::object encode(const Txn& txn) {
  json::object o;
  json::array compare;
  for (const auto& c : txn.compare) {
    compare.emplace_back(encode_compare(c));
  }
  o["compare"] = std::move(compare);
  o["success"] = encode_ops(txn.success);
  o["failure"] = encode_ops(txn.failure);
  return o;
}

std::int64_t int_field(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) {
    return 0;
  }
  const json::value& v = it->value();
  if (v.is_int64()) {
    return v.get_int64();
  }
  if (v.is_uint64()) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_string()) {
    const auto& s = v.get_string();
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size()) {
      return n;
    }
  }
  return 0;
}

Expected<TxnResult> decode_txn(const json::value& body) {
  const json::object* o = as_object(body);
  if (o == nullptr) {
    return malformed("txn");
  }
  return decode_txn_object(*o);
}

Expected<Range> decode_range(const json::value& body) {
  const json::object* o = as_object(body);
  if (o == nullptr) {
    return malformed("range");
  }
  auto kvs = decode_kvs(*o);
  if (!kvs) {
    return Error{kvs.error()};
  }
  Range r;
  r.kvs = std::move(*kvs);
  r.count = int_field(*o, "count");
  r.more = bool_field(*o, "more");
  r.revision = header_revision(*o);
  return r;
}

Expected<Revision> decode_put(const json::value& body) {
  const json::object* o = as_object(body);
  if (o == nullptr) {
    return malformed("put");
  }
  return header_revision(*o);
}

Expected<std::int64_t> decode_delete(const json::value& body) {
  const json::object* o = as_object(body);
  if (o == nullptr) {
    return malformed("deleterange");
  }
  return int_field(*o, "deleted");
}

Expected<Lease> decode_grant(const json::value& body) {
  const json::object* o = as_object(body);
  if (o == nullptr) {
    return malformed("grant");
  }
  if (auto error = string_field(*o, "error"); !error.empty()) {
    return Error{"etcd: " + error};
  }
  Lease l;
  l.id = int_field(*o, "ID");
  l.ttl = std::chrono::seconds(int_field(*o, "TTL"));
  if (l.id == 0 || l.ttl.count() <= 0) {
    return malformed("grant without ID or TTL");
  }
  return l;
}

Expected<std::optional<std::chrono::seconds>> decode_keepalive(const json::value& body) {
  const json::object* o = as_object(body);
  const json::object* result = o != nullptr ? object_field(*o, "result") : nullptr;
  if (result == nullptr) {
    return malformed("keepalive");
  }
  const std::int64_t ttl = int_field(*result, "TTL");
  return ttl > 0 ? std::optional<std::chrono::seconds>(ttl) : std::nullopt;
}

Expected<std::optional<std::chrono::seconds>> decode_time_to_live(const json::value& body) {
  const json::object* o = as_object(body);
  if (o == nullptr) {
    return malformed("timetolive");
  }
  const std::int64_t ttl = int_field(*o, "TTL");
  // -1: unknown lease. 0 is a lease in its last second, not yet revoked: still there.
  return ttl >= 0 ? std::optional<std::chrono::seconds>(ttl) : std::nullopt;
}

std::optional<ErrorInfo> error_of(int status, const json::value& body) {
  const json::object* o = as_object(body);
  std::string message;
  int http_code = status;
  if (o != nullptr) {
    auto it = o->find("error");
    if (it != o->end() && it->value().is_string()) {
      message = std::string(it->value().get_string());
    } else if (it != o->end() && it->value().is_object()) {
      // A streaming endpoint's error: HTTP 200, the real status inside.
      const auto& e = it->value().get_object();
      message = string_field(e, "message");
      http_code = static_cast<int>(int_field(e, "http_code"));
      if (message.empty() && http_code == 0) {
        return std::nullopt;
      }
    }
  }
  if (message.empty() && status >= 200 && status < 300) {
    return std::nullopt;
  }
  constexpr std::string_view kServerPrefix = "etcdserver: ";
  if (message.rfind(kServerPrefix, 0) == 0) {
    message.erase(0, kServerPrefix.size());
  }
  for (char& c : message) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  if (message.empty()) {
    message = "status " + std::to_string(http_code);
  }
  // 5xx: unavailable, no leader, timed out; 429: too many requests; 408: cancelled.
  const bool retryable = http_code >= 500 || http_code == 429 || http_code == 408;
  return ErrorInfo{std::move(message), retryable};
}

}  // namespace tend::cluster::wire
