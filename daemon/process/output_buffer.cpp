#include "process/output_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace tend::process {

OutputBuffer::OutputBuffer(std::size_t limit) : limit_(limit) {}

void OutputBuffer::append(std::string_view bytes) {
  total_ += bytes.size();
  if (limit_ == 0 || bytes.empty()) {
    return;
  }
  if (bytes.size() >= limit_) {
    // The new bytes alone fill the buffer: everything older goes.
    bytes.remove_prefix(bytes.size() - limit_);
    ring_.reserve(limit_);
    ring_.assign(bytes.begin(), bytes.end());
    head_ = 0;
    return;
  }
  if (ring_.size() < limit_) {
    const std::size_t take = std::min(limit_ - ring_.size(), bytes.size());
    if (ring_.size() + take > ring_.capacity()) {
      // Grow geometrically but never past the limit: vector::reserve allocates exactly what is asked,
      // unlike std::string, whose growth policy may double past it.
      ring_.reserve(std::min(limit_, std::max(ring_.size() + take, 2 * ring_.capacity())));
    }
    ring_.insert(ring_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    bytes.remove_prefix(take);
    if (bytes.empty()) {
      return;
    }
  }
  // Full: overwrite the oldest bytes in place.
  const std::size_t first = std::min(bytes.size(), limit_ - head_);
  std::memcpy(ring_.data() + head_, bytes.data(), first);
  std::memcpy(ring_.data(), bytes.data() + first, bytes.size() - first);
  head_ = (head_ + bytes.size()) % limit_;
}

std::string OutputBuffer::str() const {
  std::string out;
  const std::uint64_t lost = dropped();
  if (lost > 0) {
    out = dropped_note(lost);
  }
  out.reserve(out.size() + ring_.size());
  out.append(ring_.begin() + static_cast<std::ptrdiff_t>(head_), ring_.end());
  out.append(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(head_));
  return out;
}

std::string dropped_note(std::uint64_t dropped) {
  return "[tend: " + std::to_string(dropped) + " earlier bytes dropped]\n";
}

}  // namespace tend::process
