#pragma once
// Internal: the handlers the command table lists, and the request-field readers they share.

#include <cstdint>
#include <optional>
#include <string>

#include "commands/commands.hpp"

namespace tend::commands::detail {

// entries.cpp
void status(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void history(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void output(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void run(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void pause(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void resume(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void ping(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void cluster(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
// alerting.cpp
void silence(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void unsilence(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void test_alert(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void alerts(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
// table.cpp
void reload(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);
void metrics(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);

/// The non-empty string field `key`, or an error reply ("missing \"name\"").
std::optional<std::string> string_field(const boost::json::object& req, const char* key, control::Reply& reply);
/// The integer field `key` in [min, max], `fallback` when absent, or an error reply.
std::optional<std::int64_t> int_field(const boost::json::object& req, const char* key, std::int64_t fallback,
                                      std::int64_t min, std::int64_t max, control::Reply& reply);
/// "uid 1000 pid 4242", who asked (for silences and test messages).
std::string peer_name(const control::Peer& peer);

}  // namespace tend::commands::detail
