// etcd's JSON gateway through http::Client. One Call per operation; each Call walks the endpoints
// from the one that last answered, moving on after a transport failure or a retryable answer (5xx:
// unavailable, no leader, timed out; 429), and after a whole round without an answer pauses briefly
// and goes round again while the operation's deadline allows. A leader election (about a second
// with etcd's defaults) is thus ridden out inside one operation instead of failing every claim
// made during it.

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <unordered_map>
#include <utility>

#include "cluster/etcd.hpp"
#include "cluster/wire.hpp"
#include "http/client.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace tend::cluster {

Compare Compare::absent(std::string key) { return Compare{Target::create, Result::equal, std::move(key), 0, {}}; }
Compare Compare::created_at(std::string key, Revision rev) {
  return Compare{Target::create, Result::equal, std::move(key), rev, {}};
}
Compare Compare::modified_at(std::string key, Revision rev) {
  return Compare{Target::mod, Result::equal, std::move(key), rev, {}};
}
Compare Compare::lease_is(std::string key, LeaseId lease) {
  return Compare{Target::lease, Result::equal, std::move(key), lease, {}};
}
Compare Compare::value_less(std::string key, std::string value) {
  return Compare{Target::value, Result::less, std::move(key), 0, std::move(value)};
}

Op Op::put(std::string key, std::string value, LeaseId lease) {
  Op op;
  op.kind = Kind::put;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}
Op Op::get(std::string key) {
  Op op;
  op.kind = Kind::range;
  op.key = std::move(key);
  return op;
}
Op Op::get_prefix(std::string prefix, bool keys_only) {
  Op op;
  op.kind = Kind::range;
  op.range_end = prefix_end(prefix);
  op.key = std::move(prefix);
  op.keys_only = keys_only;
  return op;
}
Op Op::del(std::string key) {
  Op op;
  op.kind = Kind::del;
  op.key = std::move(key);
  return op;
}
Op Op::del_range(std::string key, std::string range_end) {
  Op op;
  op.kind = Kind::del;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}
Op Op::nested(Txn txn) {
  Op op;
  op.kind = Kind::txn;
  op.txn = std::make_shared<const Txn>(std::move(txn));
  return op;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    const auto last = static_cast<unsigned char>(end.back());
    if (last < 0xFF) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // etcd: "\0" as range_end means "to the end of the keyspace"
}

namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr std::size_t kMaxAnswer = std::size_t{16} * 1024 * 1024;
constexpr milliseconds kFirstPause{100};
constexpr milliseconds kMaxPause{1000};
constexpr milliseconds kMinAttempt{20};  // less time left than this: give up rather than send

// "10.0.0.1:2379" of "http://10.0.0.1:2379/": what error lines name.
std::string label_of(const std::string& endpoint) {
  std::string s = endpoint;
  if (auto p = s.find("://"); p != std::string::npos) {
    s.erase(0, p + 3);
  }
  if (auto p = s.find('/'); p != std::string::npos) {
    s.erase(p);
  }
  if (auto p = s.rfind('@'); p != std::string::npos) {
    s.erase(0, p + 1);
  }
  return s;
}

// What came back from the endpoint that answered: its status and parsed body.
struct Answer {
  int status = 0;
  json::value body;
};

class Gateway final : public Etcd {
 public:
  Gateway(http::Client& http, Clock& clock, GatewayOptions options)
      : http_(http), clock_(clock), options_(std::move(options)), log_(log::get("cluster")) {
    for (auto& e : options_.endpoints) {
      while (!e.empty() && e.back() == '/') {
        e.pop_back();
      }
    }
  }
  ~Gateway() override = default;  // calls_ go: their http handles and timers are cancelled
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void txn(Txn txn, Done<TxnResult> done) override {
    call("kv/txn", json::serialize(wire::encode(txn)), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_txn(a->body));
    });
  }

  void range(std::string key, std::string range_end, bool keys_only, Done<Range> done) override {
    json::object body;
    body["key"] = wire::base64(key);
    if (!range_end.empty()) {
      body["range_end"] = wire::base64(range_end);
    }
    if (keys_only) {
      body["keys_only"] = true;
    }
    call("kv/range", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_range(a->body));
    });
  }

  void put(std::string key, std::string value, LeaseId lease, Done<Revision> done) override {
    json::object body;
    body["key"] = wire::base64(key);
    body["value"] = wire::base64(value);
    if (lease != 0) {
      body["lease"] = std::to_string(lease);
    }
    call("kv/put", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_put(a->body));
    });
  }

  void del(std::string key, std::string range_end, Done<std::int64_t> done) override {
    json::object body;
    body["key"] = wire::base64(key);
    if (!range_end.empty()) {
      body["range_end"] = wire::base64(range_end);
    }
    call("kv/deleterange", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_delete(a->body));
    });
  }

  void grant(std::chrono::seconds ttl, Done<Lease> done) override {
    json::object body;
    body["TTL"] = std::to_string(ttl.count());
    call("lease/grant", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_grant(a->body));
    });
  }

  void keepalive(LeaseId lease, Done<std::optional<std::chrono::seconds>> done) override {
    json::object body;
    body["ID"] = std::to_string(lease);
    call("lease/keepalive", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_keepalive(a->body));
    });
  }

  void time_to_live(LeaseId lease, Done<std::optional<std::chrono::seconds>> done) override {
    json::object body;
    body["ID"] = std::to_string(lease);
    call("lease/timetolive", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        return done(Error{"etcd: " + e->message});
      }
      done(wire::decode_time_to_live(a->body));
    });
  }

  void revoke(LeaseId lease, Done<bool> done) override {
    json::object body;
    body["ID"] = std::to_string(lease);
    call("lease/revoke", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        // A retried revoke whose first attempt went through lands here too: gone either way.
        if (e->message.find("lease not found") != std::string::npos) {
          return done(false);
        }
        return done(Error{"etcd: " + e->message});
      }
      done(true);
    });
  }

  void compact(Revision revision, Done<bool> done) override {
    json::object body;
    body["revision"] = std::to_string(revision);
    call("kv/compaction", json::serialize(body), [done = std::move(done)](Expected<Answer> a) {
      if (!a) {
        return done(Error{a.error()});
      }
      if (auto e = wire::error_of(a->status, a->body)) {
        if (e->message.find("has been compacted") != std::string::npos) {
          return done(false);
        }
        return done(Error{"etcd: " + e->message});
      }
      done(true);
    });
  }

 private:
  using Finish = std::function<void(Expected<Answer>)>;

  struct Call {
    std::string path;
    std::string body;
    Finish finish;
    std::size_t index = 0;  // the endpoint tried now
    std::size_t tried = 0;  // attempts so far
    MonoTime deadline;
    std::map<std::size_t, std::string> errors;  // last failure per endpoint, in endpoint order
    std::unique_ptr<http::Handle> request;
    std::unique_ptr<TimerHandle> timer;
  };

  void call(std::string path, std::string body, Finish finish) {
    const std::uint64_t id = next_id_++;
    auto c = std::make_unique<Call>();
    c->path = std::move(path);
    c->body = std::move(body);
    c->finish = std::move(finish);
    c->index = preferred_;
    c->deadline = clock_.mono_now() + options_.op_timeout;
    Call& ref = *c;
    calls_.emplace(id, std::move(c));
    if (options_.endpoints.empty()) {
      // Never call back from inside the call: the caller may not be ready for it.
      ref.timer = clock_.call_after(milliseconds(0), [this, id] { fail(id, "etcd: no endpoints"); });
      return;
    }
    attempt(id);
  }

  void attempt(std::uint64_t id) {
    Call& c = *calls_.at(id);
    const auto left = std::chrono::duration_cast<milliseconds>(c.deadline - clock_.mono_now());
    if (left < kMinAttempt && c.tried > 0) {
      give_up(id);
      return;
    }
    const std::size_t index = c.index;
    http::Request req;
    req.method = "POST";
    req.url = options_.endpoints[index] + "/v3/" + c.path;
    req.headers["Content-Type"] = "application/json";
    req.body = c.body;
    req.timeout = std::max(kMinAttempt, std::min(options_.request_timeout, left));
    req.max_body = kMaxAnswer;
    req.tls_ca = options_.tls.ca;
    req.tls_cert = options_.tls.cert;
    req.tls_key = options_.tls.key;
    ++c.tried;
    c.request =
        http_.send(std::move(req), [this, id, index](http::Response r) { on_response(id, index, std::move(r)); });
  }

  void on_response(std::uint64_t id, std::size_t index, http::Response r) {
    auto it = calls_.find(id);
    if (it == calls_.end()) {
      return;
    }
    Call& c = *it->second;
    c.request.reset();
    std::string failure;
    Answer answer;
    if (r.failure != http::Failure::none) {
      failure = r.error;
    } else if (r.body_truncated) {
      // Not worth another endpoint: they hold the same data.
      return fail(id, "etcd: answer over " + std::to_string(kMaxAnswer / (std::size_t{1024} * 1024)) + " MiB");
    } else {
      boost::system::error_code ec;
      answer.status = r.status;
      answer.body = json::parse(r.body, ec);
      if (ec) {
        answer.body = json::value();
      }
      auto error = wire::error_of(answer.status, answer.body);
      if (error && error->retryable) {
        failure = error->message;
      } else if (ec && !error) {
        return fail(id, "etcd: malformed answer (status " + std::to_string(r.status) + ")");
      } else if (ec && r.status == 404) {
        return fail(id, "etcd: " + label_of(options_.endpoints[index]) + " has no /v3/ gateway (etcd 3.4 or later?)");
      }
    }
    if (failure.empty()) {
      preferred_ = index;
      Finish finish = std::move(c.finish);
      calls_.erase(it);
      finish(std::move(answer));
      return;
    }
    c.errors[index] = std::move(failure);
    const std::size_t n = options_.endpoints.size();
    c.index = (index + 1) % n;
    const auto left = std::chrono::duration_cast<milliseconds>(c.deadline - clock_.mono_now());
    if (c.tried % n != 0) {
      attempt(id);
      return;
    }
    // A whole round failed: pause (longer each round) before the next, within the deadline.
    const std::size_t rounds = c.tried / n;
    const milliseconds pause = std::min(kMaxPause, kFirstPause * (1 << std::min<std::size_t>(rounds - 1, 4)));
    if (left < pause + kMinAttempt) {
      give_up(id);
      return;
    }
    c.timer = clock_.call_after(pause, [this, id] { attempt(id); });
  }

  void give_up(std::uint64_t id) {
    Call& c = *calls_.at(id);
    std::string text = "etcd unreachable:";
    bool first = true;
    for (const auto& [index, error] : c.errors) {
      text += first ? " " : "; ";
      text += label_of(options_.endpoints[index]) + ": " + error;
      first = false;
    }
    if (first) {
      text += " no answer in time";
    }
    log_->debug("etcd call failed path={} attempts={} error={}", c.path, c.tried, log::quote(text));
    fail(id, std::move(text));
  }

  void fail(std::uint64_t id, std::string error) {
    auto it = calls_.find(id);
    if (it == calls_.end()) {
      return;
    }
    Finish finish = std::move(it->second->finish);
    calls_.erase(it);
    finish(Error{std::move(error)});
  }

  http::Client& http_;
  Clock& clock_;
  GatewayOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Call>> calls_;
  std::uint64_t next_id_ = 1;
  std::size_t preferred_ = 0;
};

}  // namespace

std::unique_ptr<Etcd> make_gateway(http::Client& http, Clock& clock, GatewayOptions options) {
  return std::make_unique<Gateway>(http, clock, std::move(options));
}

}  // namespace tend::cluster
