#pragma once
/// Fixed-size building blocks of per-key state: sliding-window counters in
/// the style of HAProxy's freq_ctr, exponentially decayed counters, and a
/// 64-register HyperLogLog. None of them grows with traffic. All take the
/// event time as an argument; none reads a clock. Not thread-safe (the key
/// store's shard lock protects them).

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace dg::detectors {

/// N counters over a sliding window of one `period`: the current period's
/// counts plus the previous period's, weighted by the share of it still
/// inside the window (prev * (1 - elapsed/period) + curr). 8 bytes per
/// counter plus the period index.
template <std::size_t N>
struct FreqWindow {
  std::uint32_t tick = 0;  ///< index of the current period (floor(ts / period))
  std::array<std::uint32_t, N> curr{};
  std::array<std::uint32_t, N> prev{};

  static std::uint32_t index(double ts, double period) noexcept {
    const double i = std::floor(std::max(ts, 0.0) / period);
    return i >= 4294967295.0 ? 4294967295U : static_cast<std::uint32_t>(i);
  }

  /// Moves the window to `ts`. Before a period is left, `on_finish(curr,
  /// periods_elapsed)` sees its final counts. Late events (ts before the
  /// current period) count into the current period.
  template <class F>
  void roll(double ts, double period, F&& on_finish) {
    const auto idx = index(ts, period);
    if (idx <= tick) return;
    on_finish(curr, idx - tick);
    if (idx - tick == 1) prev = curr;
    else prev.fill(0);
    curr.fill(0);
    tick = idx;
  }
  void roll(double ts, double period) {
    roll(ts, period, [](const auto&, std::uint32_t) {});
  }

  void add(std::size_t i, std::uint64_t v) noexcept {
    const std::uint64_t s = curr[i] + v;
    curr[i] = s > 0xFFFFFFFFULL ? 0xFFFFFFFFU : static_cast<std::uint32_t>(s);
  }

  /// Weights of the stored current and previous periods as of `ts`.
  struct Weights {
    double curr = 0, prev = 0;
  };
  Weights weights(double ts, double period) const noexcept {
    const auto idx = index(ts, period);
    const double frac = std::clamp((ts - static_cast<double>(idx) * period) / period, 0.0, 1.0);
    if (idx <= tick) return {1.0, idx == tick ? 1.0 - frac : 1.0};
    if (idx == tick + 1) return {1.0 - frac, 0.0};
    return {};
  }

  /// The windowed count of counter i as of `ts` (no mutation: works for peek).
  double value(std::size_t i, double ts, double period) const noexcept {
    const auto w = weights(ts, period);
    return prev[i] * w.prev + curr[i] * w.curr;
  }
  double value(std::size_t i, Weights w) const noexcept { return prev[i] * w.prev + curr[i] * w.curr; }

  /// Re-anchors after a change of period (hot reload): counts are kept as
  /// the current period's.
  void rebase(double ts, double period) noexcept { tick = index(ts, period); }
};

/// N exponentially decayed counters sharing one timestamp: each event adds
/// 1 (or its weight), and everything halves every `half_life` seconds.
template <std::size_t N>
struct DecayedCounters {
  double last_ts = 0;
  std::array<float, N> v{};

  void decay_to(double ts, double half_life) noexcept {
    if (ts <= last_ts) return;
    if (last_ts > 0) {
      const float f = static_cast<float>(std::exp2(-(ts - last_ts) / half_life));
      for (auto& x : v) x *= f;
    }
    last_ts = ts;
  }
  /// Value as of `ts` without mutation.
  double value(std::size_t i, double ts, double half_life) const noexcept {
    if (ts <= last_ts) return v[i];
    return v[i] * std::exp2(-(ts - last_ts) / half_life);
  }
};

/// HyperLogLog with 64 one-byte registers: distinct counts with ~13%
/// standard error (1.04/sqrt(64)), linear counting for small cardinalities
/// (exact-ish below ~100). The harmonic sum and the count of empty registers
/// are kept up to date on add, so estimate() is O(1). 72 bytes.
struct Hll64 {
  std::array<std::uint8_t, 64> reg{};
  float inv_sum = 64;  ///< sum of 2^-reg[i]
  std::uint8_t zeros = 64;

  static double inverse_power(unsigned r) noexcept {
    static constexpr auto kInversePowers = [] {
      std::array<double, 64> t{};
      double v = 1.0;
      for (auto& x : t) {
        x = v;
        v /= 2;
      }
      return t;
    }();
    return kInversePowers[r & 63U];
  }

  void add(std::uint64_t hash) noexcept {
    const auto i = hash & 63U;
    const std::uint64_t w = hash >> 6;
    const auto rank = static_cast<std::uint8_t>(w == 0 ? 59 : std::countr_zero(w) + 1);
    if (rank > reg[i]) {
      if (reg[i] == 0) --zeros;
      inv_sum = static_cast<float>(inv_sum - inverse_power(reg[i]) + inverse_power(rank));
      reg[i] = rank;
    }
  }
  void clear() noexcept {
    reg.fill(0);
    inv_sum = 64;
    zeros = 64;
  }
  bool empty() const noexcept { return zeros == 64; }
  double estimate() const noexcept {
    if (zeros == 64) return 0;
    constexpr double m = 64;
    const double raw = 0.709 * m * m / inv_sum;
    if (raw <= 2.5 * m && zeros > 0) return m * std::log(m / zeros);
    return raw;
  }
};

/// A HyperLogLog pair that follows a FreqWindow's periods: distinct items
/// in the current period plus the previous one, weighted like FreqWindow.
struct WindowedHll {
  Hll64 curr, prev;
  void on_roll(std::uint32_t elapsed) noexcept {
    if (elapsed == 1) prev = curr;
    else prev.clear();
    curr.clear();
  }
  template <class W>
  double estimate(W w) const noexcept {
    return (w.prev > 0 && !prev.empty() ? prev.estimate() * w.prev : 0.0) +
           (w.curr > 0 && !curr.empty() ? curr.estimate() * w.curr : 0.0);
  }
};

/// Maps x linearly from [lo, hi] to [0, 1], clamped.
inline double ramp(double x, double lo, double hi) noexcept {
  if (hi <= lo) return x >= hi ? 1.0 : 0.0;
  return std::clamp((x - lo) / (hi - lo), 0.0, 1.0);
}

}  // namespace dg::detectors
