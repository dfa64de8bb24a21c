#include "web/pages.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "http/url.hpp"
#include "web/charts.hpp"
#include "web/html.hpp"
#include "web/target.hpp"

namespace tend::web {
namespace {

namespace json = boost::json;

// Hand-written, no framework: custom properties for the two colour schemes, a table that
// becomes cards below 760 px, and the chart classes (charts.hpp).
constexpr std::string_view kStyle = R"css(
:root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--info:#0969da;--none:#818b98;--okbg:#dafbe1;--badbg:#ffebe9;--warnbg:#fff8c5;--infobg:#ddf4ff;--nonebg:#eff2f5}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#151b23;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--info:#4493f8;--none:#6e7681;--okbg:#12261e;--badbg:#301416;--warnbg:#2b2111;--infobg:#0c2042;--nonebg:#212830}}
*{box-sizing:border-box}
html{color-scheme:light dark}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:1440px;margin:0 auto;padding:12px 16px 40px}
a{color:var(--info);text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:20px;margin:6px 0 2px;font-weight:600}h2{font-size:16px;margin:28px 0 8px;font-weight:600}
.meta{color:var(--muted);margin:0}
.banner{border:1px solid var(--bad);background:var(--badbg);padding:8px 12px;border-radius:6px;margin:12px 0;overflow-wrap:anywhere}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0 4px;padding:0;list-style:none}
.summary li{padding:3px 12px;border-radius:999px;border:1px solid var(--line);background:var(--card)}
.summary li.bad{border-color:var(--bad);color:var(--bad);background:var(--badbg)}
.summary li.warn{border-color:var(--warn);color:var(--warn);background:var(--warnbg)}
.summary li.ok{border-color:var(--ok);color:var(--ok);background:var(--okbg)}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.bad>td:first-child{box-shadow:inset 3px 0 var(--bad)}tr.warn>td:first-child{box-shadow:inset 3px 0 var(--warn)}
.badge{display:inline-block;min-width:5.2em;text-align:center;padding:0 8px;border-radius:999px;font-weight:600;font-size:12px;border:1px solid;white-space:nowrap}
.ok .badge,.badge.ok{color:var(--ok);background:var(--okbg)}.bad .badge,.badge.bad{color:var(--bad);background:var(--badbg)}
.warn .badge,.badge.warn{color:var(--warn);background:var(--warnbg)}.info .badge,.badge.info{color:var(--info);background:var(--infobg)}
.none .badge,.badge.none{color:var(--muted);background:var(--nonebg)}
.res.ok{color:var(--ok)}.res.bad{color:var(--bad)}.res.warn{color:var(--warn)}.res.info{color:var(--info)}.res.none{color:var(--muted)}
.reason{color:var(--muted);overflow-wrap:anywhere}
.rel{color:var(--muted);white-space:nowrap}time{white-space:nowrap}
.tag{font-size:11px;padding:0 6px;border-radius:4px;background:var(--nonebg);color:var(--muted);margin-left:6px;white-space:nowrap}
.name{font-weight:600;overflow-wrap:anywhere}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}.facts dt{color:var(--muted)}.facts dd{margin:0;overflow-wrap:anywhere}
.panel{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:var(--card);margin:8px 0}
svg.chart{width:100%;height:auto;display:block}svg.spark{width:120px;height:16px;display:block}
svg .ok{fill:var(--ok)}svg .bad{fill:var(--bad)}svg .warn{fill:var(--warn)}svg .info{fill:var(--info)}svg .none{fill:var(--nonebg)}
svg .grid line{stroke:var(--line);stroke-width:1}svg .axis text{fill:var(--muted);font-size:11px}
svg .line{fill:none;stroke:var(--info);stroke-width:1.5;stroke-linejoin:round}svg .mark{stroke:var(--bg);stroke-width:1}
footer{margin-top:28px;color:var(--muted);font-size:12px}
.chunk{content-visibility:auto;contain-intrinsic-size:auto 3600px}.chunk+.chunk thead{display:none}
.t-entries{table-layout:fixed}.t-entries col:nth-child(1){width:7.5em}.t-entries col:nth-child(2){width:18%}
.t-entries col:nth-child(3){width:4.5em}.t-entries col:nth-child(4),.t-entries col:nth-child(5){width:10em}
.t-entries col:nth-child(6){width:22%}.t-entries col:nth-child(8){width:136px}
.sub{display:block;color:var(--muted);font-weight:400;overflow-wrap:anywhere}
@media (max-width:760px){main{padding:8px}table.cards thead{display:none}
table.cards tr{display:block;border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:4px 0}
table.cards td{display:block;border:0;padding:2px 10px;text-align:right;overflow-wrap:anywhere}
table.cards td::before{float:left;margin-right:12px;color:var(--muted);font-size:12px;text-align:left}
table.cards td::after{content:"";display:block;clear:both}
table.cards td:empty{display:none}tr.bad>td:first-child,tr.warn>td:first-child{box-shadow:none}}
)css";

/// One render's view of the context, with a zone cache: a page has thousands of times.
struct View {
  explicit View(const PageContext& c)
      : now(c.now), zone(c.zone), refresh(c.refresh), clock(c.zone), today(clock.format(c.now).substr(0, 10)) {}
  WallTime now;
  const date::time_zone* zone;
  std::chrono::seconds refresh;
  LocalClock clock;
  std::string today;
};

void esc(std::string& out, std::string_view s) { append_html(out, s); }

/// A table's columns: its header row, and on a phone (cards) the label before each value.
struct Table {
  const char* cls;
  std::vector<const char*> columns;
};
const Table kAlerts{"t-alerts", {"Severity", "Entry", "Event", "Since", "Count", "Summary"}};
const Table kSilences{"t-silences", {"Target", "Until", "Reason", "By"}};
const Table kDelivery{"t-delivery", {"Notifier", "Target", "Pending", "Sent", "Given up", "Last sent", "Last error"}};
const Table kEntries{"t-entries", {"State", "Name", "Kind", "Last run", "Next run", "Result", "Details", "Recent"}};
const Table kHistory{"t-history", {"Started", "Outcome", "Duration", "Attempt", "Exit", "Reason", "Run"}};

/// The stylesheet, with the card labels of every table (CSS, not an attribute on each of
/// thousands of cells: a third less HTML for the browser to parse).
const std::string& stylesheet() {
  static const std::string css = [] {
    std::string s(kStyle);
    s += "@media (max-width:760px){";
    for (const Table* t : {&kAlerts, &kSilences, &kDelivery, &kEntries, &kHistory}) {
      for (std::size_t i = 0; i < t->columns.size(); ++i) {
        s += '.';
        s += t->cls;
        s += " td:nth-child(" + std::to_string(i + 1) + ")::before{content:\"";
        s += t->columns[i];
        s += "\"}";
      }
    }
    s += "}\n";
    return s;
  }();
  return css;
}

void open_table(std::string& out, const Table& t, std::size_t columns = 0) {
  out += "<table class=\"cards ";
  out += t.cls;
  out += "\">";
  const auto n = columns == 0 ? t.columns.size() : columns;
  if (&t == &kEntries) {
    out += "<colgroup>";
    for (std::size_t i = 0; i < n; ++i) {
      out += "<col>";
    }
    out += "</colgroup>";
  }
  out += "<thead><tr>";
  for (std::size_t i = 0; i < n; ++i) {
    out += "<th>";
    out += t.columns[i];
    out += "</th>";
  }
  out += "</tr></thead><tbody>\n";
}

/// A string from a document as it may be shown: URLs cut to scheme://host.
std::string shown(std::string_view s) {
  if (s.find("://") != std::string_view::npos) {
    // Keep any text around a URL readable, but drop everything after the host of each URL.
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
      const auto p = s.find("://", i);
      if (p == std::string_view::npos) {
        out.append(s.substr(i));
        break;
      }
      auto b = p;
      while (b > i && (std::isalnum(static_cast<unsigned char>(s[b - 1])) != 0 || s[b - 1] == '+' || s[b - 1] == '-' ||
                       s[b - 1] == '.')) {
        --b;
      }
      auto e = p + 3;
      while (e < s.size() && s[e] != ' ' && s[e] != '"' && s[e] != '\'' && s[e] != '<' && s[e] != '>' && s[e] != '\n' &&
             s[e] != '\t') {
        ++e;
      }
      out.append(s.substr(i, b - i));
      out += http::redact_url(std::string(s.substr(b, e - b)));
      i = e;
    }
    return out;
  }
  return std::string(s);
}

void esc_shown(std::string& out, std::string_view s) { esc(out, shown(s)); }

const char* severity_class(std::string_view s) {
  if (s == "critical") {
    return "bad";
  }
  if (s == "warning") {
    return "warn";
  }
  return "info";
}

/// Local time: the clock time alone for today, with the date otherwise.
std::string short_time(WallTime t, View& ctx) {
  auto full = ctx.clock.format(t);
  return full.compare(0, 10, ctx.today) == 0 ? full.substr(11) : full.substr(0, 16);
}

/// <time> with local time (the clock time alone for today; `full`: date, time and zone) and,
/// after it, how long ago or how soon.
void time_cell(std::string& out, const std::optional<WallTime>& t, View& ctx, bool full = false) {
  if (!t) {
    out += "<span class=\"rel\">–</span>";
    return;
  }
  const auto local = ctx.clock.format(*t);
  out += "<time datetime=\"";
  out += iso_utc(*t);
  out += "\">";
  if (full) {
    out += local;
    out += ' ';
    esc(out, ctx.clock.abbrev(*t));
  } else if (local.compare(0, 10, ctx.today) == 0) {
    out.append(local, 11);  // today: the clock time says it all
  } else {
    out.append(local, 0, 16);
  }
  out += "</time> <span class=\"rel\">";
  out += relative_time(*t, ctx.now);
  out += "</span>";
}

void entry_link(std::string& out, std::string_view name) {
  out += "<a class=\"name\" href=\"/entry/";
  esc(out, encode_segment(name));
  out += "\">";
  esc(out, name);
  out += "</a>";
}

void head(std::string& out, std::string_view title, View& ctx) {
  out +=
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"color-scheme\" content=\"light dark\">"
      "<meta name=\"referrer\" content=\"no-referrer\">";
  if (ctx.refresh.count() > 0) {
    out += "<meta http-equiv=\"refresh\" content=\"";
    out += std::to_string(ctx.refresh.count());
    out += "\">";
  }
  out += "<title>";
  esc(out, title);
  out += "</title><style>";
  out += stylesheet();
  out += "</style></head><body><main>\n";
}

void foot(std::string& out, View& ctx) {
  out += "<footer>Rendered ";
  out += ctx.clock.format(ctx.now);
  out += ' ';
  esc(out, ctx.clock.abbrev(ctx.now));
  if (ctx.refresh.count() > 0) {
    out += " · refreshes every ";
    out += std::to_string(ctx.refresh.count());
    out += " s";
  }
  out +=
      " · <a href=\"/\">all entries</a> · <a href=\"/api/status\">status document</a> · "
      "<a href=\"/metrics\">metrics</a></footer>\n</main></body></html>\n";
}

const json::array* array_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::string number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

/// The facts that say most about an entry in one line, from whichever fields it has.
void details(std::string& out, const json::object& e, View& ctx) {
  std::vector<std::string> parts;
  if (auto l = json_num(e, "latency_ms")) {
    parts.push_back("latency " + format_ms(*l));
  }
  if (auto r = json_num(e, "rate")) {
    const auto n = json_num(e, "requests");
    parts.push_back(number(*r) + "% errors" + (n ? " of " + number(*n) + " requests" : ""));
  }
  if (auto d = json_num(e, "last_duration_ms")) {
    parts.push_back("took " + format_ms(*d));
  }
  if (auto f = json_num(e, "consecutive_failures"); f && *f > 0) {
    parts.push_back(number(*f) + (*f == 1 ? " failure" : " failures in a row"));
  }
  if (auto r = json_num(e, "restarts_in_window"); r && *r > 0) {
    parts.push_back(number(*r) + (*r == 1 ? " restart" : " restarts") + " in window");
  }
  if (json_bool(e, "restart_limit")) {
    parts.emplace_back("restart limit reached");
  }
  if (auto c = json_time(e, "cert_expires_at"); c && *c - ctx.now < std::chrono::days(30)) {
    parts.push_back("certificate expires " + relative_time(*c, ctx.now));
  }
  if (auto u = json_num(e, "unparsed"); u && *u > 0) {
    parts.push_back(number(*u) + " unparsed lines");
  }
  if (auto r = json_num(e, "runs_in_progress"); r && *r > 1) {
    parts.push_back(number(*r) + " runs in progress");
  }
  bool first = true;
  for (const auto& p : parts) {
    if (!first) {
      out += " · ";
    }
    first = false;
    esc(out, p);
  }
}

/// What the entry runs on or looks at, under its name: a schedule or a target (scheme://host).
void subtitle(std::string& out, const json::object& e) {
  const auto schedule = json_str(e, "schedule");
  const auto url = json_str(e, "url");
  if (!schedule.empty() || !url.empty()) {
    out += "<code class=\"sub\">";
    esc_shown(out, !schedule.empty() ? schedule : url);
    out += "</code>";
  }
}

int health_rank(std::string_view h) {
  if (h == "bad") {
    return 0;
  }
  if (h == "warn") {
    return 1;
  }
  if (h == "info") {
    return 2;
  }
  if (h == "none") {
    return 3;
  }
  return 4;
}

int severity_rank(std::string_view s) { return s == "critical" ? 0 : s == "warning" ? 1 : 2; }

void alerts_section(std::string& out, const json::array& firing, View& ctx, std::string_view only) {
  std::size_t shown_count = 0;
  std::string rows;
  // Critical first, then the longest firing.
  std::vector<const json::object*> sorted;
  for (const auto& v : firing) {
    if (v.is_object()) {
      sorted.push_back(&v.get_object());
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const json::object* a, const json::object* b) {
    const int ra = severity_rank(json_str(*a, "severity"));
    const int rb = severity_rank(json_str(*b, "severity"));
    return ra != rb ? ra < rb : json_str(*a, "since") < json_str(*b, "since");
  });
  for (const auto* ap : sorted) {
    const auto& a = *ap;
    if (!only.empty() && json_str(a, "name") != only) {
      continue;
    }
    ++shown_count;
    const auto severity = json_str(a, "severity");
    rows += "<tr class=\"";
    rows += severity_class(severity);
    rows += "\"><td><span class=\"badge\">";
    esc(rows, severity);
    rows += "</span></td><td>";
    esc(rows, json_str(a, "kind"));
    rows += ' ';
    if (json_str(a, "kind") == "daemon") {
      esc(rows, json_str(a, "name"));
    } else {
      entry_link(rows, json_str(a, "name"));
    }
    rows += "</td><td>";
    esc(rows, json_str(a, "event"));
    if (json_bool(a, "silenced")) {
      rows += "<span class=\"tag\">silenced</span>";
    }
    if (json_bool(a, "escalated")) {
      rows += "<span class=\"tag\">escalated</span>";
    }
    rows += "</td><td>";
    time_cell(rows, json_time(a, "since"), ctx);
    rows += "</td><td class=\"num\">";
    if (auto n = json_num(a, "occurrences")) {
      rows += number(*n);
    }
    rows += "</td><td class=\"reason\">";
    esc_shown(rows, json_str(a, "summary"));
    rows += "</td></tr>\n";
  }
  out += "<section id=\"alerts\"><h2>Firing alerts (";
  out += std::to_string(shown_count);
  out += ")</h2>";
  if (shown_count == 0) {
    out += "<p class=\"meta\">Nothing is firing.</p></section>\n";
    return;
  }
  open_table(out, kAlerts);
  out += rows;
  out += "</tbody></table></section>\n";
}

void silences_section(std::string& out, const json::array& silences, View& ctx, std::string_view only) {
  std::string rows;
  std::size_t n = 0;
  for (const auto& v : silences) {
    if (!v.is_object()) {
      continue;
    }
    const auto& s = v.get_object();
    const auto target = json_str(s, "target");
    if (!only.empty() && target != only && target != "--all") {
      continue;
    }
    ++n;
    rows += "<tr><td>";
    if (target == "--all") {
      rows += "everything";
    } else {
      entry_link(rows, target);
    }
    rows += "</td><td>";
    time_cell(rows, json_time(s, "until"), ctx);
    rows += "</td><td class=\"reason\">";
    esc_shown(rows, json_str(s, "reason"));
    rows += "</td><td>";
    esc(rows, json_str(s, "by"));
    rows += "</td></tr>\n";
  }
  if (n == 0) {
    return;
  }
  out += "<section id=\"silences\"><h2>Silences (";
  out += std::to_string(n);
  out += ")</h2>";
  open_table(out, kSilences);
  out += rows;
  out += "</tbody></table></section>\n";
}

void delivery_section(std::string& out, const json::object& status, View& ctx) {
  const auto* alerts = object_at(status, "alerts");
  const auto* notifiers = alerts != nullptr ? array_at(*alerts, "notifiers") : nullptr;
  const auto* hb = object_at(status, "heartbeat");
  if ((notifiers == nullptr || notifiers->empty()) && (hb == nullptr || !json_bool(*hb, "enabled"))) {
    return;
  }
  out += "<section id=\"delivery\"><h2>Delivery</h2>";
  open_table(out, kDelivery);
  if (notifiers != nullptr) {
    for (const auto& v : *notifiers) {
      if (!v.is_object()) {
        continue;
      }
      const auto& n = v.get_object();
      const auto pending = json_num(n, "pending").value_or(0);
      const auto given_up = json_num(n, "given_up").value_or(0);
      const bool failing = !json_str(n, "last_error").empty();
      out += "<tr class=\"";
      out += given_up > 0 ? "bad" : (failing || pending > 0 ? "warn" : "ok");
      out += "\"><td><span class=\"name\">";
      esc(out, json_str(n, "name"));
      out += "</span> <span class=\"tag\">";
      esc(out, json_str(n, "type"));
      out += "</span></td><td><code>";
      esc(out, http::redact_url(std::string(json_str(n, "target"))));
      out += "</code></td><td class=\"num\">" + number(pending) + "</td><td class=\"num\">" +
             number(json_num(n, "sent").value_or(0)) + "</td><td class=\"num\">" + number(given_up) + "</td><td>";
      time_cell(out, json_time(n, "last_sent"), ctx);
      out += "</td><td class=\"reason\">";
      esc_shown(out, json_str(n, "last_error"));
      out += "</td></tr>\n";
    }
  }
  if (hb != nullptr && json_bool(*hb, "enabled")) {
    const bool failing = !json_str(*hb, "last_error").empty();
    out += "<tr class=\"";
    out += failing ? "warn" : "ok";
    out += "\"><td><span class=\"name\">heartbeat</span> <span class=\"tag\">every ";
    esc(out, json_str(*hb, "interval"));
    out += "</span></td><td><code>";
    esc(out, http::redact_url(std::string(json_str(*hb, "target"))));
    out += "</code></td><td class=\"num\"></td><td class=\"num\">" + number(json_num(*hb, "sent").value_or(0)) +
           "</td><td class=\"num\">" + number(json_num(*hb, "failed").value_or(0)) + " failed</td><td>";
    time_cell(out, json_time(*hb, "last_ok"), ctx);
    out += "</td><td class=\"reason\">";
    esc_shown(out, json_str(*hb, "last_error"));
    out += "</td></tr>\n";
  }
  out += "</tbody></table></section>\n";
}

/// Host, environment, version, start and config: the page's header.
void daemon_header(std::string& out, const json::object& status, View& ctx, std::string_view heading) {
  const auto* d = object_at(status, "daemon");
  const json::object empty;
  const auto& daemon = d != nullptr ? *d : empty;
  out += "<header><h1>";
  esc(out, heading);
  out += "</h1><p class=\"meta\">tend ";
  esc(out, json_str(daemon, "version"));
  if (!json_str(daemon, "host").empty()) {
    out += " on <b>";
    esc(out, json_str(daemon, "host"));
    out += "</b>";
  }
  if (!json_str(daemon, "environment").empty()) {
    out += " <span class=\"tag\">";
    esc(out, json_str(daemon, "environment"));
    out += "</span>";
  }
  if (auto started = json_time(daemon, "started_at")) {
    out += " · started ";
    out += relative_time(*started, ctx.now);
  }
  out += " · times in ";
  esc(out, ctx.clock.abbrev(ctx.now));
  out += "</p></header>\n";
  if (const auto* config = object_at(daemon, "config")) {
    const auto error = json_str(*config, "error");
    if (!error.empty()) {
      out += "<p class=\"banner\"><b>Config rejected</b>: ";
      esc_shown(out, error);
      out += " — still running the config loaded ";
      if (auto loaded = json_time(*config, "loaded_at")) {
        out += relative_time(*loaded, ctx.now);
      }
      out += ".</p>\n";
    }
  }
  const auto write_errors = json_num(daemon, "state_write_errors").value_or(0);
  if (write_errors > 0) {
    out += "<p class=\"banner\"><b>State database</b>: " + number(write_errors) + " writes failed.</p>\n";
  }
}

const json::object* find_entry(const json::object& status, std::string_view name) {
  if (const auto* entries = array_at(status, "entries")) {
    for (const auto& v : *entries) {
      if (v.is_object() && json_str(v.get_object(), "name") == name) {
        return &v.get_object();
      }
    }
  }
  return nullptr;
}

/// The fields of an entry as a definition list, whatever its kind.
void facts(std::string& out, const json::object& e, View& ctx) {
  out += "<dl class=\"facts\">";
  for (const auto& [key, value] : e) {
    if (key == "kind" || key == "name" || key == "state" || value.is_null() || value.is_object() || value.is_array()) {
      continue;
    }
    out += "<dt>";
    std::string label(key);
    const bool millis = label.ends_with("_ms");
    if (millis) {
      label.resize(label.size() - 3);  // "last_duration_ms" is shown as a duration
    }
    std::replace(label.begin(), label.end(), '_', ' ');
    esc(out, label);
    out += "</dt><dd>";
    if (millis && (value.is_int64() || value.is_uint64() || value.is_double())) {
      out += format_ms(value.to_number<double>());
    } else if (value.is_string()) {
      const std::string_view s(value.get_string().data(), value.get_string().size());
      if (auto t = s.size() == 20 ? parse_time(s) : std::nullopt) {
        time_cell(out, t, ctx, true);
      } else {
        esc_shown(out, s);
      }
    } else if (value.is_bool()) {
      out += value.get_bool() ? "yes" : "no";
    } else if (value.is_int64()) {
      out += std::to_string(value.get_int64());
    } else if (value.is_uint64()) {
      out += std::to_string(value.get_uint64());
    } else if (value.is_double()) {
      out += number(value.get_double());
    }
    out += "</dd>";
  }
  out += "</dl>\n";
}

}  // namespace

const char* entry_health(const json::object& e) {
  const auto state = json_str(e, "state");
  if (state == "down" || state == "critical" || state == "late" || state == "failing" || state == "failure") {
    return "bad";
  }
  if (state == "warning") {
    return "warn";
  }
  if (state == "running") {
    return "info";
  }
  if (json_bool(e, "restart_limit")) {
    return "bad";
  }
  if (state == "up" || state == "ok") {
    return "ok";
  }
  // idle, new, unknown: judged by the last result.
  const auto last = json_str(e, "last_result");
  const char* c = outcome_class(last);
  if (std::string_view(c) == "none" && last.empty()) {
    return "none";
  }
  return c;
}

std::string status_page(const json::object& status, const PageContext& page_ctx, const RecentRuns& recent) {
  View ctx(page_ctx);
  const json::array empty_array;
  const auto* entries_p = array_at(status, "entries");
  const auto& entries = entries_p != nullptr ? *entries_p : empty_array;

  struct Row {
    const json::object* e;
    const char* health;
    std::size_t order;
  };
  std::vector<Row> rows;
  rows.reserve(entries.size());
  std::size_t counts[5] = {};
  std::size_t paused = 0;
  std::size_t silenced = 0;
  for (const auto& v : entries) {
    if (!v.is_object()) {
      continue;
    }
    const auto& e = v.get_object();
    const char* h = entry_health(e);
    ++counts[health_rank(h)];
    paused += json_bool(e, "paused") ? 1 : 0;
    silenced += json_str(e, "silenced_until").empty() ? 0 : 1;
    rows.push_back({&e, h, rows.size()});
  }
  // What needs attention first; otherwise the daemon's own order.
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return health_rank(a.health) < health_rank(b.health); });

  const auto* d = object_at(status, "daemon");
  const std::string host = d != nullptr ? std::string(json_str(*d, "host")) : std::string();
  std::string title = "tend";
  if (!host.empty()) {
    title += " · " + host;
  }
  title += counts[0] > 0 ? " · " + std::to_string(counts[0]) + " failing" : " · all good";

  std::string out;
  out.reserve(8192 + rows.size() * 900);
  head(out, title, ctx);
  daemon_header(out, status, ctx, host.empty() ? "tend" : "tend · " + host);

  out += "<ul class=\"summary\"><li>" + std::to_string(rows.size()) + " entries</li>";
  const char* names[] = {"failing", "warning", "running", "no result yet", "ok"};
  const char* classes[] = {"bad", "warn", "info", "none", "ok"};
  for (int i = 0; i < 5; ++i) {
    if (counts[i] > 0) {
      out += "<li class=\"";
      out += classes[i];
      out += "\">" + std::to_string(counts[i]) + ' ' + names[i] + "</li>";
    }
  }
  if (paused > 0) {
    out += "<li>" + std::to_string(paused) + " paused</li>";
  }
  if (silenced > 0) {
    out += "<li>" + std::to_string(silenced) + " silenced</li>";
  }
  out += "</ul>\n";

  const auto* alerts = object_at(status, "alerts");
  const auto* firing = alerts != nullptr ? array_at(*alerts, "firing") : nullptr;
  alerts_section(out, firing != nullptr ? *firing : empty_array, ctx, {});
  if (const auto* silences = alerts != nullptr ? array_at(*alerts, "silences") : nullptr) {
    silences_section(out, *silences, ctx, {});
  }

  const ChartContext chart_ctx{ctx.now, ctx.zone};
  out += "<section id=\"entries\"><h2>Entries</h2>";
  // Rows go into tables of kChunk rows, each in a block the browser may skip while it is off
  // screen (content-visibility): 1,000 rows in one table cost a full table layout on every
  // parser yield; in chunks Chromium lays out what is visible, and the page loads about three
  // times faster. Fixed column widths keep the chunks aligned as one table.
  constexpr std::size_t kChunk = 100;
  const std::size_t columns = recent ? kEntries.columns.size() : kEntries.columns.size() - 1;
  std::size_t index = 0;
  const auto open_chunk = [&] {
    out += "<div class=\"chunk\">";
    open_table(out, kEntries, columns);
  };
  if (rows.empty()) {
    open_chunk();
  }
  for (const auto& row : rows) {
    if (index % kChunk == 0) {
      if (index > 0) {
        out += "</tbody></table></div>\n";
      }
      open_chunk();
    }
    ++index;
    const auto& e = *row.e;
    const auto name = json_str(e, "name");
    const auto state = json_str(e, "state");
    out += "<tr class=\"";
    out += row.health;
    out += "\"><td class=\"";
    out += row.health;
    out += "\"><span class=\"badge\">";
    esc(out, state.empty() ? "?" : state);
    out += "</span></td><td>";
    entry_link(out, name);
    if (json_bool(e, "paused")) {
      out += "<span class=\"tag\">paused";
      if (auto until = json_time(e, "paused_until")) {
        out += " until ";
        out += short_time(*until, ctx);
      }
      out += "</span>";
    }
    if (auto until = json_time(e, "silenced_until")) {
      out += "<span class=\"tag\">silenced until ";
      out += short_time(*until, ctx);
      out += "</span>";
    }
    subtitle(out, e);
    out += "</td><td>";
    esc(out, json_str(e, "kind"));
    out += "</td><td>";
    time_cell(out, json_time(e, "last_run"), ctx);
    out += "</td><td>";
    time_cell(out, json_time(e, "next_run"), ctx);
    out += "</td><td>";
    const auto last = json_str(e, "last_result");
    if (!last.empty()) {
      out += "<span class=\"res ";
      out += outcome_class(last);
      out += "\">";
      esc(out, last);
      out += "</span>";
    }
    // The reason is what an operator needs when something is wrong; when all is well it is noise.
    if (std::string_view(row.health) == "bad" || std::string_view(row.health) == "warn") {
      auto reason = json_str(e, "reason");
      if (reason.empty()) {
        reason = json_str(e, "last_reason");
      }
      if (!reason.empty()) {
        out += "<div class=\"reason\">";
        esc_shown(out, reason);
        out += "</div>";
      }
    }
    out += "</td><td>";
    details(out, e, ctx);
    out += "</td>";
    if (recent) {
      out += "<td>";
      if (const auto* runs = recent(name)) {
        out += sparkline(*runs, chart_ctx);
      }
      out += "</td>";
    }
    out += "</tr>\n";
  }
  if (rows.empty()) {
    out += "<tr><td colspan=\"7\">No entries are configured.</td></tr>\n";
  }
  out += "</tbody></table></div></section>\n";
  delivery_section(out, status, ctx);
  foot(out, ctx);
  return out;
}

std::optional<std::string> entry_page(const json::object& status, std::string_view name, const json::array& runs,
                                      const PageContext& page_ctx) {
  View ctx(page_ctx);
  const auto* found = find_entry(status, name);
  if (found == nullptr) {
    return std::nullopt;
  }
  const auto& e = *found;
  const char* health = entry_health(e);
  const auto state = json_str(e, "state");
  std::string out;
  out.reserve(16384 + runs.size() * 300);
  head(out, std::string(name) + " · " + std::string(state) + " · tend", ctx);
  out += "<p class=\"meta\"><a href=\"/\">← all entries</a></p>";
  daemon_header(out, status, ctx, std::string(json_str(e, "kind")) + " " + std::string(name));
  out += "<p><span class=\"badge ";
  out += health;
  out += "\">";
  esc(out, state.empty() ? "?" : state);
  out += "</span>";
  if (const auto last = json_str(e, "last_result"); !last.empty()) {
    out += " last result <span class=\"res ";
    out += outcome_class(last);
    out += "\">";
    esc(out, last);
    out += "</span>";
  }
  if (json_bool(e, "paused")) {
    out += "<span class=\"tag\">paused</span>";
  }
  if (auto until = json_time(e, "silenced_until")) {
    out += "<span class=\"tag\">silenced until ";
    out += short_time(*until, ctx);
    out += "</span>";
  }
  out += "</p>\n";
  facts(out, e, ctx);

  const auto* alerts = object_at(status, "alerts");
  const json::array empty_array;
  const auto* firing = alerts != nullptr ? array_at(*alerts, "firing") : nullptr;
  alerts_section(out, firing != nullptr ? *firing : empty_array, ctx, name);
  if (const auto* silences = alerts != nullptr ? array_at(*alerts, "silences") : nullptr) {
    silences_section(out, *silences, ctx, name);
  }

  const ChartContext chart_ctx{ctx.now, ctx.zone};
  const bool availability = is_availability(runs);
  const auto chart = availability ? availability_chart(runs, chart_ctx) : runs_chart(runs, chart_ctx);
  out += "<section id=\"chart\"><h2>";
  out += availability ? "Last 24 hours" : "Recent runs";
  out += "</h2>";
  if (chart.svg.empty()) {
    out += "<p class=\"meta\">No history recorded yet.</p>";
  } else {
    out += "<div class=\"panel\">";
    out += chart.svg;
    out += "<p class=\"meta\">";
    esc(out, chart.summary);
    out += "</p></div>";
  }
  out += "</section>\n";

  constexpr std::size_t kRows = 100;
  out += "<section id=\"history\"><h2>History";
  if (runs.size() > kRows) {
    out += " (latest " + std::to_string(kRows) + " of " + std::to_string(runs.size()) + ")";
  }
  out += "</h2>";
  if (runs.empty()) {
    out += "<p class=\"meta\">No runs or results recorded yet.</p>";
  } else {
    open_table(out, kHistory);
    std::size_t n = 0;
    for (const auto& v : runs) {
      if (n++ >= kRows) {
        break;
      }
      if (!v.is_object()) {
        continue;
      }
      const auto& r = v.get_object();
      const auto outcome = json_str(r, "outcome");
      const char* cls = outcome_class(outcome);
      out += "<tr class=\"";
      out += cls;
      out += "\"><td>";
      time_cell(out, json_time(r, "started_at"), ctx);
      out += "</td><td><span class=\"res ";
      out += cls;
      out += "\">";
      esc(out, outcome);
      out += "</span></td><td class=\"num\">";
      if (auto ms = json_num(r, "duration_ms")) {
        out += format_ms(*ms);
      }
      out += "</td><td class=\"num\">";
      if (auto a = json_num(r, "attempt")) {
        out += number(*a);
      }
      out += "</td><td class=\"num\">";
      if (auto x = json_num(r, "exit_code")) {
        out += number(*x);
      } else if (auto s = json_num(r, "signal")) {
        out += "signal " + number(*s);
      }
      out += "</td><td class=\"reason\">";
      esc_shown(out, json_str(r, "reason"));
      out += "</td><td class=\"num\">";
      if (auto id = json_num(r, "run_id")) {
        out += number(*id);
      }
      out += "</td></tr>\n";
    }
    out += "</tbody></table>";
  }
  out += "</section>\n";
  foot(out, ctx);
  return out;
}

std::string not_found_page(std::string_view path, const PageContext& ctx) {
  PageContext quiet = ctx;
  quiet.refresh = std::chrono::seconds(0);
  View c(quiet);
  std::string out;
  head(out, "Not found · tend", c);
  out += "<h1>Not found</h1><p>Nothing is served at <code>";
  esc(out, path);
  out += "</code>. Entries are listed on the <a href=\"/\">status page</a>.</p>\n";
  foot(out, c);
  return out;
}

}  // namespace tend::web
