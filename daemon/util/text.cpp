#include "util/text.hpp"

namespace tend {
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < text.size() && (b(k) & 0xC0U) == 0x80U; };
  const unsigned char c = b(0);
  if (c < 0x80U) {
    return 1;
  }
  if (c >= 0xC2U && c <= 0xDFU) {
    return cont(1) ? 2 : 0;
  }
  if (c >= 0xE0U && c <= 0xEFU) {
    if (!cont(1) || !cont(2)) {
      return 0;
    }
    if ((c == 0xE0U && b(1) < 0xA0U) || (c == 0xEDU && b(1) > 0x9FU)) {
      return 0;  // overlong, or a UTF-16 surrogate
    }
    return 3;
  }
  if (c >= 0xF0U && c <= 0xF4U) {
    if (!cont(1) || !cont(2) || !cont(3)) {
      return 0;
    }
    if ((c == 0xF0U && b(1) < 0x90U) || (c == 0xF4U && b(1) > 0x8FU)) {
      return 0;  // overlong, or above U+10FFFF
    }
    return 4;
  }
  return 0;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string head_utf8(std::string_view text, std::size_t max) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t n = utf8_length(text, i);
    const std::string_view piece = n == 0 ? kReplacement : text.substr(i, n);
    if (out.size() + piece.size() > max) {
      break;
    }
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string keep_tail(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return std::string(text);
  }
  static constexpr std::string_view kMark = "…\n";
  const std::size_t keep = max > kMark.size() ? max - kMark.size() : 0;
  std::size_t start = text.size() - keep;
  // Step forward past continuation bytes so no character is cut in half.
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0U) == 0x80U) {
    ++start;
  }
  return std::string(kMark).append(text.substr(start));
}

std::string output_tail(std::string_view output, std::size_t max_lines) {
  std::size_t end = output.size();
  while (end > 0 && output[end - 1] == '\n') {
    --end;
  }
  std::size_t pos = end;
  std::size_t lines = 0;
  while (pos > 0 && lines < max_lines && end - pos < 2048) {
    --pos;
    if (output[pos] == '\n') {
      ++lines;
    }
  }
  if (pos < end && output[pos] == '\n') {
    ++pos;
  }
  // Never start inside a character.
  while (pos < end && (static_cast<unsigned char>(output[pos]) & 0xC0U) == 0x80U) {
    ++pos;
  }
  return std::string(output.substr(pos, end - pos));
}

std::string plural(long long n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace tend
