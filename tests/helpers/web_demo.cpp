// A stand-in daemon for the web listener's tests and benchmarks: web::Server on a loopback port
// with the real page renderers over fixture documents (tests/support/web_fixture.hpp), /metrics
// over the series of docs/metrics.md for as many entries as asked, and a trivial /healthz.
//
//   web_demo [--port N] [--entries 1000] [--metrics-entries N] [--zone Asia/Seoul] [--refresh S]
//            [--sparklines] [--header-timeout-ms N] [--idle-timeout-ms N] [--write-timeout-ms N]
//            [--max-connections N] [--max-per-client N]
//   web_demo --print-metrics [--metrics-entries N]      render /metrics once to stdout
//   web_demo --print-page [--entries N]                 render / once to stdout
//
// Routes: / (status page), /entry/NAME, /api/status, /metrics, /healthz, /stats (the listener's
// counters as JSON, for the tests).
//
// It prints "listening 127.0.0.1:PORT" on stdout once it accepts connections, and exits 0 on
// SIGTERM or SIGINT.

#include <date/tz.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "metrics/exposition.hpp"
#include "metrics/loop_lag.hpp"
#include "metrics/process.hpp"
#include "support/web_fixture.hpp"
#include "util/clock.hpp"
#include "web/offload.hpp"
#include "web/pages.hpp"
#include "web/server.hpp"
#include "web/stats.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace tend;
using namespace std::chrono_literals;

namespace {

struct Flags {
  std::uint16_t port = 0;
  std::size_t entries = 1000;
  std::optional<std::size_t> metrics_entries;
  std::string zone;
  int refresh = 15;
  bool sparklines = false;
  bool print_metrics = false;
  bool print_page = false;
  web::Limits limits;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "web_demo: %s\n", why);
  std::exit(2);
}

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> long {
      if (i + 1 >= argc) {
        usage(("missing value for " + a).c_str());
      }
      return std::strtol(argv[++i], nullptr, 10);
    };
    if (a == "--port") {
      f.port = static_cast<std::uint16_t>(value());
    } else if (a == "--entries") {
      f.entries = static_cast<std::size_t>(value());
    } else if (a == "--metrics-entries") {
      f.metrics_entries = static_cast<std::size_t>(value());
    } else if (a == "--zone") {
      if (i + 1 >= argc) {
        usage("missing value for --zone");
      }
      f.zone = argv[++i];
    } else if (a == "--refresh") {
      f.refresh = static_cast<int>(value());
    } else if (a == "--sparklines") {
      f.sparklines = true;
    } else if (a == "--header-timeout-ms") {
      f.limits.header_timeout = std::chrono::milliseconds(value());
    } else if (a == "--idle-timeout-ms") {
      f.limits.idle_timeout = std::chrono::milliseconds(value());
    } else if (a == "--write-timeout-ms") {
      f.limits.write_timeout = std::chrono::milliseconds(value());
    } else if (a == "--max-connections") {
      f.limits.max_connections = static_cast<std::size_t>(value());
    } else if (a == "--max-per-client") {
      f.limits.max_connections_per_client = static_cast<std::size_t>(value());
    } else if (a == "--print-metrics") {
      f.print_metrics = true;
    } else if (a == "--print-page") {
      f.print_page = true;
    } else {
      usage(("unknown flag " + a).c_str());
    }
  }
  return f;
}

/// Everything the handlers serve, built once at start (the documents a daemon would build).
/// "/" and "/metrics" are rendered off the loop (web::SharedRender): the loop only copies the
/// figures, as the daemon would copy its entries' status.
class Demo {
 public:
  Demo(const Flags& flags, asio::io_context& io, Clock& clock)
      : flags_(flags),
        clock_(clock),
        started_(clock.now()),
        status_(test::fixture_status(flags.entries, started_)),
        status_text_(json::serialize(status_)),
        series_(test::fixture_series(flags.metrics_entries.value_or(flags.entries), started_)),
        zone_(flags.zone.empty() ? nullptr : date::locate_zone(flags.zone)),
        lag_(clock, 250ms),
        page_(
            io.get_executor(), worker_.get_executor(), [this] { return prepare_page(); }, 1000ms),
        metrics_(
            io.get_executor(), worker_.get_executor(), [this] { return prepare_metrics(); }, 500ms) {
    for (const auto& e : status_.at("entries").as_array()) {
      const auto& o = e.as_object();
      by_name_.emplace(std::string(o.at("name").as_string()), &o);
    }
  }
  ~Demo() { worker_.join(); }
  Demo(const Demo&) = delete;
  Demo& operator=(const Demo&) = delete;

  void start(web::Server& server) {
    server_ = &server;
    lag_.start();
  }
  void stop() { lag_.stop(); }

  web::PageContext context() const { return {clock_.now(), zone_, std::chrono::seconds(flags_.refresh)}; }

  void page(const web::Respond& respond) {
    page_.get([respond](std::shared_ptr<const std::string> text) {
      if (!text) {
        respond(web::Response::text(500, "rendering failed\n"));
        return;
      }
      web::Response r;
      r.content_type = "text/html; charset=utf-8";
      r.body = std::move(text);
      respond(std::move(r));
    });
  }

  void metrics(const web::Respond& respond) {
    metrics_.get([respond](std::shared_ptr<const std::string> text) {
      if (!text) {
        respond(web::Response::text(500, "rendering failed\n"));
        return;
      }
      web::Response r;
      r.content_type = std::string(metrics::content_type);
      r.body = std::move(text);
      respond(std::move(r));
    });
  }

  web::Response entry(const web::Request& req) {
    auto e = by_name_.find(req.rest);
    const auto ctx = context();
    if (e == by_name_.end()) {
      return web::Response::html(404, web::not_found_page(req.path, ctx));
    }
    const auto runs = test::fixture_history(*e->second, started_);
    return web::Response::html(200, *web::entry_page(status_, req.rest, runs, ctx));
  }

  /// Render on the spot (--print-*).
  std::string metrics_now() { return prepare_metrics()(); }
  std::string page_now() { return prepare_page()(); }

  const std::string& status_text() const { return status_text_; }

  std::string stats_json() const {
    const auto s = server_ != nullptr ? server_->stats() : web::Stats{};
    return json::serialize(json::object{{"accepted", s.accepted},
                                        {"refused", s.refused},
                                        {"evicted", s.evicted},
                                        {"timed_out", s.timed_out},
                                        {"requests", s.requests},
                                        {"rejected", s.rejected},
                                        {"open", s.open}});
  }

 private:
  web::SharedRender::Job prepare_page() {
    web::RecentRuns recent;
    if (flags_.sparklines) {
      // Sparklines need every entry's recent history; a daemon would keep a small cache of it.
      auto histories = std::make_shared<std::map<std::string, json::array, std::less<>>>();
      for (const auto& [name, entry] : by_name_) {
        histories->emplace(name, test::fixture_history(*entry, started_));
      }
      recent = [histories](std::string_view name) -> const json::array* {
        auto it = histories->find(name);
        return it == histories->end() ? nullptr : &it->second;
      };
    }
    return [doc = status_, ctx = context(), recent] { return web::status_page(doc, ctx, recent); };
  }

  web::SharedRender::Job prepare_metrics() {
    // On the loop: the small daemon-wide families, and a copy of the entries' figures.
    metrics::Collector small;
    test::collect_fixture_daemon_series(small, clock_.now(), flags_.metrics_entries.value_or(flags_.entries));
    if (server_ != nullptr) {
      web::collect_stats(server_->stats(), small);
    }
    auto& render =
        small.family("tend_metrics_render_seconds", "Time the previous /metrics render took, by the thread it ran on.",
                     metrics::Type::gauge, {"thread"});
    render.sample({"loop"}, std::chrono::duration<double>(metrics_.last_prepare()).count());
    render.sample({"worker"}, std::chrono::duration<double>(metrics_.last_render()).count());
    std::string tail;
    small.render(tail);
    metrics::Writer w(tail);
    metrics::write_process_metrics(w, metrics::read_process_stats());
    lag_.write(w);
    // On the worker: the per-entry series, formatted into a collector only the worker uses.
    return [series = series_, tail = std::move(tail), collector = collector_] {
      collector->clear();
      test::collect_fixture_series(series, *collector);
      std::string out;
      collector->render(out);
      out += tail;
      return out;
    };
  }

  Flags flags_;
  Clock& clock_;
  WallTime started_;
  json::object status_;
  std::string status_text_;
  test::FixtureSeries series_;
  const date::time_zone* zone_;
  metrics::LoopLag lag_;
  std::shared_ptr<metrics::Collector> collector_ = std::make_shared<metrics::Collector>();
  asio::thread_pool worker_{1};
  web::SharedRender page_;
  web::SharedRender metrics_;
  web::Server* server_ = nullptr;
  std::map<std::string, const json::object*, std::less<>> by_name_;
};

}  // namespace

int main(int argc, char** argv) {
  const auto flags = parse(argc, argv);
  asio::io_context io;
  SystemClock clock(io);
  Demo demo(flags, io, clock);
  if (flags.print_metrics) {
    std::cout << demo.metrics_now();
    return 0;
  }
  if (flags.print_page) {
    std::cout << demo.page_now();
    return 0;
  }

  web::Router router;
  router.add("/healthz", [](const web::Request&) { return web::Response::text(200, "ok\n"); });
  router.add_async("/", [&](const web::Request&, const web::Respond& respond) { demo.page(respond); });
  router.add("/api/status",
             [&](const web::Request&) { return web::Response::make(200, "application/json", demo.status_text()); });
  router.add_async("/metrics", [&](const web::Request&, const web::Respond& respond) { demo.metrics(respond); });
  // The listener's counters as JSON, for the tests (a daemon shows them in /metrics).
  router.add("/stats",
             [&](const web::Request&) { return web::Response::make(200, "application/json", demo.stats_json()); });
  router.add_prefix("/entry/", [&](const web::Request& req) { return demo.entry(req); });
  router.add_prefix("/", [&](const web::Request& req) {
    return web::Response::html(404, web::not_found_page(req.path, demo.context()));
  });

  web::Options options;
  options.host = "127.0.0.1";
  options.port = flags.port;
  options.limits = flags.limits;
  web::Server server(io, options, std::move(router));
  server.start();
  demo.start(server);
  const auto ep = *server.endpoint();
  std::printf("listening %s:%u\n", ep.address().to_string().c_str(), static_cast<unsigned>(ep.port()));
  std::fflush(stdout);

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    demo.stop();
    io.stop();
  });
  io.run();
  return 0;
}
