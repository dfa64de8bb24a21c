// Discord webhook: `content` (the headline) plus one embed with the severity colour, the detail
// in a code block and the facts as inline fields, within Discord's limits (content 2000,
// description 4096, field value 1024, 25 fields); a group is its headline and a line per member. `allowed_mentions` is
// empty: @everyone in a job's output must not ping a whole server.
#include <boost/json.hpp>

#include "alerts/notifier.hpp"
#include "util/text.hpp"

namespace tend::alerts {

namespace {

int colour(const Notification& n) {
  if (n.status == "resolved") {
    return 0x2EB886;
  }
  if (n.severity == "critical") {
    return 0xD40E0D;
  }
  if (n.severity == "warning") {
    return 0xDAA038;
  }
  return 0x439FE0;
}

std::string cut(const std::string& s, std::size_t max) {
  if (s.size() <= max) {
    return s;
  }
  std::size_t end = max - 3;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0U) == 0x80U) {
    --end;
  }
  return s.substr(0, end) + "...";
}

class Discord final : public Notifier {
 public:
  [[nodiscard]] std::string render(const Notification& n) const override {
    namespace json = boost::json;
    json::array fields;
    for (const auto& [k, v] : facts(n)) {
      if (fields.size() == 25) {
        break;
      }
      fields.push_back(json::object{{"name", k}, {"value", cut(v, 1024)}, {"inline", true}});
    }
    json::object embed{{"title", cut(n.summary, 256)},
                       {"color", colour(n)},
                       {"fields", std::move(fields)},
                       {"timestamp", format_iso8601(n.created_at)},
                       {"footer", json::object{{"text", "tend · " + n.id}}}};
    if (!n.detail.empty()) {
      std::string detail = keep_tail(n.detail, 3900);
      for (std::size_t p = 0; (p = detail.find("```", p)) != std::string::npos;) {
        detail.replace(p, 3, "'''");
      }
      embed["description"] = "```\n" + detail + "\n```";
    }
    return json::serialize(json::object{{"content", cut(headline(n), 2000)},
                                        {"embeds", json::array{std::move(embed)}},
                                        {"allowed_mentions", json::object{{"parse", json::array{}}}}});
  }

  /// The group's headline as `content`; one embed whose description is a line per member
  /// (within the description's 4096 characters, then "… and N more").
  [[nodiscard]] std::string render_group(const GroupMessage& g) const override {
    namespace json = boost::json;
    auto top = group_top(g);
    top.occurrences = 1;  // the headline counts members (its summary), not observations
    // Discord counts characters, we count bytes: a bound in bytes is within its limit.
    json::object embed{{"title", cut("group " + g.key, 256)},
                       {"color", colour(top)},
                       {"description", member_lines(g, 4000, [](const std::string& s) { return s; })},
                       {"timestamp", format_iso8601(top.created_at)},
                       {"footer", json::object{{"text", "tend · " + g.id}}}};
    return json::serialize(json::object{{"content", cut(headline(top), 2000)},
                                        {"embeds", json::array{std::move(embed)}},
                                        {"allowed_mentions", json::object{{"parse", json::array{}}}}});
  }
};

}  // namespace

extern const NotifierType discord_type;
const NotifierType discord_type{
    "discord",
    config::read_http_notifier,
    [](const config::NotifierConfig& /*cfg*/) -> std::unique_ptr<Notifier> { return std::make_unique<Discord>(); },
};

}  // namespace tend::alerts
