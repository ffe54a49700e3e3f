#pragma once
/// Per-key heavy-hitter frames: the sub-streams of a key's single-shot
/// requests that recur under one prompt frame (template signature), each
/// counted on its own. A key is a mixture: extraction that is 10-25% of a
/// customer's traffic is invisible in shares over the whole key, but the
/// frame it is sent under is, inside the key, a sub-stream of prompts that
/// state an answer and ask for its reasoning, over dataset-shaped varying
/// slots.
///
/// Fixed size (kSlots tracked frames plus a kProbation ring of recent
/// signatures; ~530 bytes), no per-event lists. A signature takes a slot only
/// when it recurs within the last kProbation candidate requests: a plain
/// chat question is all content (its signature is unique) and never recurs,
/// so a customer's ordinary traffic does not churn the slots. At a full
/// table the slot with the least recently decayed weight is replaced (its
/// counts restart). Not thread-safe (the key store's shard lock protects it).

#include <array>
#include <cstdint>

#include "detectors/sketches.hpp"

namespace dg::detectors {

/// What one request contributes to its frame's sub-stream.
struct FrameRequest {
  std::uint64_t signature = 0;  ///< template signature (SimHash); 0 = no frame
  std::uint64_t content = 0;    ///< hash of the whole prompt, slots included
  bool states_answer = false;   ///< states an answer and asks for its reasoning
  bool distillable = false;     ///< long answer or a rationale (RequestSignals::distillable_text)
};

struct FrameStreams {
  static constexpr std::size_t kSlots = 4;
  static constexpr std::size_t kProbation = 16;
  /// Signatures at most this many bits apart are one frame (SimHash of the
  /// masked shingles stays within a few bits under small edits).
  static constexpr int kMaxHamming = 3;

  struct Slot {
    std::uint64_t signature = 0;
    float weight = 0;             ///< decayed request count (as of FrameStreams::last_ts), for replacement
    std::uint32_t requests = 0;   ///< since the slot was taken
    std::uint32_t stated = 0;
    std::uint32_t distillable = 0;
    Hll64 contents;               ///< distinct prompts (filled-in slots) under the frame
    bool used() const noexcept { return requests > 0; }
  };

  std::array<Slot, kSlots> slots{};
  std::array<std::uint64_t, kProbation> probation{};
  std::uint8_t probation_next = 0;
  double last_ts = 0;

  /// Folds one request at event time `ts`; weights halve every `half_life_s`.
  void observe(const FrameRequest& r, double ts, double half_life_s) noexcept;

  /// The slot of the strongest sub-stream by `rank` (a callable Slot -> double),
  /// nullptr when no slot is used.
  template <class Rank>
  const Slot* best(Rank rank) const noexcept {
    const Slot* out = nullptr;
    double top = -1;
    for (const auto& s : slots) {
      if (!s.used()) continue;
      const double v = rank(s);
      if (v > top) {
        top = v;
        out = &s;
      }
    }
    return out;
  }
};

}  // namespace dg::detectors
