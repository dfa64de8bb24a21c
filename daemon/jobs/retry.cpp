#include "jobs/retry.hpp"

#include <algorithm>

namespace tend::jobs {

Duration retry_delay(const RetryConfig& retry, int next_attempt) {
  if (retry.backoff == Backoff::fixed || next_attempt <= 2) {
    return retry.delay;
  }
  constexpr Duration cap = std::chrono::hours(1);
  Duration d = retry.delay;
  for (int i = 2; i < next_attempt && d < cap; ++i) {
    d *= 2;
  }
  return std::min(d, cap);
}

}  // namespace tend::jobs
