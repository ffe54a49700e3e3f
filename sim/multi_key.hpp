#pragma once
/// Helpers for personas that send with many keys (campaigns, the users of a
/// bring-your-own-key app): their keys' arrivals merged into one schedule.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dg::sim {

/// Arrivals of many keys merged in time order; render() walks them in order.
struct MergedSchedule {
  struct Arrival {
    double ts;
    std::uint32_t key;
  };
  std::vector<Arrival> arrivals;
  std::size_t cursor = 0;

  std::vector<double> finish() {
    std::stable_sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.ts < b.ts; });
    std::vector<double> out;
    out.reserve(arrivals.size());
    for (const auto& a : arrivals) out.push_back(a.ts);
    return out;
  }
  /// The key of the next arrival (the generator renders in schedule order).
  std::uint32_t next() { return cursor < arrivals.size() ? arrivals[cursor++].key : 0; }
};

}  // namespace dg::sim
