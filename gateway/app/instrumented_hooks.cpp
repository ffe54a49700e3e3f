#include "gateway/app/instrumented_hooks.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <functional>

#include "gateway/alerts/decision_alerts.hpp"

namespace dg::gateway {

namespace {

/// Per-thread open-addressing table: (hooks, key, arrival) -> action index.
/// Fixed size; when a probe run is full the oldest entry is overwritten and
/// that request is later counted as "allow" (visible only under thousands of
/// concurrent requests per worker).
struct Pending {
  const void* owner = nullptr;
  std::uint64_t key_hash = 0;
  std::uint64_t ts_bits = 0;
  std::uint8_t action = 0;
  bool used = false;
};
constexpr std::size_t kSlots = 4096;
constexpr std::size_t kProbe = 16;
thread_local std::array<Pending, kSlots> t_pending{};

std::uint64_t mix(const void* owner, std::uint64_t key_hash, std::uint64_t ts_bits) {
  std::uint64_t h = key_hash ^ (ts_bits * 0x9E3779B97F4A7C15ULL) ^ reinterpret_cast<std::uintptr_t>(owner);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

GateVerdict InstrumentedHooks::on_request(const RequestInfo& info) {
  GateVerdict v = inner_.on_request(info);
  const auto key_hash = std::hash<std::string_view>{}(info.key_fp);
  const auto ts_bits = std::bit_cast<std::uint64_t>(info.now);
  const auto start = mix(this, key_hash, ts_bits) % kSlots;
  std::size_t slot = start;
  for (std::size_t i = 0; i < kProbe; ++i) {
    auto& p = t_pending[(start + i) % kSlots];
    if (!p.used) {
      slot = (start + i) % kSlots;
      break;
    }
  }
  t_pending[slot] = {this, key_hash, ts_bits, static_cast<std::uint8_t>(DgMetrics::action_index(v.action)), true};
  return v;
}

void InstrumentedHooks::on_exchange(const detectors::Exchange& ex) {
  std::string_view action = ex.key_fp.empty() && ex.response.status == 401 ? "unauthenticated" : "allow";
  const auto key_hash = std::hash<std::string_view>{}(ex.key_fp);
  const auto ts_bits = std::bit_cast<std::uint64_t>(ex.ts);
  const auto start = mix(this, key_hash, ts_bits) % kSlots;
  for (std::size_t i = 0; i < kProbe; ++i) {
    auto& p = t_pending[(start + i) % kSlots];
    if (p.used && p.owner == this && p.key_hash == key_hash && p.ts_bits == ts_bits) {
      action = DgMetrics::kActionNames[p.action];
      p.used = false;
      break;
    }
  }
  metrics_.count_request(detectors::endpoint_from_path(ex.path), ex.response.status, action);
  if (alerter_) alerter_->remember_exchange(ex);
  inner_.on_exchange(ex);
}

detectors::KeyAssessment InstrumentedDetection::observe(const detectors::Exchange& exchange) {
  auto a = inner_.observe(exchange);
  if (a.new_finding)
    for (const auto& f : a.findings) metrics_.detector_findings.with({f.detector}).inc();
  return a;
}

}  // namespace dg::gateway
