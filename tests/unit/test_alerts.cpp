// Alerting: routing and rendering (pure), the outbox's delivery rules, and the alert lifecycle in
// virtual time (ManualClock + FAKE HTTP answered by the test) on a real SQLite state database.
// The real HTTP path and the daemon are covered by tests/integration/test_alerts.py.

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch.hpp>
#include <filesystem>

#include "alerts/heartbeat.hpp"
#include "alerts/manager.hpp"
#include "alerts/notifier.hpp"
#include "alerts/routing.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"

using namespace tend;
using namespace std::chrono_literals;
using tend::testing::FakeHttp;
using tend::testing::ManualClock;
namespace json = boost::json;

namespace {

config::Route make_route(std::vector<std::string> notify, std::optional<std::string> kind = std::nullopt,
                         std::optional<config::Severity> severity = std::nullopt,
                         std::optional<std::string> name = std::nullopt, bool cont = false) {
  config::Route r;
  r.match.kind = std::move(kind);
  r.match.severity = severity;
  r.match.name = std::move(name);
  r.notify = std::move(notify);
  r.continue_matching = cont;
  return r;
}

alerts::Notification sample() {
  alerts::Notification n;
  n.id = "0123456789abcdef0123456789abcdef";
  n.notifier = "hook";
  n.event = "failure";
  n.kind = "job";
  n.name = "backup";
  n.summary = "job backup failed (exit 1) after 4 attempts";
  n.detail = "line 1\nerror: <disk> & full\n";
  n.host = "web-1";
  n.environment = "production";
  n.started_at = *parse_iso8601("2026-11-21T10:00:03Z");
  n.created_at = *parse_iso8601("2026-11-21T10:00:04Z");
  n.occurrences = 1;
  n.labels = {{"exit_code", "1"}};
  return n;
}

json::object parse(const std::string& s) { return json::parse(s).as_object(); }

}  // namespace

// ---------------------------------------------------------------- routing

TEST_CASE("routes: first match wins, continue fans out, globs and defaults", "[alerts][routing]") {
  std::vector<config::Route> routes = {
      make_route({"pager"}, std::nullopt, config::Severity::critical, std::nullopt, /*cont=*/true),
      make_route({"discord"}, "watch"),
      make_route({"slack", "pager"}, std::nullopt, std::nullopt, "db-*"),
      make_route({"slack"}),
  };
  using alerts::route;
  CHECK(route(routes, {config::Severity::critical, "job", "backup", "production"}) ==
        std::vector<std::string>{"pager", "slack"});  // continue: then the default
  CHECK(route(routes, {config::Severity::warning, "watch", "be-5xx", "production"}) ==
        std::vector<std::string>{"discord"});
  CHECK(route(routes, {config::Severity::warning, "job", "db-dump", "production"}) ==
        std::vector<std::string>{"slack", "pager"});
  CHECK(route(routes, {config::Severity::critical, "job", "db-dump", "production"}) ==
        std::vector<std::string>{"pager", "slack"});  // each notifier once
  CHECK(route(routes, {config::Severity::info, "job", "report", "production"}) == std::vector<std::string>{"slack"});

  config::Route env = make_route({"staging-chat"});
  env.match.environment = "staging";
  CHECK(alerts::route({env}, {config::Severity::info, "job", "x", "production"}).empty());
  CHECK(alerts::route({env}, {config::Severity::info, "job", "x", "staging"}) ==
        std::vector<std::string>{"staging-chat"});
}

// ---------------------------------------------------------------- rendering

TEST_CASE("every config notifier type has a renderer", "[alerts][notifiers]") {
  for (const auto& type : config::notifier_types()) {
    INFO(type);
    CHECK(alerts::make_notifier(type) != nullptr);
  }
  CHECK(alerts::make_notifier("email") == nullptr);
}

TEST_CASE("webhook body is SPEC's payload version 1, exactly", "[alerts][notifiers]") {
  auto n = sample();
  auto body = parse(alerts::make_notifier("webhook")->render(n));
  const std::vector<std::string> keys = {"version",     "id",         "status",   "event",       "severity",
                                         "kind",        "name",       "summary",  "detail",      "host",
                                         "environment", "started_at", "ended_at", "occurrences", "labels"};
  CHECK(body.size() == keys.size());
  for (const auto& k : keys) {
    INFO(k);
    CHECK(body.contains(k));
  }
  CHECK(body["version"] == 1);
  CHECK(body["id"] == json::value(n.id));
  CHECK(body["status"] == "firing");
  CHECK(body["severity"] == "critical");
  CHECK(body["started_at"] == "2026-11-21T10:00:03Z");
  CHECK(body["ended_at"].is_null());
  CHECK(body["detail"] == json::value(n.detail));
  CHECK(body["labels"].as_object().at("exit_code") == "1");

  n.status = "resolved";
  n.ended_at = *parse_iso8601("2026-11-21T11:00:00Z");
  CHECK(parse(alerts::make_notifier("webhook")->render(n))["ended_at"] == "2026-11-21T11:00:00Z");
}

TEST_CASE("slack: text, coloured attachment, escaped mrkdwn, detail in a code block", "[alerts][notifiers]") {
  auto n = sample();
  auto body = parse(alerts::make_notifier("slack")->render(n));
  const std::string text(body["text"].as_string());
  CHECK(text.rfind("🚨 [production] FIRING critical", 0) == 0);
  CHECK(text.find("job backup failed") != std::string::npos);
  auto& att = body["attachments"].as_array().at(0).as_object();
  CHECK(att["color"] == "#d40e0d");
  const std::string detail(att["text"].as_string());
  CHECK(detail == "```line 1\nerror: &lt;disk&gt; &amp; full\n```");
  bool host_field = false;
  for (const auto& f : att["fields"].as_array()) {
    host_field |= f.as_object().at("title") == "Host" && f.as_object().at("value") == "web-1";
  }
  CHECK(host_field);

  n.status = "resolved";
  auto resolved = parse(alerts::make_notifier("slack")->render(n));
  CHECK(std::string(resolved["text"].as_string()).rfind("✅", 0) == 0);
  CHECK(resolved["attachments"].as_array()[0].as_object().at("color") == "#2eb886");

  n.status = "firing";
  n.severity = "warning";
  n.reason = "repeat";
  n.occurrences = 7;
  const std::string repeat(parse(alerts::make_notifier("slack")->render(n))["text"].as_string());
  CHECK(repeat.rfind("⚠️ [production] STILL FIRING warning", 0) == 0);
  CHECK(repeat.find("(×7)") != std::string::npos);
}

TEST_CASE("discord: content, embed with colour and fields, no mentions, within limits", "[alerts][notifiers]") {
  auto n = sample();
  n.detail = "@everyone " + std::string(10'000, 'x') + " tail-end";
  auto body = parse(alerts::make_notifier("discord")->render(n));
  CHECK(std::string(body["content"].as_string()).rfind("🚨", 0) == 0);
  CHECK(body["allowed_mentions"].as_object().at("parse").as_array().empty());
  auto& embed = body["embeds"].as_array().at(0).as_object();
  CHECK(embed["color"] == 0xD40E0D);
  const std::string desc(embed["description"].as_string());
  CHECK(desc.size() <= 4096);
  CHECK(desc.find("tail-end") != std::string::npos);  // the end of an output tail is kept
  CHECK(embed["fields"].as_array().size() <= 25);
}

TEST_CASE("keep_tail cuts at a UTF-8 boundary and keeps the end", "[alerts][notifiers]") {
  const std::string s = "ééééé-end";  // é is two bytes
  for (std::size_t max = 8; max < s.size(); ++max) {
    auto t = alerts::keep_tail(s, max);
    INFO(max);
    CHECK(t.size() <= max);
    CHECK(t.find("-end") != std::string::npos);
    CHECK((static_cast<unsigned char>(t[std::string_view("…\n").size()]) & 0xC0U) != 0x80U);
  }
  CHECK(alerts::keep_tail("short", 100) == "short");
}

TEST_CASE("notifications round-trip through their storage form", "[alerts][notifiers]") {
  auto n = sample();
  n.reason = "repeat";
  auto back = alerts::from_storage(alerts::to_storage(n));
  REQUIRE(back);
  CHECK(back->id == n.id);
  CHECK(back->notifier == "hook");
  CHECK(back->reason == "repeat");
  CHECK(back->started_at == n.started_at);
  CHECK(back->created_at == n.created_at);
  CHECK(back->labels == n.labels);
  CHECK_FALSE(alerts::from_storage("{\"id\":1}"));
  CHECK_FALSE(alerts::from_storage("not json"));
  CHECK(alerts::new_id() != alerts::new_id());
  CHECK(alerts::new_id().size() == 32);
}

// ---------------------------------------------------------------- delivery rules

TEST_CASE("delivery outcome: 2xx delivered, 408/429/5xx/transport retried, other 4xx final", "[alerts][outbox]") {
  using alerts::classify;
  using alerts::Outcome;
  CHECK(classify(FakeHttp::ok(200)) == Outcome::delivered);
  CHECK(classify(FakeHttp::ok(204)) == Outcome::delivered);
  CHECK(classify(FakeHttp::ok(500)) == Outcome::retry);
  CHECK(classify(FakeHttp::ok(503)) == Outcome::retry);
  CHECK(classify(FakeHttp::ok(429)) == Outcome::retry);
  CHECK(classify(FakeHttp::ok(408)) == Outcome::retry);
  CHECK(classify(FakeHttp::refused()) == Outcome::retry);
  CHECK(classify(FakeHttp::ok(400)) == Outcome::final);
  CHECK(classify(FakeHttp::ok(404)) == Outcome::final);
  CHECK(classify(FakeHttp::ok(301)) == Outcome::final);

  const auto now = *parse_iso8601("2026-11-21T10:00:00Z");
  auto r = FakeHttp::ok(429);
  CHECK_FALSE(alerts::retry_after(r, now));
  r.headers["retry-after"] = "30";
  CHECK(alerts::retry_after(r, now) == 30s);
  r.headers["retry-after"] = "Sat, 21 Nov 2026 10:01:00 GMT";
  CHECK(alerts::retry_after(r, now) == 60s);
  r.headers["retry-after"] = "soon";
  CHECK_FALSE(alerts::retry_after(r, now));
}

// ---------------------------------------------------------------- engine in virtual time

namespace {

struct Fixture {
  Fixture() : dir(make_dir()), clock(*parse_iso8601("2026-11-21T10:00:00Z")) { open(); }
  ~Fixture() {
    manager.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  static std::filesystem::path make_dir() {
    auto d = std::filesystem::temp_directory_path() /
             ("tend-alerts-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(d);
    return d;
  }

  /// (Re)open the database and a fresh engine on it, as a daemon start does.
  void open() {
    manager.reset();
    store.reset();
    http.pending.clear();
    store = std::make_unique<state::Store>(io, (dir / "tend.db").string());
    loaded = store->start(clock.now());
    manager = std::make_unique<alerts::Manager>(alerts::Context{clock, *store, http, "tend-test"});
    manager->start(cfg, loaded);
    drain();
  }

  /// Let the store commit and its callbacks (outbox sends) run.
  void drain() {
    bool done = false;
    store->flush([&] { done = true; });
    while (!done) {
      io.run_one();
    }
  }

  void advance(std::chrono::milliseconds d) {
    clock.advance(d);
    drain();
  }

  void fire(const std::string& name, const std::string& event = "failure",
            config::Severity severity = config::Severity::critical, events::Kind kind = events::Kind::job) {
    events::Event e;
    e.kind = kind;
    e.name = name;
    e.event = event;
    e.severity = severity;
    e.summary = name + " " + event;
    e.detail = "output";
    e.at = clock.now();
    manager->on_event(e);
  }

  void resolve(const std::string& name, const std::string& event = "failure") {
    events::Event e;
    e.kind = events::Kind::job;
    e.name = name;
    e.event = event;
    e.status = events::Status::resolved;
    e.summary = name + " ok again";
    e.at = clock.now();
    manager->on_event(e);
  }

  /// Answer every waiting request with `r`, returning the bodies that were sent (in order).
  std::vector<std::pair<std::string, json::object>> answer_all(const http::Response& r = FakeHttp::ok()) {
    std::vector<std::pair<std::string, json::object>> out;
    for (int guard = 0; guard < 10000; ++guard) {
      drain();
      std::shared_ptr<FakeHttp::Pending> p;
      while (!http.pending.empty() && !p) {
        p = http.pending.front();
        http.pending.pop_front();
        if (p->cancelled) {
          p.reset();
        }
      }
      if (!p) {
        break;
      }
      out.emplace_back(p->request.url, json::parse(p->request.body).as_object());
      p->done(r);
    }
    drain();
    return out;
  }

  static config::Config make_config() {
    config::Config c;
    c.daemon.host = "web-1";
    c.daemon.environment = "production";
    for (const char* name : {"hook", "pager", "backup-hook"}) {
      config::NotifierConfig n;
      n.name = name;
      n.type = "webhook";
      n.url = std::string("https://hooks.example/") + name + "/SECRETPATH?token=SECRETQUERY";
      n.headers = {{"Authorization", "Bearer SECRETHEADER"}};
      c.notifiers.push_back(n);
    }
    c.alerts.routes = {make_route({"hook"})};
    c.alerts.repeat_interval = 4h;
    c.alerts.delivery_max_age = 24h;
    for (const char* name : {"backup", "report", "api", "tendd-x"}) {
      config::JobConfig j;
      j.name = name;
      c.jobs.push_back(j);
    }
    return c;
  }

  static inline int counter = 0;
  std::filesystem::path dir;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  ManualClock clock;
  FakeHttp http;
  config::Config cfg = make_config();
  std::unique_ptr<state::Store> store;
  state::Loaded loaded;
  std::unique_ptr<alerts::Manager> manager;
};

bool sent_to(const std::string& url, const std::string& notifier) {
  return url.find("/" + notifier + "/") != std::string::npos;
}

}  // namespace

TEST_CASE("a burst of 1,000 failures is one notification, counted", "[alerts][lifecycle]") {
  Fixture f;
  for (int i = 0; i < 1000; ++i) {
    f.fire("backup");
  }
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent_to(sent[0].first, "hook"));
  CHECK(sent[0].second["occurrences"] == 1);
  auto firing = f.manager->status()["firing"].as_array();
  REQUIRE(firing.size() == 1);
  CHECK(firing[0].as_object().at("occurrences") == 1000);
  // The alert log says so once (one line a minute at most while grouping), not 1,000 times.
  std::vector<state::AlertLogRecord> log;
  f.store->alert_log("backup", 100, [&](std::vector<state::AlertLogRecord> rows) { log = std::move(rows); });
  f.drain();
  REQUIRE(log.size() == 1);
  CHECK(log[0].action == "firing");
  CHECK(log[0].notifiers == "hook");

  // The repeat carries the count, the same started_at and a new id.
  f.advance(4h);
  auto repeat = f.answer_all();
  REQUIRE(repeat.size() == 1);
  CHECK(repeat[0].second["occurrences"] == 1000);
  CHECK(repeat[0].second["started_at"] == sent[0].second["started_at"]);
  CHECK(repeat[0].second["id"] != sent[0].second["id"]);
}

TEST_CASE("repeat while firing, resolve once, nothing after", "[alerts][lifecycle]") {
  Fixture f;
  f.fire("backup");
  CHECK(f.answer_all().size() == 1);
  f.advance(4h - 1s);
  CHECK(f.answer_all().empty());
  f.advance(1s);
  CHECK(f.answer_all().size() == 1);
  f.advance(4h);
  CHECK(f.answer_all().size() == 1);
  f.resolve("backup");
  auto resolved = f.answer_all();
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].second["status"] == "resolved");
  CHECK(resolved[0].second["ended_at"].is_string());
  f.advance(24h);
  CHECK(f.answer_all().empty());
  CHECK(f.manager->status()["firing"].as_array().empty());

  // A resolve with nothing firing is not a notification.
  f.resolve("backup");
  CHECK(f.answer_all().empty());
}

TEST_CASE("send_resolved: false keeps resolves quiet", "[alerts][lifecycle]") {
  Fixture f;
  f.cfg.alerts.send_resolved = false;
  f.manager->apply(f.cfg);
  f.fire("backup");
  CHECK(f.answer_all().size() == 1);
  f.resolve("backup");
  CHECK(f.answer_all().empty());
  CHECK(f.manager->status()["firing"].as_array().empty());
}

TEST_CASE("escalation goes to escalate.notify once, after `after`", "[alerts][lifecycle]") {
  Fixture f;
  f.cfg.alerts.escalate = config::EscalateConfig{30min, {"pager"}};
  f.manager->apply(f.cfg);
  f.fire("backup");
  CHECK(f.answer_all().size() == 1);
  f.advance(30min - 1s);
  CHECK(f.answer_all().empty());
  f.advance(1s);
  auto esc = f.answer_all();
  REQUIRE(esc.size() == 1);
  CHECK(sent_to(esc[0].first, "pager"));
  f.advance(2h);
  CHECK(f.answer_all().empty());
  // The resolve reaches everyone who was told.
  f.resolve("backup");
  auto resolved = f.answer_all();
  CHECK(resolved.size() == 2);

  // Resolved before `after`: no escalation.
  f.fire("report");
  CHECK(f.answer_all().size() == 1);
  f.advance(10min);
  f.resolve("report");
  CHECK(f.answer_all().size() == 1);
  f.advance(1h);
  CHECK(f.answer_all().empty());
}

TEST_CASE("instant events: once, grouped for an interval, a repeat only when more happened", "[alerts][lifecycle]") {
  Fixture f;
  f.fire("backup", "missed", config::Severity::warning);
  CHECK(f.answer_all().size() == 1);
  f.fire("backup", "missed", config::Severity::warning);
  CHECK(f.answer_all().empty());
  f.advance(4h);
  auto repeat = f.answer_all();
  REQUIRE(repeat.size() == 1);
  CHECK(repeat[0].second["occurrences"] == 2);
  f.advance(4h);  // quiet for an interval: over, without a "resolved" message
  CHECK(f.answer_all().empty());
  CHECK(f.manager->status()["firing"].as_array().empty());
  f.fire("backup", "missed", config::Severity::warning);
  CHECK(f.answer_all().size() == 1);  // a new moment is news again
}

TEST_CASE("a change of severity is a new notification", "[alerts][lifecycle]") {
  Fixture f;
  f.fire("api", "error_rate", config::Severity::warning, events::Kind::watch);
  CHECK(f.answer_all().size() == 1);
  f.fire("api", "error_rate", config::Severity::warning, events::Kind::watch);
  CHECK(f.answer_all().empty());
  f.fire("api", "error_rate", config::Severity::critical, events::Kind::watch);
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["severity"] == "critical");
}

TEST_CASE("silences mute notifications, not the record; unsilence tells what still fires", "[alerts][silences]") {
  Fixture f;
  REQUIRE(f.manager->silence("backup", 1h, "deploy", "uid 0"));
  CHECK(f.manager->silenced_until("backup") == f.clock.now() + 1h);
  CHECK_FALSE(f.manager->silenced_until("report"));
  f.fire("backup");
  f.fire("report");
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["name"] == "report");

  std::vector<state::AlertLogRecord> log;
  f.store->alert_log("backup", 10, [&](std::vector<state::AlertLogRecord> rows) { log = std::move(rows); });
  f.drain();
  REQUIRE(log.size() == 1);
  CHECK(log[0].action == "silenced");

  CHECK(f.manager->unsilence("backup") == 1);
  auto released = f.answer_all();
  REQUIRE(released.size() == 1);
  CHECK(released[0].second["name"] == "backup");
  CHECK(f.manager->unsilence("backup") == 0);

  // --all, and expiry by itself.
  REQUIRE(f.manager->silence("*", 10min, "", "uid 0"));
  f.fire("api");
  CHECK(f.answer_all().empty());
  f.advance(10min);
  auto after = f.answer_all();
  REQUIRE(after.size() == 1);
  CHECK(after[0].second["name"] == "api");
  CHECK_FALSE(f.manager->silence("x", 0s, "", "uid 0"));
}

TEST_CASE("silences and firing alerts survive a restart", "[alerts][silences][durability]") {
  Fixture f;
  REQUIRE(f.manager->silence("report", 2h, "maintenance", "uid 0"));
  f.fire("backup");
  CHECK(f.answer_all().size() == 1);
  f.drain();
  f.open();
  CHECK(f.manager->silenced_until("report"));
  auto firing = f.manager->status()["firing"].as_array();
  REQUIRE(firing.size() == 1);
  // Still the same alert: more failures are grouped, the resolve is sent.
  f.fire("backup");
  CHECK(f.answer_all().empty());
  f.resolve("backup");
  auto resolved = f.answer_all();
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].second["status"] == "resolved");
}

TEST_CASE("outbox: written before sent; pending notifications survive and keep their id", "[alerts][outbox]") {
  Fixture f;
  f.fire("backup");
  f.drain();
  REQUIRE(f.http.pending.size() == 1);
  const auto first = json::parse(f.http.pending.front()->request.body).as_object();
  // The daemon dies before the receiver answers.
  f.open();
  REQUIRE(f.loaded.outbox.size() == 1);
  CHECK(f.loaded.outbox[0].id == first.at("id").as_string());
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["id"] == first.at("id"));
  // Delivered: gone from the outbox.
  f.open();
  CHECK(f.loaded.outbox.empty());
  CHECK(f.answer_all().empty());
}

TEST_CASE("outbox: backoff on failure, Retry-After honoured, order kept per notifier", "[alerts][outbox]") {
  Fixture f;
  f.fire("backup");
  f.fire("report");
  f.drain();
  REQUIRE(f.http.pending.size() == 1);  // one at a time per notifier
  auto first = json::parse(f.http.pending.front()->request.body).as_object();
  CHECK(first["name"] == "backup");
  CHECK(f.http.answer(FakeHttp::ok(500)));
  f.drain();
  CHECK(f.http.pending.empty());
  f.advance(999ms);
  CHECK(f.http.pending.empty());
  f.advance(1ms);
  REQUIRE(f.http.pending.size() == 1);
  auto r429 = FakeHttp::ok(429);
  r429.headers["retry-after"] = "30";
  CHECK(f.http.answer(r429));
  f.advance(29s);
  CHECK(f.http.pending.empty());
  f.advance(1s);
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].second["name"] == "backup");
  CHECK(sent[0].second["id"] == first["id"]);
  CHECK(sent[1].second["name"] == "report");
  auto lane = f.manager->status()["notifiers"].as_array();
  bool found = false;
  for (const auto& l : lane) {
    if (l.as_object().at("name") == "hook") {
      found = true;
      CHECK(l.as_object().at("sent") == 2);
      CHECK(l.as_object().at("retries") == 2);
      CHECK(l.as_object().at("pending") == 0);
    }
  }
  CHECK(found);
}

TEST_CASE("outbox: a rejected request is given up at once and raises delivery_failed elsewhere", "[alerts][outbox]") {
  Fixture f;
  f.cfg.alerts.routes = {make_route({"hook"}, "job"), make_route({"hook", "backup-hook"})};
  f.manager->apply(f.cfg);
  f.fire("backup");
  f.drain();
  REQUIRE(f.http.answer(FakeHttp::ok(404, "no_service")));
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent_to(sent[0].first, "backup-hook"));  // not to the notifier that failed
  CHECK(sent[0].second["event"] == "delivery_failed");
  CHECK(sent[0].second["kind"] == "daemon");
  CHECK(f.manager->given_up() == 1);
  const std::string detail(sent[0].second["detail"].as_string());
  CHECK(detail.find("HTTP 404: no_service") != std::string::npos);
}

TEST_CASE("outbox: retried until delivery.max_age, then given up", "[alerts][outbox]") {
  Fixture f;
  f.cfg.alerts.delivery_max_age = 1h;
  f.cfg.alerts.routes = {make_route({"hook"}, "job"), make_route({"backup-hook"})};
  f.manager->apply(f.cfg);
  f.fire("backup");
  int attempts = 0;
  for (int i = 0; i < 200 && f.manager->given_up() == 0; ++i) {
    f.drain();
    while (f.http.answer(FakeHttp::refused())) {
      ++attempts;
      f.drain();
    }
    f.advance(1min);
  }
  CHECK(f.manager->given_up() == 1);
  // 1 s doubling to 5 min: 1+2+...+256 s, then every 5 min, to the hour, plus the last attempt.
  CHECK(attempts >= 15);
  CHECK(attempts <= 25);
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["event"] == "delivery_failed");
}

TEST_CASE("status and errors never show notifier secrets", "[alerts][secrets]") {
  Fixture f;
  f.fire("backup");
  f.drain();
  auto leak = FakeHttp::refused();
  leak.error = "failed to reach https://hooks.example/hook/SECRETPATH?token=SECRETQUERY with Bearer SECRETHEADER";
  REQUIRE(f.http.answer(leak));
  f.drain();
  const std::string status = json::serialize(f.manager->status());
  CHECK(status.find("hooks.example") != std::string::npos);
  CHECK(status.find("SECRETPATH") == std::string::npos);
  CHECK(status.find("SECRETQUERY") == std::string::npos);
  CHECK(status.find("SECRETHEADER") == std::string::npos);
}

TEST_CASE("the digest summarises the last day and goes to the routes", "[alerts][digest]") {
  Fixture f;
  const auto t = f.clock.now();
  f.store->put_run({"backup", "job", 1, 1, t - 2h, t - 2h + 5s, 5000, "failure", 1, std::nullopt, "exit 1", ""});
  f.store->put_run({"backup", "job", 2, 1, t - 1h, t - 1h + 3s, 3000, "success", 0, std::nullopt, "exit 0", ""});
  f.store->put_run({"api", "probe", 3, 1, t - 1h, t - 1h, 10, "up", std::nullopt, std::nullopt, "", ""});
  f.store->put_run({"api", "probe", 4, 1, t - 30min, t - 30min, 10, "down", std::nullopt, std::nullopt, "", ""});
  f.store->put_run({"old", "job", 5, 1, t - 48h, t - 48h, 10, "failure", 1, std::nullopt, "", ""});
  std::optional<alerts::DigestResult> result;
  f.manager->digest("report", [&](alerts::DigestResult r) { result = std::move(r); });
  f.drain();
  f.drain();
  REQUIRE(result);
  CHECK(result->ok);
  INFO(result->text);
  CHECK(result->text.find("job backup: 2 run(s), 1 failed, avg 4s, max 5s") != std::string::npos);
  CHECK(result->text.find("probe api: uptime 50.00%") != std::string::npos);
  CHECK(result->text.find("job old: 0 run(s), 0 failed") != std::string::npos);
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["event"] == "digest");
  CHECK(sent[0].second["severity"] == "info");
}

TEST_CASE("a down probe whose remedy notifies on failures only is held, not sent", "[alerts][lifecycle]") {
  Fixture f;
  events::Event e;
  e.kind = events::Kind::probe;
  e.name = "api";
  e.event = "down";
  e.summary = "probe api is down";
  e.at = f.clock.now();
  e.labels = {{"hold", "remedy"}};
  f.manager->on_event(e);
  CHECK(f.answer_all().empty());
  f.advance(8h);
  CHECK(f.answer_all().empty());
  // The remedy failing is what people hear about.
  f.fire("api", "restart_failed", config::Severity::critical, events::Kind::probe);
  CHECK(f.answer_all().size() == 1);
  // Up again: never told it was down, so no resolve either.
  e.status = events::Status::resolved;
  f.manager->on_event(e);
  CHECK(f.answer_all().empty());
  std::vector<state::AlertLogRecord> log;
  f.store->alert_log("api", 10, [&](std::vector<state::AlertLogRecord> rows) { log = std::move(rows); });
  f.drain();
  REQUIRE(!log.empty());
  CHECK(log.front().event == "down");
  CHECK(log.front().action == "closed");
  CHECK(log.back().action == "held");
}

TEST_CASE("heartbeat: a GET every interval at a fixed rate, failures counted, stops when told", "[alerts][heartbeat]") {
  ManualClock clock(*parse_iso8601("2026-11-21T10:00:00Z"));
  FakeHttp http;
  alerts::Heartbeat hb(clock, http);
  config::HeartbeatConfig cfg{"https://hc-ping.example/SECRET-UUID", 1min};
  hb.configure(cfg);
  REQUIRE(http.pending.size() == 1);  // at once
  CHECK(http.pending.front()->request.method == "GET");
  CHECK(http.pending.front()->request.url == cfg.url);
  CHECK(http.pending.front()->request.timeout == 10s);
  clock.advance(3s);  // a slow answer does not shift the next ping
  REQUIRE(http.answer(FakeHttp::ok()));
  clock.advance(56s);
  CHECK(http.pending.empty());
  clock.advance(1s);
  REQUIRE(http.pending.size() == 1);
  REQUIRE(http.answer(FakeHttp::refused()));
  auto s = hb.status();
  CHECK(s["sent"] == 1);
  CHECK(s["failed"] == 1);
  CHECK(s["last_error"] == "connect refused");
  CHECK(s["target"] == "https://hc-ping.example");
  CHECK(json::serialize(s).find("SECRET") == std::string::npos);
  hb.stop();
  clock.advance(10min);
  CHECK(http.pending.empty());
  CHECK(http.sent == 2);
}

TEST_CASE("a resolve goes out under a silence to whoever was told it fired", "[alerts][silences]") {
  Fixture f;
  f.fire("backup");
  CHECK(f.answer_all().size() == 1);
  REQUIRE(f.manager->silence("backup", 1h, "deploy", "uid 0"));
  f.fire("backup");
  CHECK(f.answer_all().empty());
  f.resolve("backup");
  auto resolved = f.answer_all();
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].second["status"] == "resolved");
  // Fired and resolved within the silence: nobody was told, nothing to take back.
  f.fire("backup");
  f.resolve("backup");
  CHECK(f.answer_all().empty());
}

TEST_CASE("a watch alert told before a restart is closed with a resolve that says why", "[alerts][durability]") {
  Fixture f;
  f.fire("api", "error_rate", config::Severity::warning, events::Kind::watch);
  CHECK(f.answer_all().size() == 1);
  f.open();
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["status"] == "resolved");
  CHECK(std::string(sent[0].second["summary"].as_string()).find("judged afresh") != std::string::npos);
  CHECK(f.manager->status()["firing"].as_array().empty());
}
