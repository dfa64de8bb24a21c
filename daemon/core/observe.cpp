// What tendd shows outside (daemon.metrics.listen): /metrics, /healthz, the status page, one
// entry's page and the status document, served by web::Server on the loop; and the same
// exposition text for `tend metrics`. Nothing here changes state. The entries export their own
// series through entries::Entry::metrics; this file adds alerting's and the daemon's own.

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include "core/daemon.hpp"
#include "entries/documents.hpp"
#include "metrics/exposition.hpp"
#include "metrics/process.hpp"
#include "util/listen.hpp"
#include "util/log.hpp"
#include "web/pages.hpp"
#include "web/stats.hpp"

namespace tend::core {
namespace json = boost::json;

namespace {

const auto& logger() {
  static auto l = log::get("web");
  return l;
}

/// A loop that has not run its lag timer (every 500 ms) for this long is not turning.
constexpr auto kStalled = std::chrono::seconds(5);
/// Recent history shown on an entry's page.
constexpr int kEntryRuns = 200;
// The status page's charts: a job's last runs, a probe's last 24 h by the hour; fetched again at
// most this often.
constexpr int kRecentRuns = 20;
constexpr auto kRecentMaxAge = std::chrono::seconds(60);

std::optional<web::Options> listen_options(const config::DaemonConfig& d) {
  if (!d.metrics) {
    return std::nullopt;
  }
  // The config validated this string with the same parse_listen (config/values.cpp).
  auto parsed = parse_listen(d.metrics->listen);
  if (!parsed) {
    throw std::runtime_error("daemon.metrics.listen: " + parsed.error());
  }
  web::Options o;
  o.host = parsed->first;
  o.port = parsed->second;
  return o;
}

web::Response with_body(unsigned status, std::string_view type, std::shared_ptr<const std::string> body) {
  web::Response r;
  r.status = status;
  r.content_type = std::string(type);
  r.body = std::move(body);
  return r;
}

}  // namespace

std::string Daemon::metrics_text() { return prepare_metrics()(); }

web::SharedRender::Job Daemon::prepare_metrics() {
  using metrics::Type;
  const auto began = std::chrono::steady_clock::now();
  auto collector = std::make_shared<metrics::Collector>();
  auto& c = *collector;
  std::map<std::string_view, std::size_t> per_kind;
  for (const auto* kind : entries_.kinds()) {
    per_kind[kind->section.kind] = 0;
  }
  for (const auto& e : entries_.all()) {
    e->metrics(c);
    ++per_kind[e->kind()];
  }
  auto& silenced =
      c.family("tend_entry_silenced", "1 while the entry's notifications are silenced.", Type::gauge, {"kind", "name"});
  for (const auto& e : entries_.all()) {
    silenced.sample({e->kind(), e->name()}, alerts_.silenced_until(e->name()) ? 1 : 0);
  }
  auto& counts = c.family("tend_entries", "Configured entries by kind.", Type::gauge, {"kind"});
  for (const auto& [kind, n] : per_kind) {
    counts.sample({kind}, n);
  }
  alerts_.metrics(c);
  heartbeat_.metrics(c);

  c.family("tend_build_info", "Always 1; the version of tendd in its label.", Type::gauge, {"version"})
      .sample({version()}, 1);
  c.family("tend_start_time_seconds", "When tendd started (Unix time).", Type::gauge)
      .sample({}, metrics::unix_seconds(started_at_));
  auto& reloads = c.family("tend_config_reloads_total", "Configuration reloads by result, since tendd started.",
                           Type::counter, {"result"});
  reloads.sample({"success"}, reloads_ok_);
  reloads.sample({"failure"}, reloads_failed_);
  c.family("tend_config_last_reload_successful",
           "1 when the last reload was accepted, 0 when it was rejected (the previous config runs on).", Type::gauge)
      .sample({}, config_error_.empty() ? 1 : 0);
  c.family("tend_config_last_reload_timestamp_seconds", "When the configuration was last loaded or rejected.",
           Type::gauge)
      .sample({}, metrics::unix_seconds(last_reload_at_));
  c.family("tend_state_write_errors_total", "State database writes that failed (full disk, ...).", Type::counter)
      .sample({}, store_->write_errors());
  c.family("tend_state_writable", "1 while the state database accepts writes.", Type::gauge)
      .sample({}, state_error_.empty() ? 1 : 0);
  if (web_) {
    web::collect_stats(web_->stats(), c);
  }
  auto& render = c.family("tend_metrics_render_seconds",
                          "Time the previous /metrics took: loop (collecting the figures), worker (formatting).",
                          Type::gauge, {"thread"});
  render.sample({"loop"}, last_prepare_seconds_);
  render.sample({"worker"},
                metrics_render_ ? std::chrono::duration<double>(metrics_render_->last_render()).count() : 0.0);
  last_prepare_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  // The rest runs on the render worker: it owns copies, never loop state. /proc/self is read
  // there too.
  return [collector, lag = lag_.histogram()] {
    std::string out;
    collector->render(out);
    metrics::Writer w(out);
    w.family("tend_loop_lag_seconds", "How late the event loop ran a timer past its due time.",
             metrics::Type::histogram);
    w.histogram({}, lag);
    metrics::write_process_metrics(w, metrics::read_process_stats());
    return out;
  };
}

web::Response Daemon::healthz() const {
  if (!state_error_.empty()) {
    return web::Response::text(503, "state database does not accept writes: " + state_error_ + "\n");
  }
  if (stopping_) {
    return web::Response::text(503, "tendd is stopping\n");
  }
  if (clock_.mono_now() - lag_.last_tick() > kStalled) {
    return web::Response::text(503, "event loop stalled\n");
  }
  return web::Response::text(200, "ok\n");
}

web::PageContext Daemon::page_context() const {
  return web::PageContext{clock_.now(), cfg_.daemon.timezone, std::chrono::seconds(15)};
}

void Daemon::make_renders() {
  if (render_pool_) {
    return;
  }
  render_pool_ = std::make_unique<boost::asio::thread_pool>(1);
  // The page is formatted on a worker: the loop only builds the status document it shows.
  page_render_ = std::make_unique<web::SharedRender>(
      io_.get_executor(), render_pool_->get_executor(),
      [this] {
        refresh_recent();
        return [doc = commands::status_document(commands_), ctx = page_context(), recent = recent_] {
          web::RecentRuns lookup;
          if (recent) {
            lookup = [&recent](std::string_view name) -> const json::array* {
              auto it = recent->find(std::string(name));
              return it == recent->end() ? nullptr : &it->second;
            };
          }
          return web::status_page(doc, ctx, lookup);
        };
      },
      std::chrono::milliseconds(1000));
  // Scrapes within 250 ms of each other share one render: a flood costs one render per 250 ms.
  metrics_render_ = std::make_unique<web::SharedRender>(
      io_.get_executor(), render_pool_->get_executor(), [this] { return prepare_metrics(); },
      std::chrono::milliseconds(250));
}

web::Router Daemon::make_router() {
  make_renders();  // what the routes use, with the first listener
  web::Router router;
  router.add("/healthz", [this](const web::Request&) { return healthz(); });
  router.add_async("/metrics", [this](const web::Request&, const web::Respond& respond) {
    metrics_render_->get([respond](std::shared_ptr<const std::string> text) {
      if (!text) {
        respond(web::Response::text(500, "rendering failed\n"));
        return;
      }
      respond(with_body(200, metrics::content_type, std::move(text)));
    });
  });
  router.add("/api/status", [this](const web::Request&) {
    return web::Response::make(200, "application/json", json::serialize(commands::status_document(commands_)));
  });
  router.add_async("/", [this](const web::Request&, const web::Respond& respond) {
    page_render_->get([respond](std::shared_ptr<const std::string> text) {
      if (!text) {
        respond(web::Response::text(500, "rendering failed\n"));
        return;
      }
      respond(with_body(200, "text/html; charset=utf-8", std::move(text)));
    });
  });
  router.add_prefix_async("/entry/", [this](const web::Request& req, const web::Respond& respond) {
    if (entries_.find(req.rest) == nullptr) {
      respond(web::Response::html(404, web::not_found_page(req.path, page_context())));
      return;
    }
    store_->history(req.rest, kEntryRuns,
                    [this, name = req.rest, respond, alive = web_alive_](std::vector<state::RunRecord> runs) {
                      if (!*alive) {
                        return;
                      }
                      json::array a;
                      for (auto& r : runs) {
                        r.output.clear();  // the page shows outcomes and reasons, never output
                        a.emplace_back(entries::run_to_json(r));
                      }
                      const auto doc = commands::status_document(commands_);
                      auto page = web::entry_page(doc, name, a, page_context());
                      if (!page) {  // removed by a reload meanwhile
                        respond(web::Response::html(404, web::not_found_page("/entry/" + name, page_context())));
                        return;
                      }
                      respond(web::Response::html(200, std::move(*page)));
                    });
  });
  router.add_prefix("/", [this](const web::Request& req) {
    return web::Response::html(404, web::not_found_page(req.path, page_context()));
  });
  return router;
}

void Daemon::refresh_recent() {
  const MonoTime now = clock_.mono_now();
  if (recent_loading_ || (recent_ && now - recent_at_ < kRecentMaxAge)) {
    return;
  }
  recent_loading_ = true;
  std::vector<std::string> names;
  for (const auto& e : entries_.all()) {
    names.push_back(e->name());
  }
  store_->recent(std::move(names), kRecentRuns, clock_.now() - std::chrono::hours(24),
                 [this, now, alive = web_alive_](std::map<std::string, std::vector<state::RunRecord>> found) {
                   if (!*alive) {
                     return;
                   }
                   auto out = std::make_shared<std::map<std::string, json::array>>();
                   for (auto& [name, runs] : found) {
                     auto& a = (*out)[name];
                     for (const auto& r : runs) {
                       a.emplace_back(entries::run_to_json(r));
                     }
                   }
                   recent_ = std::move(out);
                   recent_at_ = now;
                   recent_loading_ = false;
                 });
}

void Daemon::start_web() {
  lag_.start();
  const auto options = listen_options(cfg_.daemon);
  if (!options) {
    return;
  }
  web_ = std::make_unique<web::Server>(io_, *options, make_router());
  web_->start();  // start-up: a port in use is an error naming the address
  logger()->info("event=LISTENING metrics={}", cfg_.daemon.metrics->listen);
}

void Daemon::apply_web(const config::DaemonConfig& next) {
  if (next.metrics == cfg_.daemon.metrics) {
    return;
  }
  std::optional<web::Options> options;
  try {
    options = listen_options(next);
  } catch (const std::exception& e) {
    logger()->error("event=LISTEN_FAILED {}", e.what());
    return;
  }
  if (!options) {
    if (web_) {
      web_->stop();
      web_.reset();
      logger()->info("event=LISTEN_CLOSED daemon.metrics.listen removed");
    }
    return;
  }
  if (!web_) {
    web_ = std::make_unique<web::Server>(io_, *options, make_router());
    try {
      web_->start();
    } catch (const std::exception& e) {
      web_.reset();
      logger()->error("event=LISTEN_FAILED listen={} error={}", next.metrics->listen, log::quote(e.what()));
      return;
    }
  } else if (auto error = web_->rebind(*options)) {
    // The old address stays open: a reload never leaves tend unobservable.
    logger()->error("event=LISTEN_FAILED listen={} error={} keeping the previous address", next.metrics->listen,
                    log::quote(*error));
    return;
  }
  logger()->info("event=LISTENING metrics={}", next.metrics->listen);
}

void Daemon::stop_web() {
  *web_alive_ = false;
  if (web_) {
    web_->stop();
  }
  lag_.stop();
}

}  // namespace tend::core
