#include "cli/table.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <set>
#include <vector>

#include "cli/text.hpp"
#include "util/duration.hpp"
#include "util/time.hpp"

namespace tend::cli {
namespace json = boost::json;
namespace {

using Clock = std::chrono::system_clock;

/// A value as one table cell: strings as they are (control characters escaped), others as JSON.
std::string text(const json::value* v) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  if (v->is_string()) {
    return printable(std::string_view(v->as_string()));
  }
  if (v->is_double()) {
    // "7.5", "0", not JSON's "7.5E0" / "0E0".
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v->as_double());
    std::string s(buf);
    while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
      s.pop_back();
    }
    return s;
  }
  return printable(json::serialize(*v));
}

/// "2026-11-22 10:00:00Z (in 3h)" for the record, or "in 3h" alone on a terminal.
std::string when(const json::value* v, bool relative_only = false) {
  if (v == nullptr || !v->is_string()) {
    return "-";
  }
  auto t = parse_iso8601(std::string(v->as_string()));
  if (!t) {
    return printable(std::string_view(v->as_string()));
  }
  const std::string rel = relative_time(*t, Clock::now());
  if (relative_only) {
    return rel;
  }
  std::string s(v->as_string());
  if (s.size() > 10) {
    s[10] = ' ';
  }
  return s + " (" + rel + ")";
}

/// The kind-specific part of a status row: a job's last reason; a probe's latency, reason and
/// restarts; a watch's rate and counts.
std::string detail(const json::object& o) {
  const std::string kind = text(o.if_contains("kind"));
  if (kind == "probe") {
    std::string s;
    if (const auto* l = o.if_contains("latency_ms"); l != nullptr && !l->is_null()) {
      s = text(l) + "ms";
    }
    if (auto r = text(o.if_contains("reason")); r != "-" && !r.empty()) {
      s += (s.empty() ? "" : " ") + r;
    }
    if (auto n = text(o.if_contains("restarts_in_window")); n != "0" && n != "-") {
      s += (s.empty() ? "" : ", ") + n + " restart(s) in window";
    }
    return s.empty() ? "-" : s;
  }
  if (kind == "watch") {
    return text(o.if_contains("rate")) + "% of " + text(o.if_contains("requests")) + " requests, " +
           text(o.if_contains("unparsed")) + " unparsed";
  }
  if (const auto* r = o.if_contains("last_reason")) {
    return text(r);
  }
  return text(o.if_contains("reason"));
}

Color state_color(const std::string& state) {
  if (state == "up" || state == "ok" || state == "idle") {
    return Color::green;
  }
  if (state == "running") {
    return Color::cyan;
  }
  if (state == "down" || state == "failing" || state == "late" || state == "critical") {
    return Color::red;
  }
  if (state == "warning" || state == "unknown" || state == "new") {
    return Color::yellow;
  }
  return Color::none;
}

Color result_color(const std::string& result) {
  if (result == "success" || result == "up" || result == "ok") {
    return Color::green;
  }
  if (result == "failure" || result == "timeout" || result == "down" || result == "late" || result == "critical") {
    return Color::red;
  }
  if (result == "skipped" || result == "missed" || result == "interrupted" || result == "warning") {
    return Color::yellow;
  }
  return Color::none;
}

/// A cell: its plain text (for widths) and its colour.
struct Cell {
  std::string text;
  Color color = Color::none;
  bool right = false;  // numbers align right
};

using Row = std::vector<Cell>;

/// Lay out rows in columns two spaces apart. With `width` > 0, shrink the columns in `shrink`
/// order (each down to its minimum) until the line fits, cutting cells with an ellipsis.
void print_rows(std::ostream& out, const std::vector<Row>& rows, bool color, std::size_t width = 0,
                const std::vector<std::pair<std::size_t, std::size_t>>& shrink = {}) {
  std::vector<std::size_t> w;
  for (const auto& r : rows) {
    w.resize(std::max(w.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) {
      w[i] = std::max(w[i], display_width(r[i].text));
    }
  }
  if (width > 0 && !w.empty()) {
    auto total = [&] {
      std::size_t t = 2 * (w.size() - 1);
      for (auto x : w) {
        t += x;
      }
      return t;
    };
    for (const auto& [column, minimum] : shrink) {
      if (total() <= width || column >= w.size()) {
        continue;
      }
      const std::size_t over = total() - width;
      w[column] = w[column] > minimum + over ? w[column] - over : std::min(w[column], minimum);
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const bool last = i + 1 == r.size();
      std::string cell = fit_width(r[i].text, w[i]);
      const std::size_t cw = display_width(cell);
      std::string padding(w[i] - std::min(w[i], cw), ' ');
      if (r[i].right) {
        line += padding + paint(cell, r[i].color, color);
      } else {
        line += paint(cell, r[i].color, color) + (last ? "" : padding);
      }
      if (!last) {
        line += "  ";
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out << line << "\n";
  }
}

/// Below the entries: firing alerts, silences, and any notifier that is behind or gave up.
void print_alerting(std::ostream& out, const json::object& doc, const StatusStyle& style) {
  const auto* a = doc.if_contains("alerts");
  if (a == nullptr || !a->is_object()) {
    return;
  }
  const auto cut = [&](const std::string& line) { return style.width > 0 ? fit_width(line, style.width) : line; };
  const auto& al = a->as_object();
  if (const auto* f = al.if_contains("firing"); f != nullptr && f->is_array() && !f->as_array().empty()) {
    out << "\n" << paint("firing:", Color::bold, style.color) << "\n";
    for (const auto& x : f->as_array()) {
      const auto& o = x.as_object();
      const std::string severity = text(o.if_contains("severity"));
      const auto* silenced = o.if_contains("silenced");
      const std::string line = "  " + severity + " " + text(o.if_contains("kind")) + " " + text(o.if_contains("name")) +
                               " " + text(o.if_contains("event")) + " since " +
                               when(o.if_contains("since"), style.tty) + " x" + text(o.if_contains("occurrences")) +
                               (silenced != nullptr && silenced->is_bool() && silenced->as_bool() ? " (silenced)" : "");
      out << paint(cut(line), severity == "critical" ? Color::red : Color::yellow, style.color) << "\n";
    }
  }
  if (const auto* s = al.if_contains("silences"); s != nullptr && s->is_array() && !s->as_array().empty()) {
    out << "\n" << paint("silenced:", Color::bold, style.color) << "\n";
    for (const auto& x : s->as_array()) {
      const auto& o = x.as_object();
      const std::string reason = text(o.if_contains("reason"));
      out << cut("  " + text(o.if_contains("target")) + " until " + when(o.if_contains("until"), style.tty) + " by " +
                 text(o.if_contains("by")) + (reason.empty() || reason == "-" ? "" : ": " + reason))
          << "\n";
    }
  }
  if (const auto* n = al.if_contains("notifiers"); n != nullptr && n->is_array()) {
    for (const auto& x : n->as_array()) {
      const auto& o = x.as_object();
      const auto count = [&](const char* key) {
        const auto* v = o.if_contains(key);
        return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : 0;
      };
      if (count("pending") > 0 || count("given_up") > 0) {
        const std::string line = "notifier " + text(o.if_contains("name")) + " (" + text(o.if_contains("target")) +
                                 "): " + text(o.if_contains("pending")) + " pending, " +
                                 text(o.if_contains("given_up")) +
                                 " given up; last error: " + text(o.if_contains("last_error"));
        out << paint(cut(line), Color::red, style.color) << "\n";
      }
    }
  }
}

}  // namespace

void print_status(std::ostream& out, const json::object& doc, const StatusStyle& style) {
  static const json::object empty;
  const auto* dv = doc.if_contains("daemon");
  const auto& d = dv != nullptr && dv->is_object() ? dv->as_object() : empty;
  const auto* cv = d.if_contains("config");
  const auto& c = cv != nullptr && cv->is_object() ? cv->as_object() : empty;
  const auto cut = [&](const std::string& line) { return style.width > 0 ? fit_width(line, style.width) : line; };
  std::string up = "up since " + when(d.if_contains("started_at"));
  if (const auto* started = d.if_contains("started_at"); style.tty && started != nullptr && started->is_string()) {
    if (auto t = parse_iso8601(std::string(started->as_string()))) {
      std::string ago = relative_time(*t, Clock::now());  // "3d ago": up 3d
      up = "up " + (ago.size() > 4 && ago.compare(ago.size() - 4, 4, " ago") == 0 ? ago.substr(0, ago.size() - 4)
                                                                                  : std::string("<1s"));
    }
  }
  out << cut("tendd " + text(d.if_contains("version")) + " on " + text(d.if_contains("host")) + " (" +
             text(d.if_contains("environment")) + "), " + up)
      << "\n";
  out << cut("config " + text(c.if_contains("path")) + " loaded " + when(c.if_contains("loaded_at"), style.tty))
      << "\n";
  if (const auto* cl = doc.if_contains("cluster"); cl != nullptr && cl->is_object()) {
    const auto& o = cl->as_object();
    const std::string state = text(o.if_contains("state"));
    const auto* left = o.if_contains("lease_left_ms");
    const std::string lease =
        left != nullptr && left->is_int64() ? format_duration(Duration(left->as_int64())) + " lease left" : "";
    const std::string reason = text(o.if_contains("reason"));
    std::string line = "cluster node " + text(o.if_contains("node")) + " " + state;
    line += state == "joined" ? ", " + lease : (reason.empty() || reason == "-" ? "" : ": " + reason);
    out << paint(cut(line), state == "joined" ? Color::none : Color::red, style.color) << "\n";
  }
  if (const auto* err = c.if_contains("error"); err != nullptr && err->is_string()) {
    out << paint("last reload REJECTED, previous config in force:", Color::red, style.color) << "\n"
        << paint(printable(std::string_view(err->as_string()), Keep::line_ends), Color::red, style.color) << "\n";
  }
  out << "\n";
  std::vector<Row> rows;
  Row header;
  for (const char* h : {"KIND", "NAME", "STATE", "LAST", "LAST RUN", "NEXT RUN", "FAILS", "DETAIL"}) {
    header.push_back({h, style.color ? Color::bold : Color::none, std::string_view(h) == "FAILS"});
  }
  rows.push_back(header);
  if (const auto* ev = doc.if_contains("entries"); ev != nullptr && ev->is_array()) {
    for (const auto& e : ev->as_array()) {
      if (!e.is_object()) {
        continue;
      }
      const auto& o = e.as_object();
      const std::string raw_state = text(o.if_contains("state"));
      std::string state = raw_state;
      if (const auto* p = o.if_contains("paused"); p != nullptr && p->is_bool() && p->as_bool()) {
        state += " (paused)";
      }
      if (const auto* m = o.if_contains("silenced_until"); m != nullptr && m->is_string()) {
        state += " (silenced)";
      }
      const std::string last = text(o.if_contains("last_result"));
      const std::string fails = text(o.if_contains("consecutive_failures"));
      rows.push_back({{text(o.if_contains("kind"))},
                      {text(o.if_contains("name"))},
                      {state, state_color(raw_state)},
                      {last, result_color(last)},
                      {when(o.if_contains("last_run"), style.tty)},
                      {when(o.if_contains("next_run"), style.tty)},
                      {fails, fails != "0" && fails != "-" ? Color::red : Color::none, true},
                      {detail(o)}});
    }
  }
  // Too wide for the terminal: the detail gives way first, then the name, then the state.
  print_rows(out, rows, style.color, style.tty ? style.width : 0, {{7, 12}, {1, 16}, {2, 8}, {3, 7}, {7, 1}});
  print_alerting(out, doc, style);
}

void print_history(std::ostream& out, const json::object& doc) {
  std::vector<Row> rows;
  // Cluster mode: every host's runs, each with the host that ran it.
  bool hosts = false;
  if (const auto* runs = doc.if_contains("runs"); runs != nullptr && runs->is_array()) {
    for (const auto& r : runs->as_array()) {
      hosts = hosts || (r.is_object() && r.as_object().contains("host"));
    }
  }
  rows.push_back({{"RUN"}, {"ATTEMPT"}, {"STARTED"}, {"DURATION"}, {"OUTCOME"}, {"EXIT"}, {"REASON"}});
  if (hosts) {
    rows.back().insert(rows.back().begin() + 3, Cell{"HOST"});
  }
  if (const auto* runs = doc.if_contains("runs"); runs != nullptr && runs->is_array()) {
    for (const auto& r : runs->as_array()) {
      if (!r.is_object()) {
        continue;
      }
      const auto& o = r.as_object();
      std::string exit = text(o.if_contains("exit_code"));
      if (const auto* s = o.if_contains("signal"); s != nullptr && !s->is_null()) {
        exit = "sig " + text(s);
      }
      const auto* ms = o.if_contains("duration_ms");
      const std::string dur = ms != nullptr && ms->is_int64() ? format_duration(Duration(ms->as_int64())) : "-";
      rows.push_back({{text(o.if_contains("run_id"))},
                      {text(o.if_contains("attempt"))},
                      {text(o.if_contains("started_at"))},
                      {dur},
                      {text(o.if_contains("outcome"))},
                      {exit},
                      {text(o.if_contains("reason"))}});
      if (hosts) {
        rows.back().insert(rows.back().begin() + 3, Cell{text(o.if_contains("host"))});
      }
    }
  }
  print_rows(out, rows, false);
  if (const auto* e = doc.if_contains("cluster_error"); e != nullptr && e->is_string()) {
    out << "(" << printable(std::string_view(e->as_string())) << ")\n";
  }
}

void print_alerts(std::ostream& out, const json::object& doc) {
  std::vector<Row> rows;
  rows.push_back({{"AT"},
                  {"KIND"},
                  {"NAME"},
                  {"EVENT"},
                  {"STATUS"},
                  {"SEVERITY"},
                  {"COUNT"},
                  {"ACTION"},
                  {"NOTIFIERS"},
                  {"SUMMARY"}});
  if (const auto* alerts = doc.if_contains("alerts"); alerts != nullptr && alerts->is_array()) {
    for (const auto& r : alerts->as_array()) {
      if (!r.is_object()) {
        continue;
      }
      const auto& o = r.as_object();
      Row row;
      for (const char* key :
           {"at", "kind", "name", "event", "status", "severity", "occurrences", "action", "notifiers", "summary"}) {
        std::string cell = text(o.if_contains(key));
        // An inhibited record names the rule that held it.
        const auto* note = o.if_contains("note");
        if (std::string_view(key) == "action" && note != nullptr && note->is_string() && !note->as_string().empty()) {
          cell += " by " + printable(std::string_view(note->as_string()));
        }
        row.push_back({cell});
      }
      rows.push_back(row);
    }
  }
  print_rows(out, rows, false);

  // Where things stand: what fires now and why it is or is not being sent, and the open groups.
  const auto* firing = doc.if_contains("firing");
  if (firing != nullptr && firing->is_array() && !firing->as_array().empty()) {
    std::vector<Row> now{{{"KIND"}, {"NAME"}, {"EVENT"}, {"SEVERITY"}, {"SINCE"}, {"HELD"}}};
    for (const auto& f : firing->as_array()) {
      if (!f.is_object()) {
        continue;
      }
      const auto& o = f.as_object();
      std::string held = "-";
      if (const auto* by = o.if_contains("inhibited_by"); by != nullptr && by->is_string()) {
        held = "inhibited by " + printable(std::string_view(by->as_string()));
      } else if (const auto* fl = o.if_contains("flapping"); fl != nullptr && fl->is_bool() && fl->as_bool()) {
        held = "flapping";
      } else if (const auto* si = o.if_contains("silenced"); si != nullptr && si->is_bool() && si->as_bool()) {
        held = "silenced";
      }
      now.push_back({{text(o.if_contains("kind"))},
                     {text(o.if_contains("name"))},
                     {text(o.if_contains("event"))},
                     {text(o.if_contains("severity"))},
                     {when(o.if_contains("since"), true)},
                     {held}});
    }
    out << "\nfiring now:\n";
    print_rows(out, now, false);
  }
  const auto* groups = doc.if_contains("groups");
  if (groups != nullptr && groups->is_array() && !groups->as_array().empty()) {
    std::vector<Row> g{{{"NOTIFIER"}, {"GROUP"}, {"FIRING"}, {"LAST SENT"}, {"NEXT SEND"}}};
    for (const auto& v : groups->as_array()) {
      if (!v.is_object()) {
        continue;
      }
      const auto& o = v.as_object();
      const auto* members = o.if_contains("firing");
      const std::size_t n = members != nullptr && members->is_array() ? members->as_array().size() : 0;
      g.push_back({{text(o.if_contains("notifier"))},
                   {text(o.if_contains("key"))},
                   {std::to_string(n)},
                   {when(o.if_contains("last_sent"), true)},
                   {when(o.if_contains("next_send"), true)}});
    }
    out << "\ngroups:\n";
    print_rows(out, g, false);
  }
}

void print_cluster(std::ostream& out, const json::object& doc) {
  bool first = true;
  for (const auto& [key, value] : doc) {
    if (!value.is_array()) {
      if (key != "ok") {
        out << printable(std::string_view(key)) << ": " << text(&value) << "\n";
      }
      continue;
    }
    // The columns are the fields the list's objects have, in the order they first appear.
    std::vector<std::string> columns;
    for (const auto& item : value.as_array()) {
      if (item.is_object()) {
        for (const auto& [field, unused] : item.as_object()) {
          if (std::find(columns.begin(), columns.end(), std::string(field)) == columns.end()) {
            columns.emplace_back(field);
          }
        }
      }
    }
    out << (first ? "" : "\n") << printable(std::string_view(key)) << ":\n";
    first = false;
    std::vector<Row> rows;
    Row header;
    for (const auto& c : columns) {
      std::string h = c;
      std::transform(h.begin(), h.end(), h.begin(), [](char ch) {
        return ch == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      });
      header.push_back({printable(h)});
    }
    rows.push_back(header);
    for (const auto& item : value.as_array()) {
      Row row;
      if (item.is_object()) {
        for (const auto& c : columns) {
          row.push_back({text(item.as_object().if_contains(c))});
        }
      } else {
        row.push_back({text(&item)});
      }
      rows.push_back(row);
    }
    print_rows(out, rows, false);
  }
}

void print_ack(std::ostream& out, const std::string& cmd, const json::object& reply) {
  if (cmd == "reload") {
    auto list = [&](const char* key) {
      std::string s;
      if (const auto* a = reply.if_contains(key); a != nullptr && a->is_array()) {
        for (const auto& n : a->as_array()) {
          s += (s.empty() ? "" : ", ") + text(&n);
        }
      }
      return s.empty() ? std::string("none") : s;
    };
    out << "reloaded: added " << list("added") << "; changed " << list("changed") << "; removed " << list("removed")
        << "\n";
  } else if (cmd == "pause") {
    out << "paused" << (reply.contains("until") ? " until " + text(reply.if_contains("until")) : "") << "\n";
  } else {
    out << cmd << ": ok\n";
  }
}

}  // namespace tend::cli
