#pragma once

#include "jobs/config.hpp"

namespace tend::jobs {

/// Delay before attempt `next_attempt` (2 = first retry): fixed `delay`, or delay * 2^(n-2)
/// for exponential backoff, capped at 1 hour.
Duration retry_delay(const RetryConfig& retry, int next_attempt);

}  // namespace tend::jobs
