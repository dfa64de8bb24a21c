#pragma once
// Tests that need something of the machine (root, a dbus-daemon, a user to drop to) fail loudly,
// naming what is missing, when it is missing: CI runs as root with everything installed, so a
// silent skip there would hide a test that never ran. A developer without root may set
// TEND_TESTS_MAY_SKIP=1 to turn those failures into warnings.

#include <catch.hpp>
#include <cstdlib>
#include <string>

namespace tend::testing {

/// True when `met`; otherwise fails the test (or, with TEND_TESTS_MAY_SKIP=1, warns) and returns
/// false, so the caller returns.
inline bool precondition(bool met, const std::string& what) {
  if (met) {
    return true;
  }
  const char* may_skip = std::getenv("TEND_TESTS_MAY_SKIP");  // NOLINT(concurrency-mt-unsafe)
  if (may_skip != nullptr && std::string(may_skip) == "1") {
    WARN("skipped (TEND_TESTS_MAY_SKIP=1): " << what);
  } else {
    FAIL_CHECK("precondition missing: " << what << " (set TEND_TESTS_MAY_SKIP=1 to skip on a developer machine)");
  }
  return false;
}

}  // namespace tend::testing
