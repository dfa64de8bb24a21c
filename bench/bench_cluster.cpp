// Cluster mode against a real local 3-member etcd (Debian's etcd-server): claim latency, claims per
// second, and what 100 jobs firing every second on 3 hosts cost etcd (revisions, keys, bytes) with
// the retention the module applies. Not a test: run by hand (bench/README.md, "Cluster").
//
//   ninja -C build bench_cluster && build/daemon/cluster/bench_cluster [--disk] [--seconds 60]
//
// Each simulated host is a full stack (curl client, gateway, Membership, Claims) on its own
// io_context, all driven from this thread, as in test_cluster. Figures are measured here, from
// etcd's own /metrics (db size, keys) and from the claims' answers.

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/claims.hpp"
#include "cluster/etcd.hpp"
#include "cluster/janitor.hpp"
#include "cluster/keys.hpp"
#include "cluster/membership.hpp"
#include "http/client.hpp"
#include "support/etcd_cluster.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace asio = boost::asio;
namespace cluster = tend::cluster;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

namespace {

struct Host {
  Host(std::string name, std::vector<std::string> endpoints, cluster::Settings s) : settings(std::move(s)) {
    settings.node = std::move(name);
    settings.endpoints = std::move(endpoints);
    http = tend::http::make_curl_client(io);
    etcd = cluster::make_gateway(*http, clock, cluster::gateway_options(settings));
    membership =
        std::make_unique<cluster::Membership>(*etcd, clock, settings, cluster::Identity{settings.node, "bench"});
    claims = std::make_unique<cluster::Claims>(*etcd, clock, *membership, settings);
    janitor = std::make_unique<cluster::Janitor>(*etcd, clock, settings);
  }
  ~Host() {
    janitor.reset();
    claims.reset();
    membership.reset();
    etcd.reset();
    http.reset();
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  tend::SystemClock clock{io};
  cluster::Settings settings;
  std::unique_ptr<tend::http::Client> http;
  std::unique_ptr<cluster::Etcd> etcd;
  std::unique_ptr<cluster::Membership> membership;
  std::unique_ptr<cluster::Claims> claims;
  std::unique_ptr<cluster::Janitor> janitor;
};

std::vector<std::unique_ptr<Host>> hosts;

template <class Done>
bool run_until(Done done, milliseconds limit) {
  const auto deadline = Steady::now() + limit;
  while (!done()) {
    if (Steady::now() >= deadline) {
      return false;
    }
    std::size_t ran = 0;
    for (auto& h : hosts) {
      ran += h->io.poll();
    }
    if (ran == 0) {
      std::this_thread::sleep_for(100us);
    }
  }
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms_since(Steady::time_point t) { return std::chrono::duration<double, std::milli>(Steady::now() - t).count(); }

// One figure from etcd's /metrics on member 0 (blocking GET: between phases only).
double metric(const tend::test::EtcdCluster& etcd, const std::string& name) {
  const std::string text = etcd.get(etcd.endpoint(0) + "/metrics");
  const auto p = text.find("\n" + name + " ");
  return p == std::string::npos ? -1 : std::stod(text.substr(p + name.size() + 2));
}

double revision(const tend::test::EtcdCluster& etcd) {
  const std::string r = etcd.get(etcd.endpoint(0) + "/v3/kv/range", R"({"key":"AA==","count_only":true})");
  const auto p = r.find("\"revision\":\"");
  return p == std::string::npos ? -1 : std::stod(r.substr(p + 12));
}

struct Args {
  bool disk = false;
  int seconds = 60;
  int jobs = 100;
  int ttl = 10;
  int retention = 120;  // run records kept (s) during the workload phase
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (arg == "--disk") {
      a.disk = true;
    } else if (arg == "--seconds") {
      a.seconds = next();
    } else if (arg == "--jobs") {
      a.jobs = next();
    } else if (arg == "--retention") {
      a.retention = next();
    } else {
      std::fprintf(stderr, "usage: bench_cluster [--disk] [--seconds 60] [--jobs 100] [--retention 120]\n");
      return 2;
    }
  }
  tend::log::configure("warn", "text");
  tend::test::EtcdCluster::Options o;
  if (a.disk) {
    o.base = "/var/tmp";
  }
  tend::test::EtcdCluster etcd(o);
  if (!etcd.wait_healthy()) {
    std::fprintf(stderr, "etcd did not become healthy\n");
    return 1;
  }
  std::printf("# tend cluster bench: 3 etcd members (%s), 3 hosts, lease_ttl %ds\n\n",
              a.disk ? "data on /var/tmp: real fsync" : "data on /dev/shm", a.ttl);

  cluster::Settings s;
  s.prefix = "/bench/";
  s.lease_ttl = std::chrono::seconds(a.ttl);
  s.run_retention = std::chrono::seconds(a.retention);
  s.cleanup_interval = 10s;
  s.compaction_interval = 30s;
  const auto endpoints = etcd.endpoints();
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<std::string> mine;
    for (std::size_t j = 0; j < 3; ++j) {
      mine.push_back(endpoints[(i + j) % 3]);
    }
    hosts.push_back(std::make_unique<Host>("h" + std::to_string(i), mine, s));
    hosts.back()->membership->start();
  }
  if (!run_until(
          [] {
            return std::all_of(hosts.begin(), hosts.end(),
                               [](auto& h) { return h->membership->state() == cluster::State::joined; });
          },
          30s)) {
    std::fprintf(stderr, "hosts did not join\n");
    return 1;
  }
  const auto now_s = [] {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  };

  // 1. Latency of one claim, uncontended (one host, one at a time) and raced (three hosts at once).
  std::vector<double> alone;
  std::vector<double> raced_winner;
  std::vector<double> raced_all;
  {
    const auto base = now_s();
    for (int t = 0; t < 500; ++t) {
      bool done = false;
      const auto sent = Steady::now();
      hosts[0]->claims->claim("latency", base + std::chrono::seconds(t), [&](auto r) {
        if (r.ok()) {
          alone.push_back(ms_since(sent));
        }
        done = true;
      });
      run_until([&] { return done; }, 10s);
    }
    for (int t = 0; t < 300; ++t) {
      int answered = 0;
      const auto sent = Steady::now();
      for (auto& h : hosts) {
        h->claims->claim("raced", base + std::chrono::seconds(t), [&](auto r) {
          const double ms = ms_since(sent);
          raced_all.push_back(ms);
          if (r.ok() && r->outcome == cluster::Outcome::won) {
            raced_winner.push_back(ms);
          }
          ++answered;
        });
      }
      run_until([&] { return answered == 3; }, 10s);
    }
  }
  std::printf("| claim latency | n | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |\n");
  auto row = [](const char* what, const std::vector<double>& v) {
    std::printf("| %s | %zu | %.2f | %.2f | %.2f |\n", what, v.size(), percentile(v, 50), percentile(v, 99),
                percentile(v, 100));
  };
  row("one host, uncontended", alone);
  row("three hosts racing: the winner's answer", raced_winner);
  row("three hosts racing: every answer", raced_all);

  // 2. Sustained claims at saturation, in the workload's shape: rounds of `jobs` jobs' next tick
  //    claimed by all three hosts at once, the next round as soon as the last answer is in, for 10 s.
  {
    const auto base = now_s() + 3600s;
    int rounds = 0;
    int won = 0;
    int answers = 0;
    int errors = 0;
    const auto started = Steady::now();
    while (Steady::now() - started < 10s) {
      int answered = 0;
      for (int j = 0; j < a.jobs; ++j) {
        for (auto& h : hosts) {
          h->claims->claim("sat" + std::to_string(j), base + std::chrono::seconds(rounds), [&](auto r) {
            ++answered;
            if (!r.ok()) {
              ++errors;
            } else if (r->outcome == cluster::Outcome::won) {
              ++won;
            }
          });
        }
      }
      run_until([&] { return answered == 3 * a.jobs; }, 30s);
      answers += answered;
      ++rounds;
    }
    const double secs = std::chrono::duration<double>(Steady::now() - started).count();
    std::printf("\n| saturation: rounds of %d jobs x 3 hosts, back to back, 10 s | figure |\n| --- | --- |\n", a.jobs);
    std::printf(
        "| rounds /s | %.1f |\n| ticks claimed (won) /s | %.0f |\n| claim answers /s | %.0f |\n| errors | %d |\n",
        rounds / secs, won / secs, answers / secs, errors);
  }

  // 3. The workload: `jobs` jobs every second on 3 hosts; each tick raced by all three, the winner
  //    records start and result; the janitor keeps `retention` s of records and compacts.
  {
    for (auto& h : hosts) {
      h->claims->start();  // the take-over sweep runs as in production
      h->janitor->start();
    }
    const double rev0 = revision(etcd);
    std::size_t sent0 = 0;
    std::size_t carried0 = 0;
    for (auto& h : hosts) {
      sent0 += h->claims->batcher().sent();
      carried0 += h->claims->batcher().carried();
    }
    int ticks = 0;
    int completed = 0;
    int doubles = 0;
    int lost_ticks = 0;
    int errors = 0;
    std::vector<double> to_claim;  // tick second -> the winner's claim answered
    std::vector<double> to_start;  // tick second -> start recorded (the job would start now)
    std::vector<double> lateness;  // tick second -> result recorded
    std::map<std::string, int> winners_per_tick;
    std::printf(
        "\n| workload second | ticks done | db in use MB | db total MB | keys |\n| --- | --- | --- | --- | --- |\n");
    const auto first = now_s() + 1s;
    for (int sec = 0; sec < a.seconds; ++sec) {
      const auto tick = first + std::chrono::seconds(sec);
      run_until([&] { return std::chrono::system_clock::now() >= tick; }, 5s);
      const auto fired = Steady::now();
      for (int j = 0; j < a.jobs; ++j) {
        const std::string job = "job" + std::to_string(j);
        auto answers = std::make_shared<int>(0);
        auto won = std::make_shared<int>(0);
        ++ticks;
        for (auto& hp : hosts) {
          Host* h = hp.get();
          h->claims->claim(job, tick, [&, h, answers, won, fired](auto r) {
            ++*answers;
            if (!r.ok()) {
              ++errors;
            } else if (r->outcome == cluster::Outcome::won) {
              if (++*won > 1) {
                ++doubles;
              }
              to_claim.push_back(ms_since(fired));
              const cluster::Claim c = r->claim;
              h->claims->record_start(c, {{"run_id", 1}}, [&, h, c, fired](auto f) {
                if (!f.ok() || *f != cluster::Fence::held) {
                  ++errors;
                  return;
                }
                to_start.push_back(ms_since(fired));
                h->claims->record_result(c, {{"result", "success"}, {"exit", 0}, {"duration_ms", 12}},
                                         [&, fired](auto g) {
                                           if (g.ok() && *g == cluster::Fence::held) {
                                             ++completed;
                                             lateness.push_back(ms_since(fired));
                                           } else {
                                             ++errors;
                                           }
                                         });
              });
            }
            if (*answers == 3 && *won == 0) {
              ++lost_ticks;
            }
          });
        }
      }
      if (sec % 10 == 9 || sec == a.seconds - 1) {
        std::printf("| %d | %d | %.2f | %.2f | %.0f |\n", sec + 1, completed,
                    metric(etcd, "etcd_mvcc_db_total_size_in_use_in_bytes") / 1e6,
                    metric(etcd, "etcd_mvcc_db_total_size_in_bytes") / 1e6,
                    metric(etcd, "etcd_debugging_mvcc_keys_total"));
      }
    }
    run_until([&] { return completed + lost_ticks >= ticks; }, 30s);
    const double revs = revision(etcd) - rev0;
    std::printf("\n| workload: %d jobs x 1/s x %d s on 3 hosts | figure |\n| --- | --- |\n", a.jobs, a.seconds);
    std::printf(
        "| ticks | %d |\n| completed (claim + start + result) | %d |\n| doubles | %d |\n| ticks nobody won | %d |\n"
        "| errors | %d |\n",
        ticks, completed, doubles, lost_ticks, errors);
    std::printf("| tick to claim won, p50 / p99 ms | %.1f / %.1f |\n", percentile(to_claim, 50),
                percentile(to_claim, 99));
    std::printf("| tick to start recorded, p50 / p99 ms | %.1f / %.1f |\n", percentile(to_start, 50),
                percentile(to_start, 99));
    std::printf("| tick to result recorded, p50 / p99 ms | %.1f / %.1f |\n", percentile(lateness, 50),
                percentile(lateness, 99));
    std::size_t sent = 0;
    std::size_t carried = 0;
    for (auto& h : hosts) {
      sent += h->claims->batcher().sent();
      carried += h->claims->batcher().carried();
    }
    std::printf("| write txns sent to etcd (3 hosts), per second | %.1f, carrying %.0f claims and records |\n",
                static_cast<double>(sent - sent0) / a.seconds, static_cast<double>(carried - carried0) / a.seconds);
    std::printf("| etcd revisions per tick | %.2f |\n", revs / ticks);
    std::printf("| etcd keys now (retention %d s) | %.0f |\n", a.retention,
                metric(etcd, "etcd_debugging_mvcc_keys_total"));
    // The sizes of what one tick leaves behind, from the values this module writes.
    const cluster::Keys k("/tend/prod/");
    const std::string run_key = k.run("a-typical-job-name", "2026-11-21T10:00:03Z");
    const std::string record =
        R"({"run_id":1234,"result":"success","exit":0,"duration_ms":5312,"node":"web-1","tick":"2026-11-21T10:00:03Z","state":"finished","finished_at":"2026-11-21T10:00:08.312Z"})";
    std::printf("| a run record: key + value bytes (prefix /tend/prod/, 18-character job name) | %zu + %zu |\n",
                run_key.size(), record.size());
  }
  return 0;
}
