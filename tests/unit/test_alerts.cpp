// Alerting: routing and rendering (pure), the outbox's delivery rules, and the alert lifecycle in
// virtual time (ManualClock + FAKE HTTP answered by the test) on a real SQLite state database.
// The real HTTP path and the daemon are covered by tests/integration/test_alerts.py.

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch.hpp>
#include <filesystem>
#include <set>

#include "alerts/engine.hpp"
#include "alerts/heartbeat.hpp"
#include "alerts/lifecycle.hpp"
#include "alerts/notifier.hpp"
#include "alerts/routing.hpp"
#include "config/loader.hpp"
#include "config/plugins.hpp"
#include "support/fake_http.hpp"
#include "support/manual_clock.hpp"
#include "util/text.hpp"

using namespace tend;
using namespace std::chrono_literals;
using tend::testing::FakeHttp;
using tend::testing::ManualClock;
namespace json = boost::json;

namespace {

config::Route make_route(std::vector<std::string> notify, std::optional<std::string> kind = std::nullopt,
                         std::optional<events::Severity> severity = std::nullopt,
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
      make_route({"pager"}, std::nullopt, events::Severity::critical, std::nullopt, /*cont=*/true),
      make_route({"discord"}, "watch"),
      make_route({"slack", "pager"}, std::nullopt, std::nullopt, "db-*"),
      make_route({"slack"}),
  };
  using alerts::route;
  CHECK(route(routes, {events::Severity::critical, "job", "backup", "production"}) ==
        std::vector<std::string>{"pager", "slack"});  // continue: then the default
  CHECK(route(routes, {events::Severity::warning, "watch", "be-5xx", "production"}) ==
        std::vector<std::string>{"discord"});
  CHECK(route(routes, {events::Severity::warning, "job", "db-dump", "production"}) ==
        std::vector<std::string>{"slack", "pager"});
  CHECK(route(routes, {events::Severity::critical, "job", "db-dump", "production"}) ==
        std::vector<std::string>{"pager", "slack"});  // each notifier once
  CHECK(route(routes, {events::Severity::info, "job", "report", "production"}) == std::vector<std::string>{"slack"});

  config::Route env = make_route({"staging-chat"});
  env.match.environment = "staging";
  CHECK(alerts::route({env}, {events::Severity::info, "job", "x", "production"}).empty());
  CHECK(alerts::route({env}, {events::Severity::info, "job", "x", "staging"}) ==
        std::vector<std::string>{"staging-chat"});
}

// ---------------------------------------------------------------- rendering

config::NotifierConfig notifier_of(const std::string& type) {
  config::NotifierConfig n;
  n.name = type;
  n.type = type;
  n.url = "https://hooks.example/x";
  return n;
}

TEST_CASE("the config reader takes exactly the registered notifier types", "[alerts][notifiers]") {
  const auto types = alerts::config_types();
  REQUIRE(types.size() == alerts::notifier_types().size());
  for (std::size_t i = 0; i < types.size(); ++i) {
    INFO(types[i].type);
    CHECK(types[i].type == alerts::notifier_types()[i]->type);
    CHECK(alerts::make_notifier(notifier_of(std::string(types[i].type))) != nullptr);
  }
  CHECK(alerts::make_notifier(notifier_of("email")) == nullptr);
}

TEST_CASE("pagerduty: Events API v2, one incident per alert, the key a secret", "[alerts][notifiers]") {
  // Read through the registered type's own reader, as config does.
  config::Plugins plugins;
  plugins.notifiers = alerts::config_types();
  config::Sources none;
  auto bad =
      config::load_text("notifiers:\n  pd: {type: pagerduty, routing_key: short}\nalerts: {routes: [{notify: [pd]}]}\n",
                        "t.yaml", none, plugins);
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].to_string() ==
        "t.yaml:2:38: notifiers.pd.routing_key: routing_key must be a 32-character integration key");
  auto r = config::load_text(
      "notifiers:\n  pd: {type: pagerduty, routing_key: 0123456789abcdef0123456789abcdef}\nalerts: {routes: [{notify: "
      "[pd]}]}\n",
      "t.yaml", none, plugins);
  REQUIRE(r.config);
  const auto& cfg = r.config->notifiers.at(0);
  CHECK(cfg.url == "https://events.pagerduty.com/v2/enqueue");
  auto pd = alerts::make_notifier(cfg);
  REQUIRE(pd);
  auto n = sample();
  auto trigger = parse(pd->render(n));
  CHECK(trigger["routing_key"] == "0123456789abcdef0123456789abcdef");
  CHECK(trigger["event_action"] == "trigger");
  CHECK(trigger["dedup_key"] == "tend/web-1/job/backup/failure");
  CHECK(trigger["payload"].as_object().at("severity") == "critical");
  CHECK(trigger["payload"].as_object().at("summary") == json::value(n.summary));
  n.status = "resolved";
  n.id = "ffffffffffffffffffffffffffffffff";  // another notification of the same alert
  auto resolve = parse(pd->render(n));
  CHECK(resolve["event_action"] == "resolve");
  CHECK(resolve["dedup_key"] == trigger["dedup_key"]);
  CHECK_FALSE(resolve.contains("payload"));
  CHECK(pd->secrets() == std::vector<std::string>{"0123456789abcdef0123456789abcdef"});
}

TEST_CASE("webhook body is SPEC's payload version 1, exactly", "[alerts][notifiers]") {
  auto n = sample();
  auto body = parse(alerts::make_notifier(notifier_of("webhook"))->render(n));
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
  CHECK(parse(alerts::make_notifier(notifier_of("webhook"))->render(n))["ended_at"] == "2026-11-21T11:00:00Z");
}

TEST_CASE("slack: text, coloured attachment, escaped mrkdwn, detail in a code block", "[alerts][notifiers]") {
  auto n = sample();
  auto body = parse(alerts::make_notifier(notifier_of("slack"))->render(n));
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
  auto resolved = parse(alerts::make_notifier(notifier_of("slack"))->render(n));
  CHECK(std::string(resolved["text"].as_string()).rfind("✅", 0) == 0);
  CHECK(resolved["attachments"].as_array()[0].as_object().at("color") == "#2eb886");

  n.status = "firing";
  n.severity = "warning";
  n.reason = "repeat";
  n.occurrences = 7;
  const std::string repeat(parse(alerts::make_notifier(notifier_of("slack"))->render(n))["text"].as_string());
  CHECK(repeat.rfind("⚠️ [production] STILL FIRING warning", 0) == 0);
  CHECK(repeat.find("(×7)") != std::string::npos);
}

TEST_CASE("discord: content, embed with colour and fields, no mentions, within limits", "[alerts][notifiers]") {
  auto n = sample();
  n.detail = "@everyone " + std::string(10'000, 'x') + " tail-end";
  auto body = parse(alerts::make_notifier(notifier_of("discord"))->render(n));
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
    auto t = tend::keep_tail(s, max);
    INFO(max);
    CHECK(t.size() <= max);
    CHECK(t.find("-end") != std::string::npos);
    CHECK((static_cast<unsigned char>(t[std::string_view("…\n").size()]) & 0xC0U) != 0x80U);
  }
  CHECK(tend::keep_tail("short", 100) == "short");
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

/// The settings of a test entry: alerting only needs entries' names.
struct Entry : config::Settings<Entry> {
  bool operator==(const Entry&) const = default;
};

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
    manager = std::make_unique<alerts::Engine>(alerts::Context{clock, *store, http, "tend-test"});
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
            events::Severity severity = events::Severity::critical, const std::string& kind = "job") {
    const auto* type = events::find_type(kind, event);
    REQUIRE(type != nullptr);
    auto e = events::Event::of(*type, name);
    e.severity = severity;
    e.summary = name + " " + event;
    e.detail = "output";
    e.at = clock.now();
    manager->on_event(e);
  }

  void resolve(const std::string& name, const std::string& event = "failure", const std::string& kind = "job") {
    const auto* type = events::find_type(kind, event);
    REQUIRE(type != nullptr);
    auto e = events::Event::of(*type, name, events::Status::resolved);
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
      c.entries.push_back(config::EntryConfig{"job", name, std::make_shared<Entry>()});
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
  std::unique_ptr<alerts::Engine> manager;
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
  f.fire("backup", "missed", events::Severity::warning);
  CHECK(f.answer_all().size() == 1);
  f.fire("backup", "missed", events::Severity::warning);
  CHECK(f.answer_all().empty());
  f.advance(4h);
  auto repeat = f.answer_all();
  REQUIRE(repeat.size() == 1);
  CHECK(repeat[0].second["occurrences"] == 2);
  f.advance(4h);  // quiet for an interval: over, without a "resolved" message
  CHECK(f.answer_all().empty());
  CHECK(f.manager->status()["firing"].as_array().empty());
  f.fire("backup", "missed", events::Severity::warning);
  CHECK(f.answer_all().size() == 1);  // a new moment is news again
}

TEST_CASE("a change of severity is a new notification", "[alerts][lifecycle]") {
  Fixture f;
  f.fire("api", "error_rate", events::Severity::warning, "watch");
  CHECK(f.answer_all().size() == 1);
  f.fire("api", "error_rate", events::Severity::warning, "watch");
  CHECK(f.answer_all().empty());
  f.fire("api", "error_rate", events::Severity::critical, "watch");
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

// Found by fuzz_request: `tend silence --reason` was cut at 500 bytes inside a character, and the
// invalid UTF-8 then went out in every `tend status` reply, which the client could not read.
TEST_CASE("a silence's reason is kept to 500 bytes of whole characters", "[alerts][silences][fuzz]") {
  Fixture f;
  const std::string reason = std::string(499, 'x') + "\u00e9 and more";  // é is bytes 500 and 501
  REQUIRE(f.manager->silence("backup", 1h, reason, "uid 0"));
  const auto silences = f.manager->status()["silences"].as_array();
  REQUIRE(silences.size() == 1);
  const std::string kept(silences[0].at("reason").as_string());
  CHECK(kept == std::string(499, 'x'));
  CHECK(tend::valid_utf8(kept) == kept);
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

TEST_CASE("a report goes through the routes as an info alert of its entry would", "[alerts][reports]") {
  Fixture f;
  const auto to = f.manager->send_report(events::types::job_digest, "report", "daily digest", "✓ all well\n");
  CHECK(to == std::vector<std::string>{"hook"});
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["event"] == "digest");
  CHECK(sent[0].second["severity"] == "info");
  CHECK(sent[0].second["detail"] == "✓ all well\n");
  CHECK(f.manager->status()["firing"].as_array().empty());  // a report is not an alert
}

TEST_CASE("a down probe whose remedy notifies on failures only is held, not sent", "[alerts][lifecycle]") {
  Fixture f;
  auto e = events::Event::of(events::types::probe_down, "api");
  e.summary = "probe api is down";
  e.at = f.clock.now();
  e.hold = true;
  f.manager->on_event(e);
  CHECK(f.answer_all().empty());
  f.advance(8h);
  CHECK(f.answer_all().empty());
  // The remedy failing is what people hear about.
  f.fire("api", "restart_failed", events::Severity::critical, "probe");
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
  f.fire("api", "error_rate", events::Severity::warning, "watch");
  CHECK(f.answer_all().size() == 1);
  f.open();
  auto sent = f.answer_all();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["status"] == "resolved");
  CHECK(std::string(sent[0].second["summary"].as_string()).find("judged afresh") != std::string::npos);
  CHECK(f.manager->status()["firing"].as_array().empty());
}

// ---------------------------------------------------------------- the lifecycle alone (pure)

namespace {

struct Routes final : alerts::Decisions {
  std::vector<std::string> to = {"hook"};
  std::set<std::string> muted_names;
  [[nodiscard]] std::vector<std::string> route(const alerts::Alert& /*a*/) const override { return to; }
  [[nodiscard]] bool muted(const std::string& name, WallTime /*now*/) const override {
    return muted_names.count(name) > 0;
  }
};

events::Event event_of(const events::EventType& type, const std::string& name, WallTime at,
                       events::Status status = events::Status::firing) {
  auto e = events::Event::of(type, name, status);
  e.at = at;
  e.summary = name + " " + std::string(type.name);
  return e;
}

}  // namespace

TEST_CASE("lifecycle: decisions as data, in virtual time, with no I/O", "[alerts][lifecycle][pure]") {
  Routes routes;
  alerts::Lifecycle lc(routes);
  config::AlertsConfig policy;
  policy.repeat_interval = 4h;
  policy.escalate = config::EscalateConfig{30min, {"pager"}};
  lc.configure(policy);
  const auto t0 = *parse_iso8601("2026-11-21T10:00:00Z");

  alerts::Effects fx;
  for (int i = 0; i < 1000; ++i) {  // a burst: one notification, the rest counted
    lc.observe(event_of(events::types::job_failure, "backup", t0), t0, fx);
  }
  REQUIRE(fx.sends.size() == 1);
  CHECK(fx.sends[0].reason == alerts::Reason::firing);
  CHECK(fx.sends[0].to == std::vector<std::string>{"hook"});
  CHECK(lc.alerts().at("job/backup/failure")->occurrences == 1000);
  CHECK(fx.log.size() == 1);  // the first line; more of the same at most once a minute
  CHECK(fx.writes.back().alert->occurrences == 1000);
  CHECK(lc.next_due() == t0 + 30min);  // the escalation comes first

  fx = {};
  lc.tick(t0 + 30min, fx);
  REQUIRE(fx.sends.size() == 1);
  CHECK(fx.sends[0].reason == alerts::Reason::escalation);
  CHECK(fx.sends[0].to == std::vector<std::string>{"pager"});
  CHECK(lc.next_due() == t0 + 4h);

  fx = {};
  lc.tick(t0 + 4h, fx);
  REQUIRE(fx.sends.size() == 1);
  CHECK(fx.sends[0].reason == alerts::Reason::repeat);
  CHECK(fx.sends[0].to == std::vector<std::string>{"hook"});  // the escalation target is told once

  fx = {};
  lc.observe(event_of(events::types::job_failure, "backup", t0 + 5h, events::Status::resolved), t0 + 5h, fx);
  REQUIRE(fx.sends.size() == 1);
  CHECK(fx.sends[0].reason == alerts::Reason::resolved);
  CHECK(fx.sends[0].to == std::vector<std::string>{"hook", "pager"});  // everyone told it fired
  REQUIRE(fx.writes.size() == 1);
  CHECK_FALSE(fx.writes[0].alert);  // deleted
  CHECK(lc.alerts().empty());
  CHECK_FALSE(lc.next_due());
}

TEST_CASE("lifecycle: silenced and held alerts are recorded, never sent", "[alerts][lifecycle][pure]") {
  Routes routes;
  routes.muted_names = {"backup"};
  alerts::Lifecycle lc(routes);
  lc.configure({});
  const auto t0 = *parse_iso8601("2026-11-21T10:00:00Z");
  alerts::Effects fx;
  lc.observe(event_of(events::types::job_failure, "backup", t0), t0, fx);
  auto held = event_of(events::types::probe_down, "api", t0);
  held.hold = true;
  lc.observe(held, t0, fx);
  CHECK(fx.sends.empty());
  REQUIRE(fx.log.size() == 2);
  CHECK(fx.log[0].action == "silenced");
  CHECK(fx.log[1].action == "held");
  routes.muted_names.clear();  // the silence ends: what still fires is told now
  fx = {};
  lc.release("backup", t0 + 1h, fx);
  REQUIRE(fx.sends.size() == 1);
  CHECK(fx.sends[0].alert.name == "backup");
}

TEST_CASE("alerts persist through value_from / value_to, and refuse what is not one", "[alerts][durability]") {
  alerts::Alert a;
  a.key = "watch/api/error_rate";
  a.kind = "watch";
  a.name = "api";
  a.event = "error_rate";
  a.severity = events::Severity::warning;
  a.summary = "7% 5xx";
  a.detail = "ü \xEF\xBF\xBD";
  a.labels = {{"rate", "7%"}};
  a.started_at = *parse_iso8601("2026-11-21T10:00:00Z");
  a.occurrences = 3;
  a.notifiers = {"hook"};
  a.last_notified = a.started_at;
  const auto text = json::serialize(json::value_from(a));
  const auto back = json::value_to<alerts::Alert>(json::parse(text));
  CHECK(back.summary == a.summary);
  CHECK(back.detail == a.detail);
  CHECK(back.labels == a.labels);
  CHECK(back.severity == events::Severity::warning);
  CHECK(back.notifiers == a.notifiers);
  CHECK(back.last_notified == a.last_notified);
  CHECK(back.type() == &events::types::watch_error_rate);
  auto broken = json::parse(text).as_object();
  broken["severity"] = "urgent";  // never silently critical
  CHECK_THROWS(json::value_to<alerts::Alert>(json::value(broken)));
}

// ---------------------------------------------------------------- grouping, inhibition, flapping

namespace {

/// A fixture whose route tells a webhook, a Slack and a Discord notifier, grouping by kind and
/// event, with `probes` probe entries api-0 .. api-N.
void grouping_config(Fixture& f, int probes) {
  for (const auto& [name, type] : {std::pair{"chat", "slack"}, std::pair{"disc", "discord"}}) {
    config::NotifierConfig n;
    n.name = name;
    n.type = type;
    n.url = std::string("https://hooks.example/") + name + "/x";
    f.cfg.notifiers.push_back(n);
  }
  f.cfg.alerts.routes = {make_route({"hook", "chat", "disc"})};
  f.cfg.alerts.group_by = {"kind", "event"};
  f.cfg.alerts.group_wait = 30s;
  f.cfg.alerts.group_interval = 5min;
  for (int i = 0; i < probes; ++i) {
    f.cfg.entries.push_back(config::EntryConfig{"probe", "api-" + std::to_string(i), std::make_shared<Entry>()});
  }
  f.open();
}

std::map<std::string, json::object> by_notifier(const std::vector<std::pair<std::string, json::object>>& sent) {
  std::map<std::string, json::object> out;
  for (const auto& [url, body] : sent) {
    for (const char* n : {"hook", "chat", "disc"}) {
      if (sent_to(url, n)) {
        CHECK(out.count(n) == 0);  // one message per notifier
        out[n] = body;
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("grouping: 50 probes down in 3 s are one message per notifier; 10 more one update; all back one resolve",
          "[alerts][grouping]") {
  Fixture f;
  grouping_config(f, 60);
  for (int i = 0; i < 50; ++i) {
    f.fire("api-" + std::to_string(i), "down", events::Severity::critical, "probe");
    f.advance(60ms);
  }
  CHECK(f.answer_all().empty());  // waiting group_wait for company
  f.advance(30s - 50 * 60ms - 1ms);
  CHECK(f.answer_all().empty());
  f.advance(2ms);
  auto first = by_notifier(f.answer_all());
  REQUIRE(first.size() == 3);
  const auto& hook = first["hook"];
  CHECK(hook.at("status") == "firing");
  CHECK(hook.at("kind") == "probe");
  CHECK(hook.at("event") == "down");
  CHECK(hook.at("version") == 1);
  const auto& members = hook.at("group").at("members").as_array();
  REQUIRE(members.size() == 50);
  std::set<std::string> names;
  for (const auto& m : members) {
    CHECK_FALSE(m.as_object().contains("version"));
    names.insert(std::string(m.at("name").as_string()));
  }
  CHECK(names.size() == 50);
  CHECK(names.count("api-0") == 1);
  CHECK(names.count("api-49") == 1);
  CHECK(hook.at("group").at("key").as_string().find("kind=probe,event=down") == 0);
  const std::string slack_text(first["chat"].at("text").as_string());
  CHECK(slack_text.find("50 alerts of probes (down): 50 firing, 0 resolved") != std::string::npos);
  const std::string slack_lines(first["chat"].at("attachments").at(0).at("text").as_string());
  CHECK(slack_lines.find("api-17 down") != std::string::npos);
  const std::string discord_lines(first["disc"].at("embeds").at(0).at("description").as_string());
  CHECK(discord_lines.find("api-49 down") != std::string::npos);

  // The same message again (a retry, a restart) keeps its id: derived from the members'.
  const std::string group_id(hook.at("id").as_string());
  CHECK(group_id.size() == 32);

  // 10 more within the interval: one update per notifier, a group_interval after the first.
  f.advance(1min);
  for (int i = 50; i < 60; ++i) {
    f.fire("api-" + std::to_string(i), "down", events::Severity::critical, "probe");
    f.advance(1s);
  }
  CHECK(f.answer_all().empty());
  f.advance(5min - 1min - 10s - 1s);
  CHECK(f.answer_all().empty());
  f.advance(2s);
  auto update = by_notifier(f.answer_all());
  REQUIRE(update.size() == 3);
  CHECK(update["hook"].at("group").at("members").as_array().size() == 10);
  CHECK(update["hook"].at("id") != hook.at("id"));

  // All resolve: one resolved message per notifier, naming all 60.
  f.advance(10s);
  for (int i = 0; i < 60; ++i) {
    f.resolve("api-" + std::to_string(i), "down", "probe");
  }
  CHECK(f.answer_all().empty());
  f.advance(5min);
  auto resolved = by_notifier(f.answer_all());
  REQUIRE(resolved.size() == 3);
  CHECK(resolved["hook"].at("status") == "resolved");
  CHECK(resolved["hook"].at("group").at("members").as_array().size() == 60);
  CHECK(std::string(resolved["chat"].at("text").as_string()).find("60 firing") == std::string::npos);
  CHECK(std::string(resolved["chat"].at("text").as_string()).find("0 firing, 60 resolved") != std::string::npos);
  // The group is closed: nothing more, not even after another interval.
  f.advance(10min);
  CHECK(f.answer_all().empty());
  CHECK(f.manager->groups().empty());
}

TEST_CASE("grouping: a group of one is a single alert; other keys, routes and PagerDuty stay apart",
          "[alerts][grouping]") {
  Fixture f;
  // PagerDuty as config reads it (its routing key is its own setting).
  config::Plugins plugins;
  plugins.notifiers = alerts::config_types();
  config::Sources none;
  auto read = config::load_text(
      "notifiers:\n  pd: {type: pagerduty, url: 'https://events.example/pd/v2/enqueue', routing_key: "
      "0123456789abcdef0123456789abcdef}\nalerts: {routes: [{notify: [pd]}]}\n",
      "t.yaml", none, plugins);
  REQUIRE(read.config);
  f.cfg.notifiers.push_back(read.config->notifiers.at(0));
  grouping_config(f, 3);
  f.cfg.alerts.routes = {make_route({"hook", "pd"}, "probe"), make_route({"hook"})};
  f.open();
  f.fire("api-0", "down", events::Severity::critical, "probe");
  f.fire("api-1", "down", events::Severity::critical, "probe");
  f.fire("backup", "failure");  // another kind: another group (and another route)
  // PagerDuty (incidents per alert) is not grouped: sent at once, one per alert.
  auto now = f.answer_all();
  REQUIRE(now.size() == 2);
  CHECK(sent_to(now[0].first, "pd"));
  CHECK(sent_to(now[1].first, "pd"));
  f.advance(30s);
  auto later = f.answer_all();
  REQUIRE(later.size() == 2);
  std::map<std::string, json::object> bodies;
  for (const auto& [url, body] : later) {
    bodies[std::string(body.at("kind").as_string())] = body;
  }
  CHECK(bodies["probe"].at("group").at("members").as_array().size() == 2);
  // A group of one is sent as today: payload v1 without "group".
  CHECK(bodies["job"].at("name") == "backup");
  CHECK_FALSE(bodies["job"].contains("group"));
}

TEST_CASE("grouping: a group waiting when the daemon dies is sent once after the restart",
          "[alerts][grouping][durability]") {
  Fixture f;
  grouping_config(f, 5);
  for (int i = 0; i < 5; ++i) {
    f.fire("api-" + std::to_string(i), "down", events::Severity::critical, "probe");
  }
  CHECK(f.answer_all().empty());
  f.open();  // a restart (the rows stay, with their group key and not_before)
  CHECK(f.answer_all().empty());
  f.advance(30s);
  auto sent = by_notifier(f.answer_all());
  REQUIRE(sent.size() == 3);
  CHECK(sent["hook"].at("group").at("members").as_array().size() == 5);
  // The id is the members' (the same message composed again after a second restart would keep it).
  std::vector<alerts::Notification> members;
  for (const auto& m : sent["hook"].at("group").at("members").as_array()) {
    alerts::Notification n;
    n.id = std::string(m.at("id").as_string());
    members.push_back(n);
  }
  std::reverse(members.begin(), members.end());
  CHECK(sent["hook"].at("id") == json::value(alerts::group_id(members)));
  f.open();
  f.advance(1h);
  CHECK(f.answer_all().empty());  // sent means sent: nothing again
}

TEST_CASE("grouping: a failed group message is retried whole, with the same id", "[alerts][grouping][outbox]") {
  Fixture f;
  grouping_config(f, 3);
  f.cfg.alerts.routes = {make_route({"hook"})};
  f.open();
  for (int i = 0; i < 3; ++i) {
    f.fire("api-" + std::to_string(i), "down", events::Severity::critical, "probe");
  }
  f.drain();  // written (in milliseconds, as in life) well before the group's wait is over
  f.advance(30s);
  auto failed = f.answer_all(FakeHttp::ok(503));
  REQUIRE(failed.size() == 1);
  f.advance(2s);
  auto again = f.answer_all();
  REQUIRE(again.size() == 1);
  CHECK(again[0].second.at("id") == failed[0].second.at("id"));
  CHECK(again[0].second.at("group").at("members").as_array().size() == 3);
}

TEST_CASE("grouping: a webhook group message lists members within 256 KiB and counts the rest", "[alerts][grouping]") {
  alerts::GroupMessage g;
  g.id = "g";
  g.key = "kind=probe,event=down -> hook";
  for (int i = 0; i < 3000; ++i) {
    auto n = sample();
    n.name = "api-" + std::to_string(i);
    n.detail = std::string(1000, 'x');  // output tails make members big
    g.members.push_back(n);
  }
  const std::string body = json::serialize(alerts::group_payload_v1(g));
  CHECK(body.size() <= alerts::kMaxGroupMembersBytes + 4096);  // the list, plus the top fields
  const auto doc = json::parse(body);
  const auto listed = doc.at("group").at("members").as_array().size();
  CHECK(listed > 100);
  CHECK(listed < 3000);
  CHECK(doc.at("group").at("count") == 3000);
  CHECK(doc.at("group").at("omitted").as_int64() == static_cast<std::int64_t>(3000 - listed));
  // A small group is listed whole; a single huge member is still listed.
  g.members.resize(50);
  CHECK(json::parse(json::serialize(alerts::group_payload_v1(g))).at("group").at("omitted") == 0);
  g.members.resize(1);
  g.members[0].detail = std::string(300 * 1024, 'y');
  CHECK(json::parse(json::serialize(alerts::group_payload_v1(g))).at("group").at("members").as_array().size() == 1);
}

TEST_CASE("inhibition: a target is recorded, not sent, while its source fires; sent when the source resolves",
          "[alerts][inhibit]") {
  Fixture f;
  for (const char* n : {"db", "api-0", "api-1"}) {
    f.cfg.entries.push_back(config::EntryConfig{"probe", n, std::make_shared<Entry>()});
  }
  SECTION("without a rule both are sent") {
    f.open();
    f.fire("db", "down", events::Severity::critical, "probe");
    f.fire("api-0", "down", events::Severity::critical, "probe");
    CHECK(f.answer_all().size() == 2);
  }
  SECTION("with a rule the target waits for its source") {
    config::InhibitRule rule;
    rule.source.labels = {{"kind", "probe"}, {"name", "db"}};
    rule.target.labels = {{"kind", "probe"}, {"name", "api-*"}};
    rule.equal = {"environment"};
    f.cfg.alerts.inhibit = {rule};
    f.open();
    f.fire("db", "down", events::Severity::critical, "probe");
    f.fire("api-0", "down", events::Severity::critical, "probe");
    auto sent = f.answer_all();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].second.at("name") == "db");
    // Recorded with the rule that held it.
    auto firing = f.manager->status()["firing"].as_array();
    REQUIRE(firing.size() == 2);
    for (const auto& a : firing) {
      if (a.at("name") == "api-0") {
        CHECK(std::string(a.at("inhibited_by").as_string()).find("inhibit[0]") == 0);
      } else {
        CHECK(a.at("inhibited_by").is_null());
      }
    }
    std::vector<state::AlertLogRecord> log;
    f.store->alert_log("api-0", 10, [&](std::vector<state::AlertLogRecord> rows) { log = std::move(rows); });
    f.drain();
    REQUIRE_FALSE(log.empty());
    CHECK(log[0].action == "inhibited");
    CHECK(log[0].note.find("source kind=probe name=db") != std::string::npos);
    // The source resolves while the target still fires: the target is sent now.
    f.resolve("db", "down", "probe");
    auto after = f.answer_all();
    REQUIRE(after.size() == 2);
    std::set<std::pair<std::string, std::string>> got;
    for (const auto& [url, body] : after) {
      got.emplace(body.at("name").as_string().c_str(), body.at("status").as_string().c_str());
    }
    const std::set<std::pair<std::string, std::string>> expected{{"db", "resolved"}, {"api-0", "firing"}};
    CHECK(got == expected);
    // A target that resolved while held is never told (nobody heard it fire).
    f.fire("db", "down", events::Severity::critical, "probe");
    f.fire("api-1", "down", events::Severity::critical, "probe");
    f.resolve("api-1", "down", "probe");
    auto third = f.answer_all();
    REQUIRE(third.size() == 1);
    CHECK(third[0].second.at("name") == "db");
  }
}

TEST_CASE("flapping: exactly `changes` flips are sent; one more is one flapping notice, then quiet until stable",
          "[alerts][flapping]") {
  Fixture f;
  f.cfg.alerts.flapping = config::FlappingConfig{4, 10min};
  f.open();
  // 4 changes (fire, resolve, fire, resolve): at the threshold, all sent as they happen.
  for (int i = 0; i < 2; ++i) {
    f.fire("backup");
    f.advance(10s);
    f.resolve("backup");
    f.advance(10s);
  }
  auto at_threshold = f.answer_all();
  REQUIRE(at_threshold.size() == 4);
  // The fifth change is past it: one "flapping" notice, then nothing for any number of flips.
  f.fire("backup");
  auto notice = f.answer_all();
  REQUIRE(notice.size() == 1);
  CHECK(notice[0].second.at("status") == "flapping");
  for (int i = 0; i < 100; ++i) {
    f.resolve("backup");
    f.advance(1s);
    f.fire("backup");
    f.advance(1s);
  }
  CHECK(f.answer_all().empty());
  // Stable (firing) for one window: its final state is sent, once.
  f.advance(10min);
  auto final_state = f.answer_all();
  REQUIRE(final_state.size() == 1);
  CHECK(final_state[0].second.at("status") == "firing");
  f.advance(10min);
  CHECK(f.answer_all().empty());
}
