#pragma once
// Text for a terminal: outside text made harmless, display widths, cutting to a width, colours,
// relative times. Pure functions; whether stdout is a terminal is the caller's business.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace tend::cli {

/// How much of the control-character set to keep.
enum class Keep {
  nothing,    // one table cell: every control character is shown escaped (`\n`, `\x1b`)
  line_ends,  // a block of output: newline and tab stay, the rest is shown escaped
};

/// `text` safe to write to a terminal: invalid UTF-8 becomes U+FFFD, C0/C1 control characters
/// (ESC, CSI, BEL, CR, ...) and bidirectional overrides are written visibly as `\x1b` / `\u202e`
/// instead of raw, so text from outside (job output, reasons, names) cannot move the cursor,
/// retitle the window or hide what follows.
std::string printable(std::string_view text, Keep keep = Keep::nothing);

/// Columns `text` takes on a terminal (UTF-8; East Asian wide characters count 2, combining marks 0).
std::size_t display_width(std::string_view text);

/// `text` cut to at most `width` columns, ending in "…" when something was cut.
std::string fit_width(std::string_view text, std::size_t width);

/// `text` padded with spaces to `width` columns (never cut).
std::string pad(std::string_view text, std::size_t width);

/// ANSI SGR colours used by the tables.
enum class Color { none, red, green, yellow, blue, magenta, cyan, grey, bold };

/// `text` wrapped in the colour's escape sequence when `enabled`, else unchanged.
std::string paint(std::string_view text, Color color, bool enabled);

/// "in 3m", "2h ago", "now": the distance from `now` to `t`, in its largest unit (s, m, h, d).
std::string relative_time(std::chrono::system_clock::time_point t, std::chrono::system_clock::time_point now);

/// Whether to colour a stream: a terminal, and NO_COLOR unset or empty (https://no-color.org);
/// TERM=dumb also turns colour off.
bool use_color(int fd);

/// Columns of the terminal on `fd` (TIOCGWINSZ, else $COLUMNS, else 80).
std::size_t terminal_width(int fd);

}  // namespace tend::cli
