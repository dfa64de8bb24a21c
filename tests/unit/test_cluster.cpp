// Cluster mode's etcd foundation. Three tiers in one file:
//   [cluster]         pure parts (gateway JSON, keys, settings), no server;
//   [cluster][fake]   the gateway's fail-over on FakeHttp and the membership state machine on a
//                     scripted FakeEtcd, both in virtual time (ManualClock);
//   [cluster][etcd]   Membership, Claims and the janitor against a real 3-member etcd cluster
//                     (tests/support/etcd_cluster.hpp: Debian's etcd on loopback, by PID).
// Each simulated host has its own io_context, so "pausing" a host (not running its loop) is what
// SIGSTOP does to a tendd: its timers and sockets wait. Waiting is polling with deadlines.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/batch.hpp"
#include "cluster/claims.hpp"
#include "cluster/etcd.hpp"
#include "cluster/janitor.hpp"
#include "cluster/keys.hpp"
#include "cluster/membership.hpp"
#include "cluster/node.hpp"
#include "cluster/settings.hpp"
#include "cluster/wire.hpp"
#include "http/client.hpp"
#include "support/etcd_cluster.hpp"
#include "support/fake_etcd.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"
#include "support/test_pki.hpp"
#include "util/clock.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace cluster = tend::cluster;
using namespace std::chrono_literals;
using cluster::Change;
using cluster::Claim;
using cluster::ClaimResult;
using cluster::Compare;
using cluster::Fence;
using cluster::Op;
using cluster::Outcome;
using cluster::Txn;
using std::chrono::milliseconds;
using tend::Error;
using tend::Expected;
using tend::testing::FakeEtcd;
using tend::testing::FakeHttp;
using tend::testing::ManualClock;
using SteadyClock = std::chrono::steady_clock;

namespace {

tend::WallTime at(const char* iso) { return *tend::parse_iso8601(iso); }

// The current second: ticks near now (a regular claim refuses ticks older than run_retention / 2).
tend::WallTime this_second() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string tick(tend::WallTime t) { return cluster::tick_id(t); }

json::value parse(const std::string& s) { return json::parse(s); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// --- pure parts -------------------------------------------------------------------------------------

TEST_CASE("base64 both ways, every padding length and binary bytes", "[cluster]") {
  using cluster::wire::base64;
  using cluster::wire::unbase64;
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("/tend/ticks/a") == "L3RlbmQvdGlja3MvYQ==");
  const std::string binary("\x00\xff\x10\x80 z", 6);
  CHECK(unbase64(base64(binary)) == binary);
  for (std::size_t n = 0; n < 10; ++n) {
    const std::string s(n, 'x');
    CHECK(unbase64(base64(s)) == s);
  }
  CHECK_FALSE(unbase64("Zm9v!").has_value());
  CHECK_FALSE(unbase64("Z").has_value());
}

TEST_CASE("transactions are encoded as the gateway expects", "[cluster]") {
  Txn inner;
  inner.compare.push_back(Compare::value_less("m", "2026-01-01T00:00:02Z"));
  inner.success.push_back(Op::put("m", "2026-01-01T00:00:02Z"));
  Txn t;
  t.compare = {Compare::absent("a"), Compare::lease_is("a", 42), Compare::created_at("a", 7),
               Compare::modified_at("b", 9)};
  t.success = {Op::put("a", "v", 42), Op::del("b"), Op::nested(inner)};
  Op range = Op::get_prefix("/p/", true);
  range.limit = 5;
  range.descending = true;
  t.failure = {range};
  const json::value v = cluster::wire::encode(t);
  const auto& c = v.at("compare").as_array();
  CHECK(c.at(0).at("target") == "CREATE");
  CHECK(c.at(0).at("create_revision") == "0");
  CHECK(c.at(0).at("key") == "YQ==");
  CHECK(c.at(1).at("target") == "LEASE");
  CHECK(c.at(1).at("lease") == "42");
  CHECK(c.at(2).at("create_revision") == "7");
  CHECK(c.at(3).at("target") == "MOD");
  CHECK(c.at(3).at("mod_revision") == "9");
  const auto& s = v.at("success").as_array();
  CHECK(s.at(0).at("request_put").at("lease") == "42");
  CHECK(s.at(0).at("request_put").at("value") == "dg==");
  CHECK(s.at(1).at("request_delete_range").at("key") == "Yg==");
  const auto& nested = s.at(2).at("request_txn");
  CHECK(nested.at("compare").at(0).at("target") == "VALUE");
  CHECK(nested.at("compare").at(0).at("result") == "LESS");
  const auto& r = v.at("failure").at(0).at("request_range");
  CHECK(r.at("range_end").as_string() == cluster::wire::base64("/p0"));
  CHECK(r.at("keys_only") == true);
  CHECK(r.at("limit") == "5");
  CHECK(r.at("sort_order") == "DESCEND");
}

TEST_CASE("gateway answers are decoded: strings for int64, absent defaults, nested txns", "[cluster]") {
  // Verbatim from etcd 3.4.23 (Debian 12).
  auto won = cluster::wire::decode_txn(parse(
      R"({"header":{"cluster_id":"3249","member_id":"3319","revision":"2","raft_term":"2"},"succeeded":true,)"
      R"("responses":[{"response_put":{"header":{"revision":"2"}}},{"response_txn":{"header":{},"responses":[)"
      R"({"response_txn":{"header":{},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}}]}}]}}]})"));
  REQUIRE(won.ok());
  CHECK(won->succeeded);
  CHECK(won->revision == 2);
  REQUIRE(won->results.size() == 2);
  CHECK(won->results[0].kind == Op::Kind::put);
  REQUIRE(won->results[1].txn);
  CHECK_FALSE(won->results[1].txn->succeeded);
  REQUIRE(won->results[1].txn->results.at(0).txn);
  CHECK(won->results[1].txn->results.at(0).txn->succeeded);

  auto lost = cluster::wire::decode_txn(
      parse(R"({"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},"kvs":[{"key":)"
            R"("L3QvdGlja3MvYQ==","create_revision":"2","mod_revision":"3","version":"1","value":"aGVsbG8=",)"
            R"("lease":"2324035751736371978"}],"count":"1"}},{"response_range":{"header":{"revision":"2"}}}]})"));
  REQUIRE(lost.ok());
  CHECK_FALSE(lost->succeeded);
  REQUIRE(lost->results.size() == 2);
  const auto& kv = lost->results[0].kvs.at(0);
  CHECK(kv.key == "/t/ticks/a");
  CHECK(kv.value == "hello");
  CHECK(kv.create_revision == 2);
  CHECK(kv.mod_revision == 3);
  CHECK(kv.lease == 2324035751736371978);
  CHECK(lost->results[0].count == 1);
  CHECK(lost->results[1].kvs.empty());

  auto grant = cluster::wire::decode_grant(parse(R"({"header":{},"ID":"2324035751784563213","TTL":"2"})"));
  REQUIRE(grant.ok());
  CHECK(grant->id == 2324035751784563213);
  CHECK(grant->ttl == 2s);

  auto alive = cluster::wire::decode_keepalive(parse(R"({"result":{"header":{},"ID":"7","TTL":"30"}})"));
  REQUIRE(alive.ok());
  CHECK(alive->value() == 30s);
  auto gone = cluster::wire::decode_keepalive(parse(R"({"result":{"header":{},"ID":"7"}})"));
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
  auto unknown = cluster::wire::decode_time_to_live(parse(R"({"header":{},"ID":"7","TTL":"-1"})"));
  REQUIRE(unknown.ok());
  CHECK_FALSE(unknown->has_value());

  auto deleted = cluster::wire::decode_delete(parse(R"({"header":{"revision":"9"},"deleted":"3"})"));
  REQUIRE(deleted.ok());
  CHECK(*deleted == 3);
  CHECK_FALSE(cluster::wire::decode_txn(parse(R"({"responses":[{"response_what":{}}]})")).ok());
  CHECK_FALSE(cluster::wire::decode_range(parse(R"({"kvs":[{"key":"!!"}]})")).ok());
}

TEST_CASE("gateway errors: one line, etcd's words, retryable or not", "[cluster]") {
  using cluster::wire::error_of;
  auto not_found = error_of(404, parse(R"({"error":"etcdserver: requested lease not found","code":5})"));
  REQUIRE(not_found);
  CHECK(not_found->message == "requested lease not found");
  CHECK_FALSE(not_found->retryable);
  auto no_leader = error_of(503, parse(R"({"error":"etcdserver: no leader","code":14})"));
  REQUIRE(no_leader);
  CHECK(no_leader->retryable);
  // A streaming endpoint (keepalive) answers 200 with the real status inside.
  auto stream = error_of(200, parse(R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})"));
  REQUIRE(stream);
  CHECK(stream->message == "no leader");
  CHECK(stream->retryable);
  CHECK_FALSE(error_of(200, parse(R"({"header":{}})")));
  auto bare = error_of(502, json::value());
  REQUIRE(bare);
  CHECK(bare->message == "status 502");
  CHECK(bare->retryable);
}

TEST_CASE("keys: layout under the prefix, ticks sortable, parsing back", "[cluster]") {
  const cluster::Keys k("/tend/prod");
  CHECK(k.prefix() == "/tend/prod/");
  CHECK(cluster::Keys("/tend/prod/").prefix() == "/tend/prod/");
  const std::string tick = cluster::tick_id(at("2026-11-21T10:00:03Z"));
  CHECK(tick == "2026-11-21T10:00:03Z");
  CHECK(k.tick("backup", tick) == "/tend/prod/ticks/backup/2026-11-21T10:00:03Z");
  CHECK(k.open("backup", tick) == "/tend/prod/open/backup/2026-11-21T10:00:03Z");
  CHECK(k.run("backup", tick) == "/tend/prod/runs/backup/2026-11-21T10:00:03Z");
  CHECK(k.member("web-1") == "/tend/prod/members/web-1");
  CHECK(k.last_tick("backup") == "/tend/prod/jobs/backup/last_tick");
  CHECK(k.notification("n1") == "/tend/prod/notifications/n1");
  CHECK(cluster::Keys::split(k.tick("backup", tick), k.ticks()) == std::make_pair(std::string("backup"), tick));
  CHECK_FALSE(cluster::Keys::split("/tend/prod/ticks/backup", k.ticks()).has_value());
  CHECK_FALSE(cluster::Keys::split("/other/ticks/a/b", k.ticks()).has_value());
  CHECK(k.job_of_marker(k.last_tick("backup")) == "backup");
  CHECK_FALSE(k.job_of_marker("/tend/prod/jobs/backup/other").has_value());
  // Time order is key order, so "before the cutoff" is one key range.
  CHECK(cluster::tick_id(at("2026-11-21T09:59:59Z")) < tick);
  CHECK(cluster::tick_id(at("2026-11-21T10:00:10Z")) > tick);
  CHECK(cluster::prefix_end("/a/") == "/a0");
  CHECK(cluster::prefix_end(std::string("a\xff", 2)) == "b");
}

TEST_CASE("settings: validation names the key, derived values follow the TTL", "[cluster]") {
  cluster::Settings s;
  s.endpoints = {"http://127.0.0.1:2379"};
  s.node = "web-1";
  CHECK_FALSE(cluster::validate(s).has_value());
  auto bad = s;
  bad.endpoints.clear();
  CHECK(contains(cluster::validate(bad).value_or(""), "cluster.etcd"));
  bad = s;
  bad.endpoints = {"10.0.0.1:2379"};
  CHECK(contains(cluster::validate(bad).value_or(""), "not an http"));
  bad = s;
  bad.node = "web 1";
  CHECK(contains(cluster::validate(bad).value_or(""), "cluster.node"));
  bad = s;
  bad.lease_ttl = 1s;
  CHECK(contains(cluster::validate(bad).value_or(""), "cluster.lease_ttl"));
  bad = s;
  bad.lease_ttl = 2500ms;
  CHECK(contains(cluster::validate(bad).value_or(""), "whole seconds"));
  bad = s;
  bad.tls.cert = "/c.pem";
  CHECK(contains(cluster::validate(bad).value_or(""), "cluster.tls"));
  bad = s;
  bad.prefix = "tend";
  CHECK(contains(cluster::validate(bad).value_or(""), "cluster.prefix"));

  const auto r = cluster::resolve(s);
  CHECK(r.prefix == "/tend/");
  CHECK(r.request_timeout == 2s);
  CHECK(r.op_timeout == milliseconds(3333));
  CHECK(r.sweep_interval == 1s);
  auto fast = s;
  fast.lease_ttl = 2s;
  const auto f = cluster::resolve(fast);
  CHECK(f.request_timeout == 500ms);
  CHECK(f.sweep_interval == 200ms);
}

// --- the gateway's fail-over, on FakeHttp in virtual time ----------------------------------------------

namespace {

tend::http::Response status(int code, std::string body) { return FakeHttp::ok(code, std::move(body)); }

struct GatewayRig {
  GatewayRig() {
    cluster::GatewayOptions o;
    o.endpoints = {"http://a:1", "http://b:2/", "http://c:3"};
    o.request_timeout = 1s;
    o.op_timeout = 3s;
    o.tls = {"/ca.pem", "/cert.pem", "/key.pem"};
    etcd = cluster::make_gateway(http, clock, o);
  }
  // The URL of the request waiting now ("" when none).
  std::string waiting_url() const {
    for (const auto& p : http.pending) {
      if (!p->cancelled) {
        return p->request.url;
      }
    }
    return "";
  }
  FakeHttp http;
  ManualClock clock{at("2026-01-01T00:00:00Z")};
  std::unique_ptr<cluster::Etcd> etcd;
};

}  // namespace

TEST_CASE("gateway: a refused or 5xx endpoint fails over, and the one that answered is tried first",
          "[cluster][fake]") {
  GatewayRig rig;
  std::optional<Expected<cluster::Revision>> put;
  rig.etcd->put("k", "v", 0, [&](Expected<cluster::Revision> r) { put = std::move(r); });
  REQUIRE(rig.http.pending.size() == 1);
  const auto& first = rig.http.pending.front()->request;
  CHECK(first.url == "http://a:1/v3/kv/put");
  CHECK(first.method == "POST");
  CHECK(first.timeout == 1s);
  CHECK(first.tls_ca == "/ca.pem");
  CHECK(first.tls_cert == "/cert.pem");
  CHECK(first.tls_key == "/key.pem");
  const auto body = parse(first.body);
  CHECK(body.at("key") == "aw==");
  CHECK(body.at("value") == "dg==");
  REQUIRE(rig.http.answer(FakeHttp::refused()));
  CHECK(rig.waiting_url() == "http://b:2/v3/kv/put");  // trailing slash of the endpoint dropped
  CHECK_FALSE(put.has_value());
  REQUIRE(rig.http.answer(status(200, R"({"header":{"revision":"5"}})")));
  REQUIRE(put.has_value());
  REQUIRE(put->ok());
  CHECK(**put == 5);

  // b answered last: it goes first now; its "no leader" moves on to c.
  std::optional<Expected<cluster::Range>> range;
  rig.etcd->range("k", "", false, [&](Expected<cluster::Range> r) { range = std::move(r); });
  CHECK(rig.waiting_url() == "http://b:2/v3/kv/range");
  REQUIRE(rig.http.answer(status(503, R"({"error":"etcdserver: no leader","code":14})")));
  CHECK(rig.waiting_url() == "http://c:3/v3/kv/range");
  REQUIRE(
      rig.http.answer(status(200, R"({"header":{"revision":"6"},"kvs":[{"key":"aw==","value":"dg=="}],"count":"1"})")));
  REQUIRE(range.has_value());
  REQUIRE(range->ok());
  CHECK((*range)->kvs.at(0).value == "v");

  // A keepalive's error arrives inside a 200 (streaming endpoint): also a reason to move on.
  std::optional<Expected<std::optional<std::chrono::seconds>>> alive;
  rig.etcd->keepalive(7, [&](auto r) { alive = std::move(r); });
  CHECK(rig.waiting_url() == "http://c:3/v3/lease/keepalive");
  REQUIRE(
      rig.http.answer(status(200, R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})")));
  CHECK(rig.waiting_url() == "http://a:1/v3/lease/keepalive");
  REQUIRE(rig.http.answer(status(200, R"({"result":{"header":{},"ID":"7","TTL":"9"}})")));
  REQUIRE(alive.has_value());
  REQUIRE(alive->ok());
  CHECK(alive->value() == 9s);
}

TEST_CASE("gateway: etcd's own refusals are answers, not reasons to fail over", "[cluster][fake]") {
  GatewayRig rig;
  std::optional<Expected<bool>> revoked;
  rig.etcd->revoke(7, [&](Expected<bool> r) { revoked = std::move(r); });
  REQUIRE(rig.http.answer(status(404, R"({"error":"etcdserver: requested lease not found","code":5})")));
  REQUIRE(revoked.has_value());
  REQUIRE(revoked->ok());
  CHECK_FALSE(**revoked);  // already gone: not an error
  CHECK(rig.http.pending.empty());

  std::optional<Expected<cluster::TxnResult>> txn;
  rig.etcd->txn(Txn{}, [&](Expected<cluster::TxnResult> r) { txn = std::move(r); });
  REQUIRE(rig.http.answer(status(400, R"({"error":"etcdserver: duplicate key given in txn request","code":3})")));
  REQUIRE(txn.has_value());
  REQUIRE_FALSE(txn->ok());
  CHECK(txn->error() == "etcd: duplicate key given in txn request");
  CHECK(rig.http.pending.empty());

  std::optional<Expected<bool>> compacted;
  rig.etcd->compact(3, [&](Expected<bool> r) { compacted = std::move(r); });
  REQUIRE(
      rig.http.answer(status(400, R"({"error":"etcdserver: mvcc: required revision has been compacted","code":11})")));
  REQUIRE(compacted.has_value());
  REQUIRE(compacted->ok());
  CHECK_FALSE(**compacted);

  std::optional<Expected<cluster::Lease>> grant;
  rig.etcd->grant(5s, [&](Expected<cluster::Lease> r) { grant = std::move(r); });
  REQUIRE(rig.http.answer(status(404, "404 page not found\n")));
  REQUIRE(grant.has_value());
  REQUIRE_FALSE(grant->ok());
  CHECK(contains(grant->error(), "no /v3/ gateway"));
}

TEST_CASE("gateway: with every endpoint down it goes round again until the deadline, then names them all",
          "[cluster][fake]") {
  GatewayRig rig;
  std::optional<Expected<cluster::Lease>> grant;
  rig.etcd->grant(5s, [&](Expected<cluster::Lease> r) { grant = std::move(r); });
  int attempts = 0;
  std::set<std::string> hosts;
  for (int step = 0; step < 200 && !grant.has_value(); ++step) {
    if (!rig.http.pending.empty()) {
      hosts.insert(rig.waiting_url().substr(0, 10));
      ++attempts;
      rig.http.answer(attempts % 2 == 0 ? FakeHttp::refused()
                                        : status(503, R"({"error":"etcdserver: request timed out","code":14})"));
    } else {
      rig.clock.advance(50ms);  // the pause between rounds
    }
  }
  REQUIRE(grant.has_value());
  REQUIRE_FALSE(grant->ok());
  CHECK(attempts >= 9);  // three rounds at least within 3 s of pauses 100, 200, 400, 800 ms
  CHECK(hosts.size() == 3);
  CHECK(grant->error().rfind("etcd unreachable: a:1: ", 0) == 0);
  CHECK(contains(grant->error(), "; b:2: "));
  CHECK(contains(grant->error(), "; c:3: "));
  CHECK(grant->error().find('\n') == std::string::npos);
}

TEST_CASE("gateway: destroyed with calls in flight, it never calls back", "[cluster][fake]") {
  GatewayRig rig;
  bool called = false;
  rig.etcd->put("k", "v", 0, [&](Expected<cluster::Revision>) { called = true; });
  rig.etcd->grant(5s, [&](Expected<cluster::Lease>) { called = true; });
  REQUIRE(rig.http.answer(FakeHttp::refused()));  // the put now waits on b
  rig.etcd.reset();
  for (auto& p : rig.http.pending) {
    CHECK(p->cancelled);
  }
  rig.clock.advance(10s);
  CHECK_FALSE(called);
}

// --- the membership state machine, on a scripted etcd in virtual time ----------------------------------

namespace {

struct MembershipRig {
  explicit MembershipRig(std::chrono::seconds ttl = 9s) {
    settings.endpoints = {"http://127.0.0.1:2379"};
    settings.node = "web-1";
    settings.prefix = "/t/";
    settings.lease_ttl = ttl;
    membership =
        std::make_unique<cluster::Membership>(etcd, clock, settings, cluster::Identity{"web-1.example", "0.1"});
    membership->subscribe([this](const Change& c) { changes.push_back(c); });
  }
  // Answer the pending grant with `id`, then the registration txn as won.
  void grant_and_register(cluster::LeaseId id) {
    REQUIRE(etcd.grants.size() == 1);
    FakeEtcd::take(etcd.grants)
        .done(cluster::Lease{id, settings.lease_ttl.count() == 0
                                     ? 9s
                                     : std::chrono::duration_cast<std::chrono::seconds>(settings.lease_ttl)});
    REQUIRE(etcd.txns.size() == 1);
    auto reg = FakeEtcd::take(etcd.txns);
    REQUIRE(reg.txn.success.size() == 1);
    CHECK(reg.txn.success[0].key == "/t/members/web-1");
    CHECK(reg.txn.success[0].lease == id);
    CHECK(reg.txn.compare.at(0).target == Compare::Target::create);
    const auto value = parse(reg.txn.success[0].value);
    CHECK(value.at("node") == "web-1");
    CHECK(value.at("host") == "web-1.example");
    cluster::TxnResult won;
    won.succeeded = true;
    reg.done(won);
  }
  FakeEtcd etcd;
  ManualClock clock{at("2026-01-01T00:00:00Z")};
  cluster::Settings settings;
  std::unique_ptr<cluster::Membership> membership;
  std::vector<Change> changes;
};

}  // namespace

TEST_CASE("membership: joins, renews every ttl/3 from the loop, and holds the lease meanwhile", "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  CHECK(rig.membership->state() == cluster::State::joining);
  rig.grant_and_register(7);
  REQUIRE(rig.changes.size() == 1);
  CHECK(rig.changes[0].kind == Change::Kind::joined);
  CHECK(rig.changes[0].lease == 7);
  CHECK(rig.membership->holds(7));
  CHECK_FALSE(rig.membership->holds(8));
  for (int i = 0; i < 5; ++i) {
    rig.clock.advance(2999ms);
    CHECK(rig.etcd.keepalives.empty());
    rig.clock.advance(1ms);
    REQUIRE(rig.etcd.keepalives.size() == 1);
    auto ka = FakeEtcd::take(rig.etcd.keepalives);
    CHECK(ka.lease == 7);
    ka.done(std::optional<std::chrono::seconds>(9s));
    CHECK(rig.membership->holds(7));
    CHECK(rig.membership->lease_left() == 9s);
  }
  CHECK(rig.changes.size() == 1);
}

TEST_CASE("membership: etcd forgetting the lease is degraded at once, then a new lease is rejoined",
          "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  rig.grant_and_register(7);
  rig.clock.advance(3s);
  REQUIRE(rig.etcd.keepalives.size() == 1);
  FakeEtcd::take(rig.etcd.keepalives).done(std::optional<std::chrono::seconds>());  // lease not found
  REQUIRE(rig.changes.size() == 2);
  CHECK(rig.changes[1].kind == Change::Kind::degraded);
  CHECK(contains(rig.changes[1].reason, "lease lost"));
  CHECK_FALSE(rig.membership->holds(7));
  CHECK(rig.membership->lease() == 0);
  rig.clock.advance(0ms);  // the new grant starts on the next turn
  rig.grant_and_register(8);
  REQUIRE(rig.changes.size() == 3);
  CHECK(rig.changes[2].kind == Change::Kind::rejoined);
  CHECK(rig.changes[2].lease == 8);
  CHECK(rig.membership->holds(8));
  CHECK_FALSE(rig.membership->holds(7));  // never the old lease again
  REQUIRE(rig.etcd.revokes.size() == 1);  // the old one is revoked: its claims go now
  CHECK(rig.etcd.revokes.front().lease == 7);
}

TEST_CASE("membership: etcd unreachable keeps the lease until its local deadline, then degraded", "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  rig.grant_and_register(7);
  // The last confirmed renewal was sent at t=3s: the lease is held until t=12s, not a moment more.
  rig.clock.advance(3s);
  FakeEtcd::take(rig.etcd.keepalives).done(std::optional<std::chrono::seconds>(9s));
  int failures = 0;
  while (rig.membership->holds(7)) {
    if (!rig.etcd.keepalives.empty()) {
      FakeEtcd::take(rig.etcd.keepalives).done(Error{"etcd unreachable: 127.0.0.1:2379: connect refused"});
      ++failures;
    }
    rig.clock.advance(100ms);
    REQUIRE(rig.clock.mono_now() - (tend::MonoTime{} + 1000h) <= 13s);
  }
  CHECK(rig.clock.mono_now() - (tend::MonoTime{} + 1000h) == 12s);
  CHECK(failures >= 10);  // retried every 500 ms meanwhile, not every 3 s
  REQUIRE(rig.changes.size() == 2);
  CHECK(rig.changes[1].kind == Change::Kind::degraded);
  CHECK(contains(rig.changes[1].reason, "not renewed within its TTL"));
  CHECK(contains(rig.changes[1].reason, "connect refused"));
  // Trying again for a new lease while etcd stays away: degraded once, not once per attempt.
  for (int i = 0; i < 5; ++i) {
    rig.clock.advance(3s);
    if (!rig.etcd.grants.empty()) {
      FakeEtcd::take(rig.etcd.grants).done(Error{"etcd unreachable: 127.0.0.1:2379: connect refused"});
    }
  }
  CHECK(rig.changes.size() == 2);
}

TEST_CASE("membership: unreachable at start is degraded; the first success is joined, not rejoined",
          "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  FakeEtcd::take(rig.etcd.grants).done(Error{"etcd unreachable: 127.0.0.1:2379: connect refused"});
  REQUIRE(rig.changes.size() == 1);
  CHECK(rig.changes[0].kind == Change::Kind::degraded);
  CHECK(rig.membership->state() == cluster::State::degraded);
  rig.clock.advance(3s);
  rig.grant_and_register(9);
  REQUIRE(rig.changes.size() == 2);
  CHECK(rig.changes[1].kind == Change::Kind::joined);
}

TEST_CASE("membership: its own name held by a live stranger is degraded after the restart grace", "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  auto answer_conflict = [&] {
    cluster::TxnResult lost;
    cluster::OpResult range;
    cluster::KeyValue kv;
    kv.key = "/t/members/web-1";
    kv.lease = 99;  // not ours, not one we gave up
    range.kvs.push_back(kv);
    lost.results.push_back(range);
    FakeEtcd::take(rig.etcd.txns).done(lost);
  };
  cluster::LeaseId next = 7;
  // A previous incarnation's key lives until its lease expires: quiet for one TTL and a half.
  while (rig.changes.empty()) {
    REQUIRE(rig.clock.mono_now() - (tend::MonoTime{} + 1000h) <= 20s);
    if (!rig.etcd.grants.empty()) {
      FakeEtcd::take(rig.etcd.grants).done(cluster::Lease{next++, 9s});
    }
    if (!rig.etcd.txns.empty()) {
      answer_conflict();
      if (rig.changes.empty()) {
        CHECK(rig.membership->state() == cluster::State::joining);
        CHECK(contains(rig.membership->reason(), "held by another live member"));
      }
    }
    rig.clock.advance(100ms);
  }
  REQUIRE(rig.changes.size() == 1);
  CHECK(rig.changes[0].kind == Change::Kind::degraded);
  CHECK(contains(rig.changes[0].reason, "held by another live member (lease 99)"));
  const auto when = rig.clock.mono_now() - (tend::MonoTime{} + 1000h);
  CHECK(when >= 13500ms);
  CHECK(when <= 16s);
}

TEST_CASE("membership: stop revokes the lease, and late answers change nothing", "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  rig.grant_and_register(7);
  rig.clock.advance(3s);
  auto late = FakeEtcd::take(rig.etcd.keepalives);
  bool stopped = false;
  rig.membership->stop([&] { stopped = true; });
  REQUIRE(rig.etcd.revokes.size() == 1);
  CHECK(rig.etcd.revokes.front().lease == 7);
  FakeEtcd::take(rig.etcd.revokes).done(true);
  CHECK(stopped);
  late.done(std::optional<std::chrono::seconds>(9s));
  CHECK(rig.membership->state() == cluster::State::stopped);
  CHECK_FALSE(rig.membership->holds(7));
  rig.clock.advance(30s);
  CHECK(rig.etcd.keepalives.empty());
  CHECK(rig.etcd.grants.empty());
  CHECK(rig.changes.size() == 1);
}

// --- batching of write transactions ----------------------------------------------------------------------

TEST_CASE("batcher: one loop turn's txns go out as one, each on its own compares, same keys in order",
          "[cluster][fake]") {
  FakeEtcd etcd;
  ManualClock clock{at("2026-01-01T00:00:00Z")};
  cluster::Batcher batcher(etcd, clock);
  auto put_if_absent = [](const std::string& key) {
    Txn t;
    t.compare.push_back(Compare::absent(key));
    t.success.push_back(Op::put(key, "v"));
    t.failure.push_back(Op::get(key));
    return t;
  };
  std::vector<std::optional<Expected<cluster::TxnResult>>> out(4);
  batcher.submit(put_if_absent("a"), [&](auto r) { out[0] = std::move(r); });
  batcher.submit(put_if_absent("b"), [&](auto r) { out[1] = std::move(r); });
  batcher.submit(put_if_absent("a"), [&](auto r) { out[2] = std::move(r); });  // same key as the first
  batcher.submit(put_if_absent("c"), [&](auto r) { out[3] = std::move(r); });
  CHECK(etcd.txns.empty());  // not from inside submit
  clock.advance(0ms);
  REQUIRE(etcd.txns.size() == 1);
  auto batch = FakeEtcd::take(etcd.txns);
  CHECK(batch.txn.compare.empty());
  REQUIRE(batch.txn.success.size() == 3);  // a, b, c: the second "a" waits for the first
  CHECK(batch.txn.success[0].txn->success[0].key == "a");
  CHECK(batch.txn.success[1].txn->success[0].key == "b");
  CHECK(batch.txn.success[2].txn->success[0].key == "c");
  cluster::TxnResult answer;
  answer.succeeded = true;
  answer.revision = 12;
  for (bool held : {true, false, true}) {
    cluster::OpResult op;
    op.kind = Op::Kind::txn;
    auto nested = std::make_shared<cluster::TxnResult>();
    nested->succeeded = held;
    op.txn = nested;
    answer.results.push_back(op);
  }
  batch.done(answer);
  REQUIRE(out[0].has_value());
  CHECK((*out[0])->succeeded);
  CHECK((*out[0])->revision == 12);
  CHECK_FALSE((*out[1])->succeeded);
  CHECK((*out[3])->succeeded);
  CHECK_FALSE(out[2].has_value());
  clock.advance(0ms);
  REQUIRE(etcd.txns.size() == 1);
  auto alone = FakeEtcd::take(etcd.txns);
  CHECK(alone.txn.compare.size() == 1);  // a lone txn is sent as itself
  alone.done(Error{"etcd unreachable: a:1: connect refused"});
  REQUIRE(out[2].has_value());
  REQUIRE_FALSE(out[2]->ok());
  CHECK(batcher.sent() == 2);
  CHECK(batcher.carried() == 4);
}

// --- claims' own-success recognition, on the scripted etcd ----------------------------------------------

TEST_CASE("claims: a retried claim or fenced write recognises its own earlier success", "[cluster][fake]") {
  MembershipRig rig;
  rig.membership->start();
  rig.grant_and_register(7);
  cluster::Claims claims(rig.etcd, rig.clock, *rig.membership, rig.settings);

  std::optional<Expected<ClaimResult>> mine;
  claims.claim("backup", at("2026-01-01T00:00:05Z"), [&](Expected<ClaimResult> r) { mine = std::move(r); });
  rig.clock.advance(0ms);  // writes go out batched, on the next turn of the loop
  REQUIRE(rig.etcd.txns.size() == 1);
  auto claim_txn = FakeEtcd::take(rig.etcd.txns);
  REQUIRE(claim_txn.txn.compare.size() == 3);
  CHECK(claim_txn.txn.compare[0].key == "/t/ticks/backup/2026-01-01T00:00:05Z");
  CHECK(claim_txn.txn.compare[1].key == "/t/open/backup/2026-01-01T00:00:05Z");
  CHECK(claim_txn.txn.compare[2].key == "/t/runs/backup/2026-01-01T00:00:05Z");
  CHECK(claim_txn.txn.success.at(0).lease == 7);
  CHECK(claim_txn.txn.success.at(1).key == "/t/open/backup/2026-01-01T00:00:05Z");
  CHECK(claim_txn.txn.success.at(1).lease == 0);  // survives the claimer
  // The compare failed because the key is there with this very call's value: the first attempt won.
  cluster::TxnResult seen;
  cluster::OpResult claim_range;
  cluster::KeyValue kv;
  kv.lease = 7;
  kv.create_revision = 41;
  kv.value = claim_txn.txn.success.at(0).value;
  claim_range.kvs.push_back(kv);
  seen.results = {claim_range, cluster::OpResult{}};
  claim_txn.done(seen);
  REQUIRE(mine.has_value());
  REQUIRE(mine->ok());
  CHECK((*mine)->outcome == Outcome::won);
  CHECK((*mine)->claim.revision == 41);
  CHECK((*mine)->claim.lease == 7);

  // The same host claiming the same tick a second time is not a retry: lost.
  std::optional<Expected<ClaimResult>> twice;
  claims.claim("backup", at("2026-01-01T00:00:05Z"), [&](Expected<ClaimResult> r) { twice = std::move(r); });
  rig.clock.advance(0ms);  // writes go out batched, on the next turn of the loop
  FakeEtcd::take(rig.etcd.txns).done(seen);
  REQUIRE(twice.has_value());
  REQUIRE(twice->ok());
  CHECK((*twice)->outcome == Outcome::lost);
  CHECK((*twice)->reason == "claimed by web-1");

  // Someone else's key: lost, and who has it.
  std::optional<Expected<ClaimResult>> theirs;
  claims.claim("backup", at("2026-01-01T00:00:06Z"), [&](Expected<ClaimResult> r) { theirs = std::move(r); });
  rig.clock.advance(0ms);  // writes go out batched, on the next turn of the loop
  seen.results[0].kvs[0].lease = 8;
  seen.results[0].kvs[0].value = R"({"node":"web-2"})";
  FakeEtcd::take(rig.etcd.txns).done(seen);
  REQUIRE(theirs.has_value());
  REQUIRE(theirs->ok());
  CHECK((*theirs)->outcome == Outcome::lost);
  CHECK((*theirs)->holder == "web-2");
  CHECK((*theirs)->reason == "claimed by web-2");

  // A fenced write whose compare failed but whose record is the one it wrote: held.
  std::optional<Expected<Fence>> start;
  claims.record_start((*mine)->claim, json::object{{"run_id", 3}}, [&](Expected<Fence> r) { start = std::move(r); });
  rig.clock.advance(0ms);
  REQUIRE(rig.etcd.txns.size() == 1);
  auto fence = FakeEtcd::take(rig.etcd.txns);
  REQUIRE(fence.txn.compare.size() == 2);
  CHECK(fence.txn.compare[0].target == Compare::Target::create);
  CHECK(fence.txn.compare[0].number == 41);
  CHECK(fence.txn.compare[1].target == Compare::Target::lease);
  CHECK(fence.txn.compare[1].number == 7);
  const std::string written = fence.txn.success.at(0).value;
  CHECK(parse(written).at("state") == "started");
  CHECK(parse(written).at("run_id") == 3);
  cluster::TxnResult fenced;
  cluster::OpResult run_range;
  cluster::KeyValue run;
  run.value = written;
  run_range.kvs.push_back(run);
  fenced.results = {run_range};
  fence.done(fenced);
  REQUIRE(start.has_value());
  REQUIRE(start->ok());
  CHECK(**start == Fence::held);

  // ...and a different record there: lost.
  std::optional<Expected<Fence>> result;
  claims.record_result((*mine)->claim, json::object{{"result", "success"}},
                       [&](Expected<Fence> r) { result = std::move(r); });
  rig.clock.advance(0ms);
  auto final_txn = FakeEtcd::take(rig.etcd.txns);
  CHECK(final_txn.txn.success.size() == 3);  // the record, and the claim and open keys deleted
  fenced.results[0].kvs[0].value = R"({"state":"interrupted"})";
  final_txn.done(fenced);
  REQUIRE(result.has_value());
  REQUIRE(result->ok());
  CHECK(**result == Fence::lost);
  CHECK(claims.stats().fenced == 1);
}

TEST_CASE("claims: a failed claim is sent again, the same value, until claim_grace after its tick", "[cluster][fake]") {
  MembershipRig rig;  // lease_ttl 9 s: claim_grace 4.5 s, sweeps every 900 ms
  rig.membership->start();
  rig.grant_and_register(7);
  cluster::Claims claims(rig.etcd, rig.clock, *rig.membership, rig.settings);
  claims.start();
  // The next claim transaction sent (sweeps, read-only, are answered with nothing).
  auto next_claim = [&] {
    for (int guard = 0; guard < 10; ++guard) {
      while (!rig.etcd.keepalives.empty()) {  // the lease stays held throughout
        FakeEtcd::take(rig.etcd.keepalives).done(std::optional<std::chrono::seconds>(9s));
      }
      while (!rig.etcd.txns.empty()) {
        auto t = FakeEtcd::take(rig.etcd.txns);
        if (t.txn.compare.size() == 3) {
          return t;
        }
        t.done(Error{"test: sweep not answered"});
      }
      rig.clock.advance(100ms);
    }
    FAIL("no claim sent");
    return FakeEtcd::take(rig.etcd.txns);
  };

  // etcd unreachable once: the claim is sent again a sweep interval later, with the same value,
  // and the second answer decides.
  std::optional<Expected<ClaimResult>> r;
  claims.claim("backup", rig.clock.now(), [&](Expected<ClaimResult> x) { r = std::move(x); });
  rig.clock.advance(0ms);
  auto first = next_claim();
  const std::string value = first.txn.success.at(0).value;
  first.done(Error{"etcd unreachable: 127.0.0.1:2379: connect refused"});
  rig.clock.advance(0ms);
  CHECK_FALSE(r.has_value());  // not given up
  auto second = next_claim();
  CHECK(second.txn.success.at(0).value == value);
  cluster::TxnResult won;
  won.succeeded = true;
  won.revision = 50;
  second.done(won);
  REQUIRE(r.has_value());
  REQUIRE(r->ok());
  CHECK((*r)->outcome == Outcome::won);
  CHECK((*r)->claim.revision == 50);
  CHECK(claims.stats().retries == 1);

  // Unreachable for good: retried every sweep interval until claim_grace after the tick, then the
  // error (do not run it here).
  std::optional<Expected<ClaimResult>> gone;
  const auto tick_at = rig.clock.now();
  claims.claim("backup", tick_at + 1s, [&](Expected<ClaimResult> x) { gone = std::move(x); });
  rig.clock.advance(0ms);
  int attempts = 0;
  while (!gone.has_value() && attempts < 20) {
    auto t = next_claim();
    ++attempts;
    CHECK(t.txn.success.at(0).value != value);  // another tick, another value...
    t.done(Error{"etcd unreachable: 127.0.0.1:2379: connect refused"});
    rig.clock.advance(0ms);
  }
  REQUIRE(gone.has_value());
  REQUIRE_FALSE(gone->ok());
  CHECK(contains(gone->error(), "connect refused"));
  CHECK(attempts >= 5);  // 1 s + 4.5 s of grace at one per 900 ms
  CHECK(rig.clock.now() <= tick_at + 1s + 4500ms);
}

TEST_CASE("claims: nothing is claimed or started without a held lease", "[cluster][fake]") {
  MembershipRig rig;
  cluster::Claims claims(rig.etcd, rig.clock, *rig.membership, rig.settings);
  std::optional<Expected<ClaimResult>> r;
  claims.claim("backup", at("2026-01-01T00:00:05Z"), [&](Expected<ClaimResult> x) { r = std::move(x); });
  CHECK_FALSE(r.has_value());  // never from inside the call
  rig.clock.advance(0ms);
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  CHECK(contains(r->error(), "not joined"));
  CHECK(rig.etcd.txns.empty());

  Claim stale{"backup", "2026-01-01T00:00:05Z", 7, 41, false};
  std::optional<Expected<Fence>> f;
  claims.record_start(stale, {}, [&](Expected<Fence> x) { f = std::move(x); });
  rig.clock.advance(0ms);
  REQUIRE(f.has_value());
  REQUIRE(f->ok());
  CHECK(**f == Fence::lost);
  CHECK(rig.etcd.txns.empty());
  // A tick older than half the run retention is catch-up's, never a regular claim's.
  std::optional<Expected<ClaimResult>> old;
  claims.claim("backup", at("2025-12-31T23:00:00Z"), [&](Expected<ClaimResult> x) { old = std::move(x); });
  rig.clock.advance(0ms);
  REQUIRE(old.has_value());
  REQUIRE(old->ok());
  CHECK((*old)->outcome == Outcome::lost);
  CHECK(contains((*old)->reason, "too old"));
  CHECK(rig.etcd.txns.empty());
  std::optional<Expected<ClaimResult>> bad;
  claims.claim("no/slash", at("2026-01-01T00:00:05Z"), [&](Expected<ClaimResult> x) { bad = std::move(x); });
  rig.clock.advance(0ms);
  REQUIRE(bad.has_value());
  CHECK_FALSE(bad->ok());
}

// --- against a real 3-member etcd cluster -----------------------------------------------------------------

namespace {

using tend::test::EtcdCluster;

// One simulated tendd: its own loop, clock and HTTP client, and a cluster::Node (etcd client,
// membership, claims, janitor) as the daemon will build it.
struct Host {
  Host(std::string name, std::vector<std::string> endpoints, const cluster::Settings& base) {
    settings = base;
    settings.node = std::move(name);
    settings.endpoints = std::move(endpoints);
    http = tend::http::make_curl_client(io);
    node = std::make_unique<cluster::Node>(*http, clock, settings, cluster::Identity{settings.node + ".test", "test"});
    etcd = &node->etcd();
    membership = &node->membership();
    claims = &node->claims();
    membership->subscribe([this](const Change& c) { changes.push_back(c); });
    cluster::Claims::Handlers h;
    h.runs_job = [this](const std::string& job) { return jobs.count(job) != 0; };
    h.taken_over = [this](const Claim& c) {
      taken.push_back(c);
      if (start_taken) {
        claims->record_start(c, {}, [this, c](Expected<Fence> f) {
          if (f && *f == Fence::held) {
            started_taken.push_back(c);
          }
        });
      }
    };
    h.interrupted = [this](const cluster::RunRecord& r) { interrupted.push_back(r); };
    claims->set_handlers(h);
  }
  ~Host() {
    node.reset();
    http.reset();
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void start() { node->start(); }
  [[nodiscard]] int count(Change::Kind k) const {
    int n = 0;
    for (const auto& c : changes) {
      n += c.kind == k ? 1 : 0;
    }
    return n;
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  tend::SystemClock clock{io};
  cluster::Settings settings;
  std::unique_ptr<tend::http::Client> http;
  std::unique_ptr<cluster::Node> node;
  cluster::Etcd* etcd = nullptr;
  cluster::Membership* membership = nullptr;
  cluster::Claims* claims = nullptr;
  std::vector<Change> changes;
  std::set<std::string> jobs;
  bool start_taken = true;
  std::vector<Claim> taken;
  std::vector<Claim> started_taken;
  std::vector<cluster::RunRecord> interrupted;
  bool paused = false;  // its loop does not run: what SIGSTOP does to a tendd
};

struct World {
  // Hosts "h0".."hN-1"; host i lists the endpoints starting at member (i % size), so the hosts
  // talk to different members.
  World(const EtcdCluster& etcd, int count, std::chrono::seconds ttl, const std::string& prefix, int first = -1,
        const tend::test::TestPki* tls = nullptr, const std::function<void(cluster::Settings&)>& tweak = {}) {
    cluster::Settings s;
    s.prefix = prefix;
    s.lease_ttl = ttl;
    // Generous per attempt: a loaded 2-core machine (and ASan) must not turn into false fail-overs.
    s.request_timeout = 1500ms;
    s.op_timeout = std::max<milliseconds>(ttl / 2, 2s);
    if (tls != nullptr) {
      s.tls = {tls->ca.string(), tls->client_cert.string(), tls->client_key.string()};
    }
    if (tweak) {
      tweak(s);
    }
    auto endpoints = etcd.endpoints();
    for (int i = 0; i < count; ++i) {
      std::vector<std::string> mine;
      const auto start = static_cast<std::size_t>(first >= 0 ? first : i);
      for (std::size_t j = 0; j < endpoints.size(); ++j) {
        mine.push_back(endpoints[(start + j) % endpoints.size()]);
      }
      hosts.push_back(std::make_unique<Host>("h" + std::to_string(i), mine, s));
    }
  }

  Host& operator[](std::size_t i) { return *hosts.at(i); }

  // Run every unpaused host's loop until `done()` or the deadline; false on timeout.
  template <class Done>
  bool run_until(Done done, milliseconds limit) {
    const auto deadline = SteadyClock::now() + limit;
    while (!done()) {
      if (SteadyClock::now() >= deadline) {
        return false;
      }
      std::size_t ran = 0;
      for (auto& h : hosts) {
        if (!h->paused) {
          ran += h->io.poll();
        }
      }
      if (ran == 0) {
        std::this_thread::sleep_for(1ms);  // nothing ready on any loop: wait for sockets and timers
      }
    }
    return true;
  }

  // Run the loops for `d` (hosts keep renewing, sweeping...), whatever happens.
  void run_for(milliseconds d) {
    run_until([] { return false; }, d);
  }

  bool all_joined(milliseconds limit = 20s) {
    return run_until(
        [&] {
          for (auto& h : hosts) {
            if (!h->paused && h->membership->state() != cluster::State::joined) {
              return false;
            }
          }
          return true;
        },
        limit);
  }

  // Call `start(done)` on host i and run the loops until it answers.
  template <class T>
  Expected<T> wait(std::size_t i, const std::function<void(std::function<void(Expected<T>)>)>& start,
                   milliseconds limit = 20s) {
    std::optional<Expected<T>> out;
    start([&](Expected<T> r) { out = std::move(r); });
    (void)i;
    if (!run_until([&] { return out.has_value(); }, limit)) {
      return Error{"test: no answer within the deadline"};
    }
    return std::move(*out);
  }

  // Every unpaused host claims (job, tick) at once; the results in host order (a paused host's is
  // the error "test: paused").
  std::vector<Expected<ClaimResult>> race(const std::string& job, tend::WallTime tick, milliseconds limit = 20s) {
    std::vector<std::optional<Expected<ClaimResult>>> out(hosts.size());
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      if (hosts[i]->paused) {
        out[i] = Expected<ClaimResult>(Error{"test: paused"});
      } else {
        hosts[i]->claims->claim(job, tick, [&out, i](Expected<ClaimResult> r) { out[i] = std::move(r); });
      }
    }
    run_until(
        [&] {
          for (const auto& o : out) {
            if (!o.has_value()) {
              return false;
            }
          }
          return true;
        },
        limit);
    std::vector<Expected<ClaimResult>> results;
    for (auto& o : out) {
      results.push_back(o.has_value() ? std::move(*o) : Expected<ClaimResult>(Error{"test: no answer"}));
    }
    return results;
  }

  std::vector<std::unique_ptr<Host>> hosts;
};

// Poll `done()` from the test thread (no loop involved) until it holds or the deadline passes.
template <class Done>
bool poll_until(Done done, milliseconds limit = 20s) {
  const auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

int winners(const std::vector<Expected<ClaimResult>>& results) {
  int n = 0;
  for (const auto& r : results) {
    n += r.ok() && r->outcome == Outcome::won ? 1 : 0;
  }
  return n;
}

int errors(const std::vector<Expected<ClaimResult>>& results) {
  int n = 0;
  for (const auto& r : results) {
    n += !r.ok() && r.error() != "test: paused" ? 1 : 0;
  }
  return n;
}

// The index of the host that won, or -1.
int winner(const std::vector<Expected<ClaimResult>>& results) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok() && results[i]->outcome == Outcome::won) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("etcd: of three hosts racing, exactly one wins each tick and each notification; leases hold across TTLs",
          "[cluster][etcd]") {
  EtcdCluster etcd;
  REQUIRE(etcd.wait_healthy());
  World w(etcd, 3, 2s, "/race/");
  for (auto& h : w.hosts) {
    h->start();
  }
  REQUIRE(w.all_joined());
  const auto started = SteadyClock::now();
  std::vector<cluster::LeaseId> leases;
  for (auto& h : w.hosts) {
    leases.push_back(h->membership->lease());
    CHECK(h->count(Change::Kind::joined) == 1);
  }

  const auto base = this_second();
  std::map<int, int> wins;
  Claim last_won;
  int last_winner = -1;
  for (int t = 0; t < 30; ++t) {
    auto results = w.race("job", base + std::chrono::seconds(t));
    REQUIRE(errors(results) == 0);
    REQUIRE(winners(results) == 1);
    const int win = winner(results);
    ++wins[win];
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (static_cast<int>(i) != win) {
        CHECK(results[i]->holder == "h" + std::to_string(win));
        CHECK(results[i]->reason == "claimed by h" + std::to_string(win));
      }
    }
    last_won = results[static_cast<std::size_t>(win)]->claim;
    last_winner = win;
  }

  // The winner runs it: start and result are fenced writes that hold; afterwards the tick stays
  // taken for everyone (the run record blocks it even with the claim key gone).
  Host& runner = w[static_cast<std::size_t>(last_winner)];
  auto start = w.wait<Fence>(0, [&](auto done) { runner.claims->record_start(last_won, {{"run_id", 1}}, done); });
  REQUIRE(start.ok());
  CHECK(*start == Fence::held);
  auto result = w.wait<Fence>(0, [&](auto done) {
    runner.claims->record_result(last_won, {{"result", "success"}, {"exit", 0}}, done);
  });
  REQUIRE(result.ok());
  CHECK(*result == Fence::held);
  auto again = w.race("job", base + 29s);
  CHECK(winners(again) == 0);
  for (const auto& r : again) {
    REQUIRE(r.ok());
    CHECK(r->reason == "already finished on h" + std::to_string(last_winner));
  }
  auto runs = w.wait<std::vector<cluster::RunRecord>>(1, [&](auto done) { w[1].claims->runs("job", 5, done); });
  REQUIRE(runs.ok());
  REQUIRE(runs->size() == 1);
  CHECK(runs->front().tick == tick(base + 29s));
  CHECK(runs->front().node == "h" + std::to_string(last_winner));
  CHECK(runs->front().state == "finished");
  CHECK(runs->front().fields.at("result") == "success");
  auto last = w.wait<std::optional<std::string>>(2, [&](auto done) { w[2].claims->last_tick("job", done); });
  REQUIRE(last.ok());
  CHECK(last->value_or("") == tick(base + 29s));

  // Notifications fired on all three at once: one sends.
  for (int n = 0; n < 10; ++n) {
    std::vector<std::optional<Expected<Outcome>>> out(3);
    for (std::size_t i = 0; i < 3; ++i) {
      w[i].claims->claim_notification("alert-" + std::to_string(n),
                                      [&out, i](Expected<Outcome> r) { out[i] = std::move(r); });
    }
    REQUIRE(w.run_until([&] { return out[0] && out[1] && out[2]; }, 20s));
    int sent = 0;
    for (auto& o : out) {
      REQUIRE(o->ok());
      sent += **o == Outcome::won ? 1 : 0;
    }
    CHECK(sent == 1);
  }

  auto members = w.wait<std::vector<cluster::Member>>(0, [&](auto done) { w[0].membership->members(done); });
  REQUIRE(members.ok());
  REQUIRE(members->size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK((*members)[i].node == "h" + std::to_string(i));
    CHECK((*members)[i].host == "h" + std::to_string(i) + ".test");
    CHECK((*members)[i].lease == leases[i]);
    REQUIRE((*members)[i].ttl_left.has_value());
    CHECK(*(*members)[i].ttl_left > 0s);
  }

  // Keepalive: the same lease, never degraded, across 3.5 TTLs of 2 s.
  w.run_until([] { return false; }, std::chrono::duration_cast<milliseconds>(7s - (SteadyClock::now() - started)));
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(w[i].changes.size() == 1);
    CHECK(w[i].membership->lease() == leases[i]);
    CHECK(w[i].membership->holds(leases[i]));
    auto ttl =
        w.wait<std::optional<std::chrono::seconds>>(i, [&](auto done) { w[i].etcd->time_to_live(leases[i], done); });
    REQUIRE(ttl.ok());
    CHECK(ttl->has_value());
  }
  CHECK(SteadyClock::now() - started >= 7s);

  // A clean stop revokes: the member key goes at once (no TTL to wait for).
  bool stopped = false;
  w[2].node->stop([&] { stopped = true; });
  REQUIRE(w.run_until([&] { return stopped; }, 10s));
  auto after = w.wait<std::vector<cluster::Member>>(0, [&](auto done) { w[0].membership->members(done); });
  REQUIRE(after.ok());
  CHECK(after->size() == 2);
}

TEST_CASE(
    "etcd: fences: a host whose claim is gone cannot start or record; its unstarted tick is taken over, "
    "its started run reported interrupted once",
    "[cluster][etcd]") {
  EtcdCluster etcd;
  REQUIRE(etcd.wait_healthy());
  World w(etcd, 3, 2s, "/fence/");
  for (auto& h : w.hosts) {
    h->jobs = {"job"};
    h->start();
  }
  REQUIRE(w.all_joined());
  Host& h0 = w[0];
  const auto base = this_second();
  const std::string t1 = tick(base + 1s);
  const std::string t2 = tick(base + 2s);
  const std::string t3 = tick(base + 3s);
  auto claim_alone = [&](Host& h, tend::WallTime t) {
    auto r = w.wait<ClaimResult>(0, [&](auto done) { h.claims->claim("job", t, done); });
    REQUIRE(r.ok());
    REQUIRE(r->outcome == Outcome::won);
    return r->claim;
  };
  auto start = [&](Host& h, const Claim& c) {
    auto f = w.wait<Fence>(0, [&](auto done) { h.claims->record_start(c, {}, done); });
    REQUIRE(f.ok());
    return *f;
  };
  auto finish = [&](Host& h, const Claim& c) {
    auto f = w.wait<Fence>(0, [&](auto done) { h.claims->record_result(c, {{"result", "success"}}, done); });
    REQUIRE(f.ok());
    return *f;
  };
  auto took = [&](const std::string& name) {
    int n = 0;
    for (auto& h : w.hosts) {
      for (const auto& c : h->started_taken) {
        n += c.tick == name ? 1 : 0;
      }
    }
    return n;
  };

  // 1. Etcd's compare is the fence: a claim that is not this incarnation of the key is refused
  //    even though the host holds its lease.
  const Claim c1 = claim_alone(h0, base + 1s);
  Claim other_incarnation = c1;
  other_incarnation.revision += 1000;
  REQUIRE(h0.membership->holds(c1.lease));
  CHECK(start(h0, other_incarnation) == Fence::lost);

  // 2. The lease revoked behind the host's back (as when it expired while the host could not
  //    tell): the claim key went with it, the start is refused by etcd, the tick is taken over by
  //    a host with a lease, and the host itself rejoins with a new lease.
  auto revoked = w.wait<bool>(1, [&](auto done) { w[1].etcd->revoke(c1.lease, done); });
  REQUIRE(revoked.ok());
  CHECK(start(h0, c1) == Fence::lost);
  REQUIRE(w.run_until([&] { return took(t1) == 1 && h0.count(Change::Kind::rejoined) == 1; }, 15s));
  CHECK(h0.count(Change::Kind::degraded) == 1);
  CHECK(h0.membership->lease() != c1.lease);
  CHECK(finish(h0, c1) == Fence::lost);

  // 3. A host paused past its TTL (SIGSTOP) before starting its tick: another host takes it over
  //    within one TTL of the lease's expiry; the paused host, back, can neither start nor record.
  const Claim c2 = claim_alone(h0, base + 2s);
  h0.paused = true;
  const auto paused_at = SteadyClock::now();
  REQUIRE(w.run_until([&] { return took(t2) == 1; }, 15s));
  const auto takeover = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - paused_at);
  std::printf("figure: take-over of an unstarted tick %lld ms after its host paused (lease_ttl 2000 ms)\n",
              static_cast<long long>(takeover.count()));
  CHECK(takeover <= 4500ms);  // at most: TTL + etcd's expiry check (500 ms) + a sweep + slack
  w.run_until([] { return false; }, std::chrono::duration_cast<milliseconds>(4s - (SteadyClock::now() - paused_at)));
  h0.paused = false;
  CHECK(start(h0, c2) == Fence::lost);
  CHECK(finish(h0, c2) == Fence::lost);
  REQUIRE(w.run_until([&] { return h0.count(Change::Kind::rejoined) == 2; }, 15s));
  CHECK(took(t2) == 1);

  // 4. A host paused past its TTL while its run was going: never run again, reported interrupted
  //    (host_lost) by exactly one host; the paused host cannot record its result afterwards.
  const Claim c3 = claim_alone(h0, base + 3s);
  REQUIRE(start(h0, c3) == Fence::held);
  h0.paused = true;
  auto interrupted = [&] {
    int n = 0;
    for (auto& h : w.hosts) {
      n += static_cast<int>(h->interrupted.size());
    }
    return n;
  };
  REQUIRE(w.run_until([&] { return interrupted() >= 1; }, 15s));
  w.run_for(1500ms);  // more sweeps: still one report
  CHECK(interrupted() == 1);
  CHECK(took(t3) == 0);
  for (auto& h : w.hosts) {
    for (const auto& r : h->interrupted) {
      CHECK(r.tick == t3);
      CHECK(r.node == "h0");
      CHECK(r.fields.at("reason") == "host_lost");
    }
  }
  h0.paused = false;
  CHECK(finish(h0, c3) == Fence::lost);
  auto runs = w.wait<std::vector<cluster::RunRecord>>(1, [&](auto done) { w[1].claims->runs("job", 10, done); });
  REQUIRE(runs.ok());
  std::map<std::string, std::string> state;
  for (const auto& r : *runs) {
    state[r.tick] = r.state + "@" + r.node;
  }
  CHECK(state[t3] == "interrupted@h0");
  CHECK(state[t2].rfind("started@h", 0) == 0);
  CHECK(state[t2] != "started@h0");
}

TEST_CASE("etcd: a claim its live host never starts is stolen after claim_grace; the claimer is fenced",
          "[cluster][etcd]") {
  // What CPU starvation does: the claimer judges its lease lost and declines to start, while its
  // keepalives still get through. Before stealing, such a tick ran nowhere (its lease never ended).
  EtcdCluster etcd;
  REQUIRE(etcd.wait_healthy());
  World w(etcd, 3, 2s, "/steal/");
  for (auto& h : w.hosts) {
    h->jobs = {"job"};
    h->start();
  }
  REQUIRE(w.all_joined());
  Host& h0 = w[0];
  const auto t = this_second() + 1s;
  auto r = w.wait<ClaimResult>(0, [&](auto done) { h0.claims->claim("job", t, done); });
  REQUIRE(r.ok());
  REQUIRE(r->outcome == Outcome::won);
  const Claim c = r->claim;
  const auto claimed_at = SteadyClock::now();
  auto took = [&] {
    int n = 0;
    for (auto& h : w.hosts) {
      n += static_cast<int>(h->started_taken.size());
    }
    return n;
  };
  REQUIRE(w.run_until([&] { return took() == 1; }, 15s));
  const auto stolen = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - claimed_at);
  std::printf(
      "figure: an unstarted claim of a live host stolen and started %lld ms after the claim "
      "(lease_ttl 2000 ms, claim_grace 1000 ms)\n",
      static_cast<long long>(stolen.count()));
  CHECK(stolen >= 1000ms);                   // not before claim_grace: a slow start is not stolen at once
  CHECK(h0.taken.empty());                   // never from its own lease
  CHECK(h0.membership->lease() == c.lease);  // the claimer's lease lived on throughout
  CHECK(h0.count(Change::Kind::degraded) == 0);
  // The claimer, late, cannot start it: exactly one start.
  auto f = w.wait<Fence>(0, [&](auto done) { h0.claims->record_start(c, {}, done); });
  REQUIRE(f.ok());
  CHECK(*f == Fence::lost);
  w.run_for(1500ms);  // more sweeps: nothing more is stolen or started
  CHECK(took() == 1);
  std::uint64_t stolen_count = 0;
  for (auto& h : w.hosts) {
    stolen_count += h->claims->stats().stolen;
  }
  CHECK(stolen_count == 1);
}

TEST_CASE("etcd: a killed etcd member is failed over without a missed claim", "[cluster][etcd]") {
  EtcdCluster etcd;
  REQUIRE(etcd.wait_healthy());
  int leader = -1;
  REQUIRE(poll_until([&] { return (leader = etcd.leader()) >= 0; }));
  const int follower = (leader + 1) % 3;
  World w(etcd, 3, 3s, "/failover/", follower);  // every host talks to that follower first
  for (auto& h : w.hosts) {
    h->start();
  }
  REQUIRE(w.all_joined());
  const auto base = this_second();
  CHECK(winners(w.race("job", base)) == 1);
  etcd.kill(follower);
  const auto killed = SteadyClock::now();
  for (int t = 1; t <= 12; ++t) {
    auto results = w.race("job", base + std::chrono::seconds(t));
    CHECK(errors(results) == 0);
    CHECK(winners(results) == 1);
    w.run_for(250ms);
  }
  CHECK(SteadyClock::now() - killed >= 3s);  // at least one TTL through the loss
  for (auto& h : w.hosts) {
    CHECK(h->changes.size() == 1);  // joined, never degraded
  }

  // The leader itself: an election; claims come back, never two winners.
  etcd.start(follower);
  REQUIRE(etcd.wait_healthy());
  REQUIRE(poll_until([&] { return (leader = etcd.leader()) >= 0; }));
  etcd.kill(leader);
  const auto lost_leader = SteadyClock::now();
  int t = 100;
  milliseconds back{-1};
  while (SteadyClock::now() - lost_leader < 20s) {
    auto results = w.race("job", base + std::chrono::seconds(t++));
    REQUIRE(winners(results) <= 1);
    if (winners(results) == 1) {
      back = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - lost_leader);
      break;
    }
    w.run_for(100ms);
  }
  std::printf("figure: claims answered again %lld ms after the etcd leader was killed\n",
              static_cast<long long>(back.count()));
  CHECK(back >= 0ms);
}

TEST_CASE("etcd: quorum lost: every host degraded and no claim wins; quorum back: rejoined without a restart",
          "[cluster][etcd]") {
  EtcdCluster etcd;
  REQUIRE(etcd.wait_healthy());
  World w(etcd, 3, 2s, "/quorum/");
  for (auto& h : w.hosts) {
    h->start();
  }
  REQUIRE(w.all_joined());
  std::vector<cluster::LeaseId> before;
  for (auto& h : w.hosts) {
    before.push_back(h->membership->lease());
  }
  const auto base = this_second();
  auto ok = w.race("job", base);
  REQUIRE(winners(ok) == 1);
  const Claim held = ok[static_cast<std::size_t>(winner(ok))]->claim;
  Host& holder = w[static_cast<std::size_t>(winner(ok))];

  etcd.stop(1);
  etcd.stop(2);
  const auto lost = SteadyClock::now();
  auto degraded = [&] {
    for (auto& h : w.hosts) {
      if (h->count(Change::Kind::degraded) != 1) {
        return false;
      }
    }
    return true;
  };
  REQUIRE(w.run_until(degraded, 15s));
  const auto detect = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - lost);
  std::printf("figure: all hosts degraded %lld ms after quorum was lost (lease_ttl 2000 ms)\n",
              static_cast<long long>(detect.count()));
  CHECK(detect <= 6s);  // TTL (2 s) + a keepalive's op timeout (2 s) + slack
  for (auto& h : w.hosts) {
    CHECK(h->membership->state() == cluster::State::degraded);
    CHECK_FALSE(contains(h->membership->reason(), "\n"));
  }
  for (int t = 1; t <= 3; ++t) {
    auto results = w.race("job", base + std::chrono::seconds(t));
    CHECK(winners(results) == 0);
    CHECK(errors(results) == 3);
  }
  auto fenced = w.wait<Fence>(0, [&](auto done) { holder.claims->record_start(held, {}, done); });
  REQUIRE(fenced.ok());
  CHECK(*fenced == Fence::lost);

  etcd.start(1);
  etcd.start(2);
  REQUIRE(etcd.wait_healthy(30s));
  const auto back = SteadyClock::now();
  auto rejoined = [&] {
    for (auto& h : w.hosts) {
      if (h->count(Change::Kind::rejoined) != 1 || h->membership->state() != cluster::State::joined) {
        return false;
      }
    }
    return true;
  };
  REQUIRE(w.run_until(rejoined, 20s));
  std::printf("figure: all hosts rejoined %lld ms after quorum was back\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(SteadyClock::now() - back).count()));
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(w[i].membership->lease() != before[i]);
  }
  auto results = w.race("job", base + 10s);
  CHECK(errors(results) == 0);
  CHECK(winners(results) == 1);
  auto members = w.wait<std::vector<cluster::Member>>(0, [&](auto done) { w[0].membership->members(done); });
  REQUIRE(members.ok());
  CHECK(members->size() == 3);
}

TEST_CASE("etcd: catch-up runs once per job across the cluster; retention deletes old runs and compacts",
          "[cluster][etcd]") {
  EtcdCluster etcd;
  REQUIRE(etcd.wait_healthy());
  // Records kept a day, so ticks of hours ago can still be claimed (and then cleaned up below).
  World w(etcd, 3, 2s, "/catchup/", -1, nullptr, [](cluster::Settings& s) { s.run_retention = 24h; });
  for (auto& h : w.hosts) {
    h->start();
  }
  REQUIRE(w.all_joined());
  auto race_catch_up = [&](tend::WallTime tick) {
    std::vector<std::optional<Expected<ClaimResult>>> out(3);
    for (std::size_t i = 0; i < 3; ++i) {
      w[i].claims->claim_catch_up("nightly", tick, [&out, i](Expected<ClaimResult> r) { out[i] = std::move(r); });
    }
    REQUIRE(w.run_until([&] { return out[0] && out[1] && out[2]; }, 20s));
    int won = 0;
    for (auto& o : out) {
      REQUIRE(o->ok());
      won += (*o)->outcome == Outcome::won ? 1 : 0;
    }
    return won;
  };
  auto marker = [&] {
    auto m = w.wait<std::optional<std::string>>(0, [&](auto done) { w[0].claims->last_tick("nightly", done); });
    REQUIRE(m.ok());
    return m->value_or("");
  };
  const auto night = this_second() - 1h;
  CHECK(race_catch_up(night) == 1);
  CHECK(marker() == tick(night));
  CHECK(race_catch_up(night) == 0);        // the same missed tick: done
  CHECK(race_catch_up(night - 24h) == 0);  // an older one: a later tick already ran
  CHECK(winners(w.race("nightly", night + 24h)) == 1);
  CHECK(marker() == tick(night + 24h));
  CHECK(winners(w.race("nightly", night + 12h)) == 1);  // a late claim of an older tick...
  CHECK(marker() == tick(night + 24h));                 // ...never moves the marker back
  CHECK(race_catch_up(night + 24h) == 0);
  CHECK(race_catch_up(night + 48h) == 1);

  // Retention: run records older than run_retention go, the rest stay.
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  int recorded = 0;
  for (const std::chrono::minutes age : {180min, 120min, 30min, 0min}) {
    auto results = w.race("hourly", now - age);
    const int win = winner(results);
    REQUIRE(win >= 0);
    Host& h = w[static_cast<std::size_t>(win)];
    auto f = w.wait<Fence>(0, [&](auto done) {
      h.claims->record_result(results[static_cast<std::size_t>(win)]->claim, {{"result", "success"}}, done);
    });
    REQUIRE(f.ok());
    recorded += *f == Fence::held ? 1 : 0;
  }
  REQUIRE(recorded == 4);
  cluster::Settings js = w[0].settings;
  js.run_retention = 1h;
  js.compaction_interval = 1ms;
  cluster::Janitor janitor(*w[0].etcd, w[0].clock, js);
  auto pass = w.wait<cluster::JanitorReport>(0, [&](auto done) { janitor.run_once(done); });
  REQUIRE(pass.ok());
  CHECK(pass->jobs == 2);
  CHECK(pass->deleted == 2);
  CHECK(pass->compacted_to == 0);  // the first pass only samples the revision
  auto runs = w.wait<std::vector<cluster::RunRecord>>(0, [&](auto done) { w[0].claims->runs("hourly", 10, done); });
  REQUIRE(runs.ok());
  CHECK(runs->size() == 2);
  w.run_for(5ms);
  auto second = w.wait<cluster::JanitorReport>(0, [&](auto done) { janitor.run_once(done); });
  REQUIRE(second.ok());
  CHECK(second->deleted == 0);
  CHECK(second->compacted_to > 0);

  // Notification claims carry a retention lease: they expire on their own.
  auto n = w.wait<Outcome>(0, [&](auto done) { w[0].claims->claim_notification("n-1", done); });
  REQUIRE(n.ok());
  CHECK(*n == Outcome::won);
  auto key =
      w.wait<cluster::Range>(0, [&](auto done) { w[0].etcd->range("/catchup/notifications/n-1", "", false, done); });
  REQUIRE(key.ok());
  REQUIRE(key->kvs.size() == 1);
  REQUIRE(key->kvs[0].lease != 0);
  auto left = w.wait<std::optional<std::chrono::seconds>>(
      0, [&](auto done) { w[0].etcd->time_to_live(key->kvs[0].lease, done); });
  REQUIRE(left.ok());
  REQUIRE(left->has_value());
  CHECK(**left > 50min);
  CHECK(**left <= 60min);
}

TEST_CASE("etcd: over mutual TLS, with a private CA and a client certificate", "[cluster][etcd][tls]") {
  const auto dir = std::filesystem::temp_directory_path() / ("tend-cluster-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } cleanup{dir};
  tend::test::TestPki pki;
  REQUIRE(tend::test::make_test_pki(dir, pki));
  EtcdCluster::Options o;
  o.members = 1;
  o.tls = &pki;
  EtcdCluster etcd(o);
  REQUIRE(etcd.wait_healthy());
  World w(etcd, 2, 2s, "/tls/", -1, &pki);
  for (auto& h : w.hosts) {
    h->start();
  }
  REQUIRE(w.all_joined());
  CHECK(w[0].settings.endpoints.front().rfind("https://", 0) == 0);
  CHECK(winners(w.race("job", this_second())) == 1);

  // Without the client certificate etcd refuses the handshake.
  cluster::GatewayOptions bare = cluster::gateway_options(w[0].settings);
  bare.tls.cert.clear();
  bare.tls.key.clear();
  auto anonymous = cluster::make_gateway(*w[0].http, w[0].clock, bare);
  auto put = w.wait<cluster::Revision>(0, [&](auto done) { anonymous->put("/tls/x", "y", 0, done); });
  REQUIRE_FALSE(put.ok());
  CHECK(contains(put.error(), "etcd unreachable"));
}
