#pragma once
/// The one clock of the gateway. Detection never reads it (event time, see
/// DESIGN); the gateway reads it where time decides behaviour: the arrival
/// time of a request, decision expiry sweeps, policy reload times, operator
/// decisions, alert timestamps and the journal's fsync interval.
///
/// `Clock` is two function pointers, the system's clocks by default, so a
/// read stays one indirect call (no virtual call, no allocation) and a test
/// injects a fake with `Clock{&fake_wall, &fake_monotonic}`. Header only, no
/// I/O; std only.

#include <chrono>

namespace dg::gateway {

/// Seconds since the Unix epoch (wall clock, may jump).
inline double system_wall_s() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Seconds on the monotonic clock (intervals and deadlines only).
inline double system_monotonic_s() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Clock {
  double (*wall_fn)() noexcept = &system_wall_s;
  double (*monotonic_fn)() noexcept = &system_monotonic_s;

  double wall() const noexcept { return wall_fn(); }
  double monotonic() const noexcept { return monotonic_fn(); }
};

/// The system clock (what the product runs on when nothing is injected).
inline constexpr Clock kSystemClock{};

}  // namespace dg::gateway
