#pragma once
/// The fixed-size per-key sketch of the campaign linker: what a key sent and
/// from where, reduced to a few heavy-hitter slots and an activity bitmap.
/// Internal to CampaignLinker (header shared with its tests).

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "detectors/campaign_network.hpp"
#include "detectors/features.hpp"

namespace dg::detectors::campaign {

/// One heavy-hitter slot: an id and how often it was seen.
struct Slot {
  std::uint64_t id = 0;
  std::uint32_t count = 0;
};

/// Folds `id` into `slots`: an equal id (or, with `max_hamming` >= 0, one at
/// most that many bits away) is counted; otherwise it takes an empty slot or
/// replaces the least-counted one (its count restarts at 1).
/// Returns true when the id was already present.
template <std::size_t N>
bool fold_slot(std::array<Slot, N>& slots, std::uint64_t id, int max_hamming = -1) noexcept {
  std::size_t weakest = 0;
  for (std::size_t i = 0; i < N; ++i) {
    auto& s = slots[i];
    if (s.count > 0) {
      bool same = max_hamming < 0 ? s.id == id : std::popcount(s.id ^ id) <= max_hamming;
      if (same) {
        ++s.count;
        return true;
      }
    }
    if (s.count < slots[weakest].count) weakest = i;
  }
  slots[weakest] = Slot{id, 1};
  return false;
}

/// The most counted slot (count 0 when empty).
template <std::size_t N>
const Slot& top_slot(const std::array<Slot, N>& slots) noexcept {
  std::size_t best = 0;
  for (std::size_t i = 1; i < N; ++i)
    if (slots[i].count > slots[best].count) best = i;
  return slots[best];
}

struct NetSlot {
  NetworkId net;
  std::uint32_t count = 0;
};

/// Everything the linker keeps about one key: fixed size, no per-event lists.
struct KeySketch {
  double first_seen = 0;
  double last_seen = 0;
  std::uint32_t requests = 0;
  std::uint32_t templated = 0;       ///< requests that carried template evidence
  std::uint32_t networked = 0;       ///< requests with a parsable client address
  std::uint32_t network_misses = 0;  ///< of those, how many were not in a network slot (router-like keys)
  std::uint32_t continued = 0;       ///< requests carrying earlier assistant or tool turns (a conversation)
  std::uint64_t prompt_tokens = 0;   ///< usage totals (output/input: how much an answer elaborates)
  std::uint64_t completion_tokens = 0;
  std::int64_t last_bucket = 0;
  std::uint64_t activity = 0;        ///< bit i: active in bucket last_bucket - i
  std::array<Slot, 4> templates{};   ///< SimHash signatures (near-duplicates merged)
  std::array<Slot, 2> systems{};     ///< system-prompt hashes
  std::array<Slot, 2> params{};      ///< request-parameter vector hashes (bit 0: distillation-shaped)
  std::array<Slot, 2> agents{};      ///< user-agent hashes
  std::array<NetSlot, 3> networks{};
  bool rotation_linked = false;

  /// Activity bitmap as of bucket `now_bucket` (bit 0 = that bucket).
  std::uint64_t activity_at(std::int64_t now_bucket) const noexcept {
    std::int64_t shift = now_bucket - last_bucket;
    if (shift < 0) return activity;  // out-of-order event time: keep as is
    if (shift >= 64) return 0;
    return activity << shift;
  }
};

/// The key's most counted network slot, or null when it has none.
inline const NetSlot* top_net(const KeySketch& sk) noexcept {
  const NetSlot* best = nullptr;
  for (const auto& s : sk.networks)
    if (s.count > 0 && (!best || s.count > best->count)) best = &s;
  return best;
}

/// FNV-1a, then a 64-bit finalizer (stable across runs and platforms).
inline std::uint64_t hash_text(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  return h;
}

/// True when the parameters are shaped for harvesting (logprobs, samples, biases).
inline bool distillation_shaped(const RequestFeatures& r) noexcept {
  return r.logprobs || r.top_logprobs > 0 || r.n > 1 || r.logit_bias_size > 0;
}

/// Hash of the request-parameter vector: model, endpoint, temperature (0.05
/// steps), max_tokens bucket (power of two), logprobs, top_logprobs, n,
/// stream. Bit 0 is set when the vector is distillation-shaped.
inline std::uint64_t params_hash(const RequestFeatures& r) noexcept {
  std::uint64_t h = hash_text(r.model);
  h = mix(h, static_cast<std::uint64_t>(r.endpoint));
  h = mix(h, r.temperature ? static_cast<std::uint64_t>(std::llround(*r.temperature * 20.0)) + 1 : 0);
  std::uint64_t mt = 0;
  if (r.max_tokens) {
    auto v = *r.max_tokens < 1 ? std::uint64_t{1} : static_cast<std::uint64_t>(*r.max_tokens);
    mt = static_cast<std::uint64_t>(std::bit_width(v)) + 1;
  }
  h = mix(h, mt);
  h = mix(h, r.logprobs ? 1 : 0);
  h = mix(h, r.top_logprobs);
  h = mix(h, r.n);
  h = mix(h, r.stream ? 1 : 0);
  h = mix(h, r.logit_bias_size > 0 ? 1 : 0);
  return (h & ~std::uint64_t{1}) | (distillation_shaped(r) ? 1 : 0);
}

}  // namespace dg::detectors::campaign
