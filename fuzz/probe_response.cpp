// A probe's judgement of an HTTP response (status, headers, body: whatever the probed server, or
// anyone in its path, sends back). Input: one byte choosing the probe's expectations, a status
// line, header lines, an empty line, the body. Properties: no crash, no hang (the body regex is
// POSIX, matched on bodies of any shape); a probe is up exactly when there is no reason, and the
// reason, which is stored, shown and sent, is valid UTF-8 (SPEC: text from outside).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "probes/evaluate.hpp"
#include "util/text.hpp"

namespace {

using tend::probes::ProbeConfig;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

bool is_valid_utf8(std::string_view s) { return tend::valid_utf8(s) == s; }

std::vector<ProbeConfig> expectations() {
  std::vector<ProbeConfig> out(6);
  out[0].expect.body_contains = "ok";
  out[1].expect.json = tend::probes::JsonExpect{"/status", "up"};
  out[2].expect.json = tend::probes::JsonExpect{"/checks/0/état", "1"};
  out[3].expect.body_regex = "^(up|ok)[[:space:]]*$";
  out[3].expect.max_latency = std::chrono::milliseconds(500);
  out[4].expect.status = {{200, 299}, {300, 399}};
  out[4].expect.json = tend::probes::JsonExpect{"", "true"};
  out[5].expect.status = {{503, 503}};
  out[5].expect.body_contains = "maintenance — back soon";
  out[5].expect.body_regex = "([a-z]+)*x{2,9}|é+$";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<ProbeConfig> configs = expectations();
  static const std::shared_ptr<tend::probes::BodyRegex> regex3 =
      *tend::probes::BodyRegex::compile(configs[3].expect.body_regex);
  static const std::shared_ptr<tend::probes::BodyRegex> regex5 =
      *tend::probes::BodyRegex::compile(configs[5].expect.body_regex);
  if (size == 0) {
    return 0;
  }
  const std::size_t which = data[0] % configs.size();
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  tend::http::Response resp;
  const auto nl = in.find('\n');
  const std::string status_line(in.substr(0, nl));
  resp.status = std::atoi(status_line.c_str());
  resp.latency =
      std::chrono::milliseconds(static_cast<unsigned char>(status_line.empty() ? 0 : status_line.back()) * 10);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  while (!in.empty()) {
    const auto end = in.find('\n');
    const auto line = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 1);
    if (line.empty()) {
      break;
    }
    const auto colon = line.find(':');
    resp.headers[std::string(line.substr(0, colon))] =
        colon == std::string_view::npos ? "" : std::string(line.substr(colon + 1));
  }
  resp.body = std::string(in);

  const tend::probes::BodyRegex* regex = which == 3 ? regex3.get() : which == 5 ? regex5.get() : nullptr;
  const auto verdict = tend::probes::evaluate(configs[which], regex, resp);
  check(verdict.up == verdict.reason.empty());
  check(is_valid_utf8(verdict.reason));
  return 0;
}
