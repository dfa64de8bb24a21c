#pragma once
// Human-readable renderings of the daemon's replies.

#include <boost/json/object.hpp>
#include <cstddef>
#include <ostream>
#include <string>

namespace tend::cli {

/// How the status table is drawn.
struct StatusStyle {
  bool tty = false;       // relative times only, cells cut to fit `width`
  bool color = false;     // ANSI colours for states and results
  std::size_t width = 0;  // columns to fit (0: no limit)
};

/// The status table: kind, name, state, last result, last run, next run, failures, detail. Text
/// from outside (names, reasons) is shown with control characters escaped.
void print_status(std::ostream& out, const boost::json::object& doc, const StatusStyle& style);
/// The history table: run, attempt, started, duration, outcome, exit/signal, reason.
void print_history(std::ostream& out, const boost::json::object& doc);
/// `tend alerts`: the alert log, newest first.
void print_alerts(std::ostream& out, const boost::json::object& doc);

/// `tend cluster`: each list of the reply (members, jobs, ...) as a table of its fields.
void print_cluster(std::ostream& out, const boost::json::object& doc);

/// One line for pause/resume/reload replies (reload lists added/changed/removed).
void print_ack(std::ostream& out, const std::string& cmd, const boost::json::object& reply);

}  // namespace tend::cli
