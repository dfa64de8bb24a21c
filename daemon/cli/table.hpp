#pragma once
// Human-readable renderings of the daemon's replies.

#include <boost/json/object.hpp>
#include <ostream>
#include <string>

namespace tend::cli {

/// The status table: kind, name, state, last result, last run, next run, failures.
void print_status(std::ostream& out, const boost::json::object& doc, bool tty);
/// The history table: run, attempt, started, duration, outcome, exit/signal, reason.
void print_history(std::ostream& out, const boost::json::object& doc);
/// One line for pause/resume/reload replies (reload lists added/changed/removed).
/// `tend alerts`: the alert log, newest first.
void print_alerts(std::ostream& out, const boost::json::object& doc);

void print_ack(std::ostream& out, const std::string& cmd, const boost::json::object& reply);

}  // namespace tend::cli
