#pragma once
// Text that comes from outside (job output, ping reasons, log lines) made safe to store, show and
// send (SPEC: valid UTF-8, tails cut on character boundaries), and the few text shapes every
// module writes the same way.

#include <cstddef>
#include <string>
#include <string_view>

namespace tend {

/// Length of the well-formed UTF-8 character at text[i] (1 for ASCII; RFC 3629's table, so no
/// overlongs, surrogates or code points above U+10FFFF), or 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view text, std::size_t i);
/// Whether all of `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

/// `text` as valid UTF-8: every byte that does not start or continue a well-formed character
/// (overlongs, surrogates and code points above U+10FFFF included) becomes U+FFFD.
std::string valid_utf8(std::string_view text);

/// The first at most `max` bytes of `text` as valid UTF-8 (invalid bytes as U+FFFD), ending on a
/// character boundary: for quoting outside text in a reason or a message.
std::string head_utf8(std::string_view text, std::size_t max);

/// The last `max` bytes of valid UTF-8 `text`, starting on a character boundary, after a "…\n"
/// mark when something was cut (output tails are most useful at their end).
std::string keep_tail(std::string_view text, std::size_t max);

/// The last `max_lines` lines of `output` (at most 2 KiB), for alert details.
std::string output_tail(std::string_view output, std::size_t max_lines = 20);

/// "1 run", "3 runs".
std::string plural(long long n, std::string_view word);

}  // namespace tend
