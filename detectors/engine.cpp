#include "detectors/engine.hpp"

#include <algorithm>
#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "detectors/detector_scores.hpp"
#include "detectors/hash.hpp"
#include "detectors/key_state.hpp"
#include "detectors/snapshot.hpp"

namespace dg::detectors {

namespace {

struct External {
  Finding finding;
  double until = 0;
  std::string campaign;
};

struct Entry;
using Node = std::pair<const std::string, Entry>;

struct Entry {
  KeyState state;
  std::list<Node*>::iterator lru;  // map nodes are stable across rehashing
};

/// Typical output tokens per key-window of each tenant. Slot 0 is the
/// default tenant (no tenant header, or the table is full).
class TenantTable final : public TenantBaselines {
 public:
  explicit TenantTable(std::size_t max_tenants) : max_(std::max<std::size_t>(max_tenants, 1)) {
    baselines_.push_back({});
  }

  std::uint16_t slot(const std::string& tenant) {
    if (tenant.empty()) return 0;
    std::lock_guard lock(mu_);
    if (auto it = slots_.find(tenant); it != slots_.end()) return it->second;
    if (baselines_.size() >= std::min<std::size_t>(max_, UINT16_MAX)) return 0;
    const auto s = static_cast<std::uint16_t>(baselines_.size());
    baselines_.push_back({});
    slots_.emplace(tenant, s);
    return s;
  }

  float current(std::uint16_t slot) {
    std::lock_guard lock(mu_);
    return slot < baselines_.size() ? baselines_[slot].value : 0.0f;
  }

  float record(std::uint16_t slot, double output_tokens) override {
    std::lock_guard lock(mu_);
    if (slot >= baselines_.size()) slot = 0;
    auto& b = baselines_[slot];
    b.value = b.windows == 0 ? static_cast<float>(output_tokens)
                             : static_cast<float>((1 - alpha_) * b.value + alpha_ * output_tokens);
    ++b.windows;
    return b.value;
  }

  void set_alpha(double a) {
    std::lock_guard lock(mu_);
    alpha_ = a;
  }

 private:
  struct Baseline {
    float value = 0;
    std::uint64_t windows = 0;
  };
  std::mutex mu_;
  std::size_t max_;
  double alpha_ = 0.01;
  std::unordered_map<std::string, std::uint16_t> slots_;
  std::vector<Baseline> baselines_;
};

}  // namespace

struct Engine::Impl {
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> keys;
    std::list<Node*> lru;  // front = most recently observed
    std::unordered_map<std::string, std::vector<External>> externals;
    std::shared_ptr<const EngineConfig> cfg;
    std::uint32_t generation = 1;
  };

  std::vector<Shard> shards;
  std::size_t shard_cap = 1;
  TenantTable tenants;
  Snapshot<EngineConfig> cfg;
  Snapshot<PromptAnalyzer> analyzer;

  std::atomic<std::uint64_t> keys_tracked{0}, evicted_idle{0}, evicted_cap{0}, exchanges{0}, findings{0};

  explicit Impl(std::shared_ptr<const EngineConfig> c)
      : shards(std::max<std::size_t>(c->store.shards, 1)),
        tenants(c->store.max_tenants),
        cfg(c),
        analyzer(std::make_shared<const PromptAnalyzer>(c->lexicon, c->max_scan_bytes)) {
    shard_cap = std::max<std::size_t>(1, (c->store.max_keys + shards.size() - 1) / shards.size());
    tenants.set_alpha(c->volume.tenant_alpha);
    for (auto& s : shards) s.cfg = c;
  }

  Shard& shard_of(const std::string& key) { return shards[hash_bytes(key) % shards.size()]; }
  const Shard& shard_of(const std::string& key) const {
    return shards[hash_bytes(key) % shards.size()];
  }

  void erase(Shard& sh, Node* node) {
    sh.lru.erase(node->second.lru);
    sh.keys.erase(node->first);
    keys_tracked.fetch_sub(1, std::memory_order_relaxed);
  }

  /// Evicts up to `budget` idle keys from the shard's least recent end.
  void evict_idle_locked(Shard& sh, double now, double ttl, std::size_t budget, const Node* keep) {
    while (budget-- > 0 && !sh.lru.empty()) {
      Node* node = sh.lru.back();
      if (node == keep || now - node->second.state.last_ts <= ttl) return;
      erase(sh, node);
      evicted_idle.fetch_add(1, std::memory_order_relaxed);
    }
  }

  const std::vector<External>* externals_of(const Shard& sh, const std::string& key) const {
    if (sh.externals.empty()) return nullptr;
    auto it = sh.externals.find(key);
    return it == sh.externals.end() ? nullptr : &it->second;
  }

  /// Scores, combination and evidence. `update` = this is an observation
  /// (findings and alert state are remembered in the key).
  KeyAssessment assess(KeyState& s, const std::string& key, const EngineConfig& c, double now,
                       const std::vector<External>* ext, bool update) {
    KeyAssessment a;
    a.key_fp = key;
    a.request_index = s.requests;
    a.scores.reserve(kDetectorCount + (ext ? ext->size() : 0));
    double keep = 1.0;  // product of (1 - w*s)
    unsigned corroborating = 0;
    bool output_signal = !c.combine.require_output_signal;
    bool standalone = false;
    std::uint16_t mask = 0;     // at or above threshold now
    std::uint16_t latched = 0;  // still "on" for new_finding purposes (hysteresis)
    const double release = 1.0 - c.combine.hysteresis;
    for (std::size_t i = 0; i < kDetectorCount; ++i) {
      const auto id = static_cast<DetectorId>(i);
      const auto& common = detector_common(c, id);
      Finding f;
      f.detector = std::string(detector_name(id));
      if (common.enabled) {
        f.score = score_detector(id, s, c, now, nullptr);
        keep *= 1.0 - std::clamp(common.weight * f.score, 0.0, 1.0);
        if (common.corroborates && f.score >= c.combine.corroboration_score) {
          ++corroborating;
          if (id == kGenerationHeavy || id == kLogprobHarvesting) output_signal = true;
        }
        if ((s.finding_mask & (1U << i)) && f.score >= common.threshold * release && f.score > 0)
          latched = static_cast<std::uint16_t>(latched | (1U << i));
        if (f.score >= common.threshold && f.score > 0) {
          mask = static_cast<std::uint16_t>(mask | (1U << i));
          if (common.standalone) standalone = true;
          a.findings.push_back(f);
        }
      }
      a.scores.push_back(std::move(f));
    }
    if (ext) {
      for (const auto& e : *ext) {
        if (e.until < now) continue;
        keep *= 1.0 - std::clamp(c.combine.external_weight * e.finding.score, 0.0, 1.0);
        standalone = true;
        a.scores.push_back(e.finding);
        a.findings.push_back(e.finding);
        if (a.campaign.empty()) a.campaign = e.campaign;
      }
    }
    double risk = 1.0 - keep;
    if (!standalone && (corroborating < c.combine.min_corroborating || !output_signal))
      risk = std::min(risk, c.combine.uncorroborated_cap);
    a.risk = std::clamp(risk, 0.0, 1.0);
    a.alert = a.risk >= c.combine.risk_threshold;
    if (update) {
      // A score hovering at its threshold reports once: a finding (and the
      // alert) is released only when it falls `hysteresis` below.
      a.new_finding = (mask & ~s.finding_mask) != 0;
      a.new_alert = a.alert && !s.alerted;
      s.finding_mask = static_cast<std::uint16_t>(mask | latched);
      s.alerted = a.alert || (s.alerted && a.risk >= c.combine.risk_threshold * release);
      if (a.new_finding) findings.fetch_add(1, std::memory_order_relaxed);
    }
    // Words cost more than numbers: evidence is written when someone will
    // read it (a new finding or alert, a peek), not on every exchange of a
    // key that is already flagged.
    if (!update || a.new_finding || a.new_alert || c.evidence_every_exchange) {
      for (auto& f : a.findings) {
        for (std::size_t i = 0; i < kDetectorCount; ++i) {
          const auto id = static_cast<DetectorId>(i);
          if (f.evidence.empty() && f.detector == detector_name(id)) score_detector(id, s, c, now, &f.evidence);
        }
      }
    }
    return a;
  }

  static void rebase(KeyState& s, const EngineConfig& c, double ts) {
    s.reasoning.rebase(ts, c.reasoning_elicitation.common.window_s);
    s.logprob.rebase(ts, c.logprob_harvesting.common.window_s);
    s.generation.rebase(ts, c.generation_heavy.common.window_s);
    s.coverage.rebase(ts, c.coverage.common.window_s);
    s.coverage_long.rebase(ts, c.history_half_life_s);
    s.volume.rebase(ts, c.volume.common.window_s);
  }
};

Engine::Engine(EngineConfig config)
    : impl_(std::make_unique<Impl>(std::make_shared<const EngineConfig>(std::move(config)))) {}

Engine::~Engine() = default;

KeyAssessment Engine::observe(const Exchange& ex) {
  auto& sh = impl_->shard_of(ex.key_fp);
  impl_->exchanges.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(sh.mu);
  const EngineConfig& c = *sh.cfg;
  auto it = sh.keys.find(ex.key_fp);
  if (it == sh.keys.end()) {
    if (sh.keys.size() >= impl_->shard_cap && !sh.lru.empty()) {
      impl_->erase(sh, sh.lru.back());
      impl_->evicted_cap.fetch_add(1, std::memory_order_relaxed);
    }
    it = sh.keys.try_emplace(ex.key_fp).first;
    sh.lru.push_front(&*it);
    it->second.lru = sh.lru.begin();
    impl_->keys_tracked.fetch_add(1, std::memory_order_relaxed);
    auto& st = it->second.state;
    st.config_generation = sh.generation;
    st.tenant_slot = impl_->tenants.slot(ex.tenant);
    st.tenant_baseline = impl_->tenants.current(st.tenant_slot);
  } else if (it->second.lru != sh.lru.begin()) {
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second.lru);
  }
  auto& st = it->second.state;
  if (st.config_generation != sh.generation) {
    Impl::rebase(st, c, ex.ts);
    st.config_generation = sh.generation;
  }
  const auto sig = RequestSignals::of(ex, c);
  update_key_state(st, ex, sig, c, impl_->tenants);
  auto a = impl_->assess(st, it->first, c, ex.ts, impl_->externals_of(sh, ex.key_fp), true);
  // Amortised idle eviction: a couple of keys per observation keep memory
  // bounded even when nobody calls evict_idle.
  impl_->evict_idle_locked(sh, ex.ts, c.store.idle_ttl_s, 2, &*it);
  return a;
}

KeyAssessment Engine::peek(const std::string& key_fp, double now) const {
  const auto& sh = impl_->shard_of(key_fp);
  std::lock_guard lock(sh.mu);
  auto it = sh.keys.find(key_fp);
  if (it == sh.keys.end()) {
    KeyAssessment a;
    a.key_fp = key_fp;
    return a;
  }
  KeyState copy = it->second.state;  // assess never mutates with update=false; the copy keeps peek const
  return impl_->assess(copy, key_fp, *sh.cfg, now, impl_->externals_of(sh, key_fp), false);
}

void Engine::evict_idle(double now) {
  for (auto& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    impl_->evict_idle_locked(sh, now, sh.cfg->store.idle_ttl_s, SIZE_MAX, nullptr);
    for (auto it = sh.externals.begin(); it != sh.externals.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(), [&](const External& e) { return e.until < now; }), v.end());
      it = v.empty() ? sh.externals.erase(it) : std::next(it);
    }
  }
}

void Engine::reconfigure(EngineConfig config) {
  auto next = std::make_shared<const EngineConfig>(std::move(config));
  const auto prev = impl_->cfg.load();
  if (prev->lexicon.step_by_step != next->lexicon.step_by_step ||
      prev->lexicon.answer_reasoning != next->lexicon.answer_reasoning ||
      prev->lexicon.cot_harvest != next->lexicon.cot_harvest ||
      prev->lexicon.given_answer != next->lexicon.given_answer || prev->lexicon.explain != next->lexicon.explain ||
      prev->lexicon.answer_labels != next->lexicon.answer_labels ||
      prev->max_scan_bytes != next->max_scan_bytes) {
    impl_->analyzer.store(std::make_shared<const PromptAnalyzer>(next->lexicon, next->max_scan_bytes));
  }
  impl_->tenants.set_alpha(next->volume.tenant_alpha);
  // The number of shards and the key cap keep their start-up values: changing
  // them would mean rehashing every key under every lock.
  for (auto& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    sh.cfg = next;
    ++sh.generation;
  }
  impl_->cfg.store(std::move(next));
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.keys_tracked = impl_->keys_tracked.load(std::memory_order_relaxed);
  s.keys_evicted_idle = impl_->evicted_idle.load(std::memory_order_relaxed);
  s.keys_evicted_cap = impl_->evicted_cap.load(std::memory_order_relaxed);
  s.exchanges = impl_->exchanges.load(std::memory_order_relaxed);
  s.findings = impl_->findings.load(std::memory_order_relaxed);
  return s;
}

void Engine::set_external_finding(const std::string& key_fp, Finding finding, double until_ts, std::string campaign) {
  auto& sh = impl_->shard_of(key_fp);
  std::lock_guard lock(sh.mu);
  auto& v = sh.externals[key_fp];
  for (auto& e : v) {
    if (e.finding.detector == finding.detector) {
      e = External{std::move(finding), until_ts, std::move(campaign)};
      return;
    }
  }
  v.push_back(External{std::move(finding), until_ts, std::move(campaign)});
}

void Engine::clear_external_findings(const std::string& key_fp) {
  auto& sh = impl_->shard_of(key_fp);
  std::lock_guard lock(sh.mu);
  sh.externals.erase(key_fp);
}

std::shared_ptr<const PromptAnalyzer> Engine::analyzer() const { return impl_->analyzer.load(); }

std::shared_ptr<const EngineConfig> Engine::config() const { return impl_->cfg.load(); }

std::size_t Engine::bytes_per_key() noexcept {
  // The map node (key string + entry + next pointer + cached hash), one
  // bucket pointer, the LRU list node (two links + payload), and the heap
  // block of the fingerprint string ("fp:" + 16 hex digits exceeds the
  // small-string buffer; malloc rounds 20 bytes up to 32).
  return sizeof(std::pair<const std::string, Entry>) + 2 * sizeof(void*) + sizeof(void*) + 3 * sizeof(void*) + 32;
}

}  // namespace dg::detectors
