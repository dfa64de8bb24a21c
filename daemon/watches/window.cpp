#include "watches/window.hpp"

#include <algorithm>

namespace tend::watches {

Window::Window(Duration length, std::size_t max_buckets) : length_(std::max(length, Duration(1))) {
  const auto second = Duration(std::chrono::seconds(1));
  max_buckets = std::max<std::size_t>(max_buckets, 1);
  if (length_ <= second) {
    width_ = length_;
  } else {
    // Whole seconds, wide enough that the ring stays within max_buckets.
    const auto per_bucket = (length_ + Duration(static_cast<std::int64_t>(max_buckets) * 1000 - 1)) /
                            Duration(static_cast<std::int64_t>(max_buckets) * 1000);
    width_ = second * std::max<std::int64_t>(per_bucket, 1);
  }
  const auto count = (length_ + width_ - Duration(1)) / width_;
  ring_.resize(static_cast<std::size_t>(std::max<std::int64_t>(count, 1)));
}

std::int64_t Window::index_of(MonoTime t) const {
  const auto ms = std::chrono::duration_cast<Duration>(t.time_since_epoch()).count();
  const auto w = width_.count();
  return ms >= 0 ? ms / w : -((-ms + w - 1) / w);
}

void Window::advance(std::int64_t index) {
  const auto n = static_cast<std::int64_t>(ring_.size());
  if (empty_ || index - newest_ >= n) {
    // Everything the ring holds is older than the window (or there is nothing yet).
    std::fill(ring_.begin(), ring_.end(), Bucket{});
    sum_ = {};
    empty_ = false;
    newest_ = index;
    return;
  }
  for (std::int64_t k = newest_ + 1; k <= index; ++k) {
    auto& slot = ring_[static_cast<std::size_t>(((k % n) + n) % n)];
    sum_.requests -= slot.requests;
    sum_.errors -= slot.errors;
    slot = Bucket{};
  }
  newest_ = index;
}

void Window::add(MonoTime at, std::uint64_t requests, std::uint64_t errors) {
  if (requests == 0 && errors == 0) {
    return;
  }
  const auto index = index_of(at);
  if (empty_ || index > newest_) {
    advance(index);
  }
  const auto n = static_cast<std::int64_t>(ring_.size());
  if (index <= newest_ - n) {
    return;  // older than the window
  }
  auto& slot = ring_[static_cast<std::size_t>(((index % n) + n) % n)];
  slot.requests += requests;
  slot.errors += errors;
  sum_.requests += requests;
  sum_.errors += errors;
}

Window::Totals Window::totals(MonoTime now) {
  const auto index = index_of(now);
  if (empty_) {
    return {};
  }
  if (index > newest_) {
    advance(index);
  }
  return sum_;
}

}  // namespace tend::watches
