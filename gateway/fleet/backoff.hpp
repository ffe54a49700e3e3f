#pragma once
/// Reconnect delays for fleet mode: bounded exponential backoff with full
/// jitter. The n-th delay after a success (n = 0, 1, ...) is drawn uniformly
/// from [0, min(max, min * 2^n)] milliseconds, so a fleet of sidecars that
/// lost the same Redis at the same moment spreads its reconnects over the
/// window instead of arriving in lockstep. The generator is seeded by the
/// caller (a fixed seed in tests, a random one in the product). Pure, no
/// clock, no I/O; not thread-safe (the control loop owns it).
///
///   ReconnectBackoff b(100ms, 2000ms, seed);
///   timer.expires_after(b.next());   // after each failure
///   b.reset();                       // after a success

#include <chrono>
#include <cstdint>
#include <random>

namespace dg::gateway::fleet {

class ReconnectBackoff {
 public:
  /// `min` is the first window's upper bound (> 0); `max` caps every window
  /// (raised to `min` if smaller).
  ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed);

  /// The delay before the next attempt; widens the window for the one after.
  std::chrono::milliseconds next();
  /// The upper bound next() draws from now (tests, logs).
  std::chrono::milliseconds ceiling() const noexcept { return ceiling_; }
  /// Back to the first window (a session was established).
  void reset() noexcept { ceiling_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, ceiling_;
  std::mt19937_64 rng_;
};

}  // namespace dg::gateway::fleet
