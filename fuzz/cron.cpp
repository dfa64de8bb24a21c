// Cron expression × instant × time zone. Input: line 1 a zone name (an unknown one picks one of
// the awkward zones below), line 2 an instant in seconds since the epoch, the rest the schedule.
// Properties: parsing and next-fire never throw past their API, terminate, and a fire time is
// strictly after the instant it was asked for.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schedule/schedule.hpp"

namespace {

// DST at 02:00 and at 00:00 (Santiago), half-hour DST (Lord Howe), negative DST (Dublin), a
// skipped date (Apia, 2011-12-30), 45-minute offsets.
constexpr std::string_view kZones[] = {
    "UTC",          "America/New_York", "Europe/London",  "Australia/Lord_Howe", "Europe/Dublin", "America/Santiago",
    "Pacific/Apia", "Asia/Kathmandu",   "Pacific/Chatham"};

std::string_view next_line(std::string_view& in) {
  const auto nl = in.find('\n');
  const auto line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tend::schedule::Seconds;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto zone_name = next_line(in);
  const std::string instant(next_line(in));

  auto zone = tend::schedule::find_zone(zone_name);
  const auto* tz = zone ? *zone : *tend::schedule::find_zone(kZones[zone_name.size() % std::size(kZones)]);
  const Seconds after{std::chrono::seconds(std::strtoll(instant.c_str(), nullptr, 10))};

  auto schedule = tend::schedule::parse_schedule(in, tz);
  if (!schedule) {
    check(!schedule.error().empty());
    return 0;
  }
  Seconds t = after;
  for (int i = 0; i < 3; ++i) {  // a few in a row: each strictly after the one before
    auto next = schedule->next_after(t);
    if (!next) {
      break;
    }
    check(*next > t);
    (void)tend::schedule::format_local(*next, tz);
    t = *next;
  }
  return 0;
}
