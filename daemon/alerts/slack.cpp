// Slack incoming webhook: `text` (the headline: what shows in notifications and in clients that
// ignore attachments) plus one attachment with the severity colour, the detail in a code block
// and the facts as short fields; a group is its headline and one line per member. Text is escaped as Slack's mrkdwn
// requires (&, <, >), so job output cannot produce links or @-mentions.
#include <boost/json.hpp>

#include "alerts/notifier.hpp"
#include "util/text.hpp"

namespace tend::alerts {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const char* colour(const Notification& n) {
  if (n.status == "resolved") {
    return "#2eb886";
  }
  if (n.severity == "critical") {
    return "#d40e0d";
  }
  if (n.severity == "warning") {
    return "#daa038";
  }
  return "#439fe0";
}

// Slack truncates messages past 40,000 characters and attachments' text well before; the end
// of an output tail is where the error is.
constexpr std::size_t kMaxDetail = 3000;
// A group's member lines: well inside an attachment's limit, still readable on a phone.
constexpr std::size_t kMaxGroupText = 6000;

class Slack final : public Notifier {
 public:
  [[nodiscard]] std::string render(const Notification& n) const override {
    namespace json = boost::json;
    json::array fields;
    for (const auto& [k, v] : facts(n)) {
      fields.push_back(json::object{{"title", k}, {"value", escape(v)}, {"short", true}});
    }
    const std::string head = escape(headline(n));
    json::object att{{"color", colour(n)},
                     {"fallback", head},
                     {"title", escape(n.summary)},
                     {"fields", std::move(fields)},
                     {"footer", "tend · " + n.id},
                     {"ts", to_unix_ms(n.created_at) / 1000},
                     {"mrkdwn_in", json::array{"text"}}};
    if (!n.detail.empty()) {
      std::string detail = keep_tail(n.detail, kMaxDetail);
      // A ``` inside would end the code block early.
      for (std::size_t p = 0; (p = detail.find("```", p)) != std::string::npos;) {
        detail.replace(p, 3, "'''");
      }
      att["text"] = "```" + escape(detail) + "```";
    }
    return json::serialize(json::object{{"text", head}, {"attachments", json::array{std::move(att)}}});
  }

  /// The group's headline as `text`; one attachment with a line per member (within
  /// kMaxGroupText, then "… and N more").
  [[nodiscard]] std::string render_group(const GroupMessage& g) const override {
    namespace json = boost::json;
    auto top = group_top(g);
    top.occurrences = 1;  // the headline counts members (its summary), not observations
    const std::string head = escape(headline(top));
    json::object att{{"color", colour(top)},
                     {"fallback", head},
                     {"text", member_lines(g, kMaxGroupText, escape)},
                     {"footer", "tend · " + g.id + " · group " + escape(g.key)},
                     {"ts", to_unix_ms(top.created_at) / 1000}};
    return json::serialize(json::object{{"text", head}, {"attachments", json::array{std::move(att)}}});
  }
};

}  // namespace

extern const NotifierType slack_type;
const NotifierType slack_type{
    "slack",
    config::read_http_notifier,
    [](const config::NotifierConfig& /*cfg*/) -> std::unique_ptr<Notifier> { return std::make_unique<Slack>(); },
};

}  // namespace tend::alerts
