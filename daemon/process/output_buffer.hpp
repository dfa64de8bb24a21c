#pragma once
// The capped tail of a child's output: however much a job prints, memory stays at most `limit` bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tend::process {

/// Keeps the last `limit` bytes appended to it (a ring buffer) and counts all of them.
class OutputBuffer {
 public:
  /// A buffer that keeps at most `limit` bytes.
  explicit OutputBuffer(std::size_t limit);

  /// Append bytes; the oldest ones beyond the limit are dropped.
  void append(std::string_view bytes);
  /// Total bytes ever appended, kept or not.
  [[nodiscard]] std::uint64_t total() const { return total_; }
  /// Bytes appended but no longer kept.
  [[nodiscard]] std::uint64_t dropped() const { return total_ - ring_.size(); }
  /// Bytes currently kept (at most the limit).
  [[nodiscard]] std::size_t size() const { return ring_.size(); }
  /// Bytes of memory reserved for the kept bytes (never more than the limit).
  [[nodiscard]] std::size_t reserved() const { return ring_.capacity(); }
  /// The kept bytes, oldest first, after a "[tend: N earlier bytes dropped]" line when some were dropped.
  [[nodiscard]] std::string str() const;

 private:
  std::size_t limit_;
  std::vector<char> ring_;  // grows up to limit_, then wraps around head_
  std::size_t head_ = 0;    // index of the oldest kept byte once ring_ is full
  std::uint64_t total_ = 0;
};

/// The note line that starts a capped output: "[tend: N earlier bytes dropped]\n".
std::string dropped_note(std::uint64_t dropped);

}  // namespace tend::process
