#include "gateway/fleet/backoff.hpp"

#include <algorithm>

namespace dg::gateway::fleet {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), ceiling_(min_), rng_(seed) {}

std::chrono::milliseconds ReconnectBackoff::next() {
  // "Full jitter": the whole window, not a band around its end, is what
  // breaks the lockstep (every instance doubling the same base stays in step).
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling_.count());
  const std::chrono::milliseconds delay(pick(rng_));
  ceiling_ = std::min(max_, ceiling_ * 2);
  return delay;
}

}  // namespace dg::gateway::fleet
