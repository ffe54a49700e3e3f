#include "detectors/frame_streams.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "detectors/hash.hpp"

namespace dg::detectors {

namespace {

bool same_frame(std::uint64_t a, std::uint64_t b) noexcept {
  return std::popcount(a ^ b) <= FrameStreams::kMaxHamming;
}

}  // namespace

void FrameStreams::observe(const FrameRequest& r, double ts, double half_life_s) noexcept {
  if (r.signature == 0) return;
  // Late events (ts before the last one) count without decay.
  if (ts > last_ts) {
    const float f = half_life_s > 0 ? static_cast<float>(std::exp2(-(ts - last_ts) / half_life_s)) : 0.0f;
    for (auto& s : slots) s.weight *= f;
    last_ts = ts;
  }
  Slot* slot = nullptr;
  for (auto& s : slots)
    if (s.used() && same_frame(s.signature, r.signature)) {
      slot = &s;
      break;
    }
  if (!slot) {
    // Not tracked: it takes a slot only if it recurred among the recent
    // candidates; otherwise it becomes one.
    bool recurred = false;
    for (auto& p : probation)
      if (p != 0 && same_frame(p, r.signature)) {
        p = 0;
        recurred = true;
        break;
      }
    if (!recurred) {
      probation[probation_next] = r.signature;
      probation_next = static_cast<std::uint8_t>((probation_next + 1) % kProbation);
      return;
    }
    slot = &*std::min_element(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
      if (a.used() != b.used()) return !a.used();
      return a.weight < b.weight;
    });
    *slot = Slot{};
    slot->signature = r.signature;
  }
  slot->weight += 1;
  if (slot->requests < UINT32_MAX) ++slot->requests;
  slot->stated += r.states_answer;
  slot->distillable += r.distillable;
  slot->contents.add(mix64(r.content));
}

}  // namespace dg::detectors
