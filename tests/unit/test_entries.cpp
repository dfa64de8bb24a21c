// The entry contract and its registry, kind-blind: a test kind registered here proves that a new
// kind needs nothing but its own code and a KindSpec (the daemon's kinds are tested in their own
// files and, together, in test_builtins and the integration tests).

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch.hpp>
#include <filesystem>

#include "config/loader.hpp"
#include "entries/documents.hpp"
#include "entries/registry.hpp"
#include "events/event.hpp"
#include "metrics/exposition.hpp"
#include "remedies/remedy.hpp"
#include "support/fake_http.hpp"
#include "support/fake_launcher.hpp"
#include "support/manual_clock.hpp"
#include "util/log.hpp"

using namespace tend;
using namespace std::chrono_literals;

namespace {

/// A fifth kind, "gauge": one folder's worth of code, here in the test.
struct GaugeConfig : config::Settings<GaugeConfig> {
  static constexpr std::string_view kKind = "gauge";
  std::string name;
  int level = 0;
  bool operator==(const GaugeConfig&) const = default;
};

struct Journal {
  std::vector<std::string> lines;
};

class Gauge final : public entries::Entry {
 public:
  Gauge(entries::Services& s, GaugeConfig cfg, Journal& journal)
      : Entry(GaugeConfig::kKind, cfg.name, s.clock, log::get("test")), cfg_(std::move(cfg)), journal_(journal) {}
  [[nodiscard]] const config::EntrySettings& settings() const override { return cfg_; }
  int start(const entries::Saved& saved) override {
    journal_.lines.push_back("start " + cfg_.name + (saved.last ? " last=" + saved.last->outcome : "") +
                             (saved.boot ? " boot" : " reload"));
    return cfg_.level;  // "missed ticks"
  }
  void update(const config::EntryConfig& cfg) override {
    cfg_ = cfg.as<GaugeConfig>();
    journal_.lines.push_back("update " + cfg_.name);
  }
  void retire() override { journal_.lines.push_back("retire " + cfg_.name); }
  [[nodiscard]] Duration stop_grace() const override { return Duration(cfg_.level * 1000); }
  [[nodiscard]] boost::json::object status_entry() const override { return status_head("steady"); }
  void metrics(metrics::Collector& c) const override { entry_series(c, "steady"); }

 protected:
  void on_resume() override { journal_.lines.push_back("resumed " + cfg_.name); }

 private:
  GaugeConfig cfg_;
  Journal& journal_;
};

Journal journal;

std::shared_ptr<const config::EntrySettings> read_gauge(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& /*ctx*/) {
  auto g = std::make_shared<GaugeConfig>();
  g->name = name;
  m.read("level", g->level, 0, 100);
  return g;
}

const entries::KindSpec kGauge{{"gauge", "gauges", read_gauge},
                               [](entries::Services& s, const config::EntryConfig& cfg) {
                                 return std::make_shared<Gauge>(s, cfg.as<GaugeConfig>(), journal);
                               }};
const entries::KindSpec* const kKinds[] = {&kGauge};

config::EntryConfig gauge(const std::string& name, int level) {
  auto g = std::make_shared<GaugeConfig>();
  g->name = name;
  g->level = level;
  return config::EntryConfig{"gauge", name, g};
}

struct NoBuiltins final : entries::Builtins {
  void run(const std::string&, const std::string&, entries::BuiltinDone done) override { done(false, "none", ""); }
};

struct Fixture {
  // The store exists before `services` binds a reference to it (members in declaration order).
  Fixture()
      : dir(std::filesystem::temp_directory_path() / ("tend-entries-" + std::to_string(::getpid()))),
        clock(*parse_iso8601("2026-11-21T10:00:00Z")),
        store((std::filesystem::create_directories(dir),
               std::make_unique<state::Store>(io, (dir / "tend.db").string()))) {
    store->start(clock.now());
    journal.lines.clear();
  }
  ~Fixture() {
    registry.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  boost::asio::io_context io;
  std::filesystem::path dir;
  testing::ManualClock clock;
  std::unique_ptr<state::Store> store;
  events::Bus bus;
  testing::FakeLauncher launcher;
  testing::FakeHttp http;
  remedies::Context remedies{io, launcher};
  NoBuiltins builtins;
  Spread spread;
  config::DaemonConfig daemon;
  entries::Services services{io,
                             clock,
                             *store,
                             bus,
                             launcher,
                             http,
                             remedies,
                             builtins,
                             spread,
                             daemon,
                             clock.mono_now(),
                             [] { return std::int64_t{1}; },
                             [](Duration d) { return d; }};
  std::unique_ptr<entries::Registry> registry = std::make_unique<entries::Registry>(services, kKinds);
};

}  // namespace

TEST_CASE("registry: start restores each entry's own saved state", "[entries][registry]") {
  Fixture f;
  state::Loaded loaded;
  // The newest record of "a" as a gauge, and one of another kind with the same name elsewhere.
  loaded.last_results.push_back({"a", "gauge", 1, 1, f.clock.now(), f.clock.now(), 0, "fine", {}, {}, "", ""});
  loaded.last_results.push_back({"b", "job", 2, 1, f.clock.now(), f.clock.now(), 0, "failure", {}, {}, "", ""});
  const int missed = f.registry->start({gauge("a", 2), gauge("b", 3)}, loaded);
  CHECK(missed == 5);
  CHECK(journal.lines == std::vector<std::string>{"start a last=fine boot", "start b boot"});
  CHECK(f.registry->count("gauge") == 2);
  CHECK(f.registry->stop_grace() == 3s);
}

TEST_CASE("registry: reload keeps unchanged entries as they are", "[entries][registry]") {
  Fixture f;
  f.registry->start({gauge("a", 1), gauge("b", 1)}, {});
  auto a = f.registry->find("a");
  journal.lines.clear();
  auto diff = f.registry->apply({gauge("a", 1), gauge("b", 2), gauge("c", 0)});
  CHECK(diff.added == std::vector<std::string>{"c"});
  CHECK(diff.changed == std::vector<std::string>{"b"});
  CHECK(diff.removed.empty());
  CHECK(f.registry->find("a") == a);  // the same object: state and timers kept
  CHECK(journal.lines == std::vector<std::string>{"update b", "start c reload"});
  journal.lines.clear();
  diff = f.registry->apply({gauge("a", 1)});
  CHECK(diff.removed == std::vector<std::string>{"b", "c"});
  CHECK(journal.lines == std::vector<std::string>{"retire b", "retire c"});
  CHECK(f.registry->all().size() == 1);
}

TEST_CASE("entries: pause, resume and the status head are the contract's", "[entries]") {
  Fixture f;
  f.registry->start({gauge("a", 0)}, {});
  auto a = f.registry->find("a");
  a->pause(f.clock.now() + 10min);
  auto head = a->status_entry();
  CHECK(head["kind"] == "gauge");
  CHECK(head["state"] == "steady");
  CHECK(head["paused"] == true);
  CHECK(head["paused_until"] == "2026-11-21T10:10:00Z");
  f.clock.advance(10min);  // a timed pause ends by itself
  CHECK_FALSE(a->paused());
  CHECK(journal.lines.back() == "resumed a");
  // Capabilities it does not have say so, naming the kind.
  CHECK(a->run_now(nullptr).error().find("'a' is a gauge") != std::string::npos);
  CHECK_FALSE(a->report(boost::json::object{}, f.clock.now()));
  CHECK_FALSE(a->live_output());
}

TEST_CASE("entries: every entry exports its series through the contract", "[entries][metrics]") {
  Fixture f;
  f.registry->start({gauge("a", 0), gauge("b", 0)}, {});
  f.registry->find("b")->pause(std::nullopt);
  metrics::Collector c;
  for (const auto& e : f.registry->all()) {
    e->metrics(c);
  }
  std::string text;
  c.render(text);
  CHECK(text.find("# TYPE tend_entry_state gauge\n") != std::string::npos);
  CHECK(text.find("tend_entry_state{kind=\"gauge\",name=\"a\",state=\"steady\"} 1\n") != std::string::npos);
  CHECK(text.find("tend_entry_paused{kind=\"gauge\",name=\"a\"} 0\n") != std::string::npos);
  CHECK(text.find("tend_entry_paused{kind=\"gauge\",name=\"b\"} 1\n") != std::string::npos);
}

TEST_CASE("config reads a kind's section through its registered reader", "[entries][config]") {
  config::Plugins plugins;
  plugins.sections.push_back(kGauge.section);
  config::Sources none;
  auto r = config::load_text("gauges:\n  g1: {level: 7}\n  g2: {levle: 1}\n", "t.yaml", none, plugins);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "t.yaml:3:8: gauges.g2.levle: unknown key 'levle' (did you mean 'level'?)");
  r = config::load_text("gauges:\n  g1: {level: 7}\n", "t.yaml", none, plugins);
  REQUIRE(r.config);
  REQUIRE(r.config->all<GaugeConfig>().size() == 1);
  CHECK(r.config->all<GaugeConfig>()[0]->level == 7);
}
