#include "commands/handlers.hpp"

namespace tend::commands {

namespace {

const Command kCommands[] = {
    {"status", Access::anyone, detail::status},      {"history", Access::anyone, detail::history},
    {"output", Access::anyone, detail::output},      {"alerts", Access::anyone, detail::alerts},
    {"ping", Access::anyone, detail::ping},          {"run", Access::admin, detail::run},
    {"pause", Access::admin, detail::pause},         {"resume", Access::admin, detail::resume},
    {"reload", Access::admin, detail::reload},       {"silence", Access::admin, detail::silence},
    {"unsilence", Access::admin, detail::unsilence}, {"test-alert", Access::admin, detail::test_alert},
    {"metrics", Access::anyone, detail::metrics},    {"cluster", Access::anyone, detail::cluster},
};

}  // namespace

std::span<const Command> table() { return kCommands; }

void dispatch(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply) {
  const std::string cmd(req.at("cmd").as_string());
  for (const auto& c : kCommands) {
    if (c.name != cmd) {
      continue;
    }
    if (c.access == Access::admin && !peer.admin) {
      reply(control::error_reply("permission denied: '" + cmd + "' needs root or the admin group (uid " +
                                 std::to_string(peer.uid) + ")"));
      return;
    }
    c.run(s, req, peer, std::move(reply));
    return;
  }
  reply(control::error_reply("unknown command '" + cmd + "'"));
}

namespace detail {

void reload(Services& s, const boost::json::object& /*req*/, const control::Peer& /*peer*/, control::Reply reply) {
  s.reload(std::move(reply));
}

void metrics(Services& s, const boost::json::object& /*req*/, const control::Peer& /*peer*/, control::Reply reply) {
  // Read-only and secret-free (labels are entry names and fixed sets), like GET /metrics.
  reply(boost::json::object{{"ok", true}, {"text", s.metrics_text ? s.metrics_text() : std::string()}});
}

std::optional<std::string> string_field(const boost::json::object& req, const char* key, control::Reply& reply) {
  const auto* n = req.if_contains(key);
  if (n == nullptr || !n->is_string() || n->as_string().empty()) {
    reply(control::error_reply(std::string("missing \"") + key + "\""));
    return std::nullopt;
  }
  return std::string(n->as_string());
}

std::optional<std::int64_t> int_field(const boost::json::object& req, const char* key, std::int64_t fallback,
                                      std::int64_t min, std::int64_t max, control::Reply& reply) {
  const auto* n = req.if_contains(key);
  if (n == nullptr || n->is_null()) {
    return fallback;
  }
  if (!n->is_int64() || n->as_int64() < min || n->as_int64() > max) {
    reply(control::error_reply(std::string("\"") + key + "\" must be an integer from " + std::to_string(min) + " to " +
                               std::to_string(max)));
    return std::nullopt;
  }
  return n->as_int64();
}

std::string peer_name(const control::Peer& peer) {
  return "uid " + std::to_string(peer.uid) + " pid " + std::to_string(peer.pid);
}

}  // namespace detail

}  // namespace tend::commands
