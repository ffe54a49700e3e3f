#include "detectors/campaign_linker.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <unordered_map>

#include "detectors/campaign_format.hpp"
#include "detectors/campaign_sketch.hpp"
#include "detectors/snapshot.hpp"

namespace dg::detectors {
namespace {

/// The activity bucket of a time, saturated: a replayed record may carry any
/// finite time (5e78 s), and casting its quotient would be undefined.
std::int64_t bucket_of(double ts, double bucket_seconds) {
  const double b = std::floor(ts / bucket_seconds);
  constexpr double kLimit = 9.0e15;  // exact in a double, far inside int64
  if (!(b > -kLimit)) return static_cast<std::int64_t>(-kLimit);
  if (!(b < kLimit)) return static_cast<std::int64_t>(kLimit);
  return static_cast<std::int64_t>(b);
}

using campaign::fold_slot;
using campaign::KeySketch;
using campaign::top_slot;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Shard {
  mutable std::mutex mu;
  StringMap<KeySketch> keys;
  std::size_t evict_cursor = 0;
};

/// What rotation matching remembers of an actioned key.
struct ActionedPrint {
  std::string key_fp;
  std::string action;
  double ts = 0;
  std::array<std::uint64_t, 2> templates{};
  int ntemplates = 0;
  NetworkId net;
  std::uint64_t params = 0;
};

struct RotationLink {
  CampaignMembership membership;
  double ts = 0;
};

/// A key as clustering sees it (copied out of its shard).
struct Node {
  std::string fp;
  double first_seen = 0;
  double last_seen = 0;
  std::uint32_t requests = 0;
  std::array<std::uint64_t, 4> templates{};
  int ntemplates = 0;
  std::uint64_t system = 0;
  std::uint64_t params = 0;
  std::uint64_t agent = 0;
  NetworkId net;
  std::uint64_t activity = 0;
  bool via_network = false;
  bool via_timing = false;
  bool via_harvest = false;
  bool single_shot_only = false;  ///< enough requests, none of them continuing a conversation
  double elaboration = 0;         ///< completion tokens / prompt tokens
};

class UnionFind {
 public:
  explicit UnionFind(std::size_t n) : parent_(n) {
    for (std::size_t i = 0; i < n; ++i) parent_[i] = static_cast<std::uint32_t>(i);
  }
  std::uint32_t find(std::uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void unite(std::uint32_t a, std::uint32_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (a > b) std::swap(a, b);  // deterministic: the smaller index is the root
    parent_[b] = a;
  }

 private:
  std::vector<std::uint32_t> parent_;
};

struct Published {
  std::vector<CampaignSummary> campaigns;       ///< highest score first
  std::vector<CampaignMembership> memberships;  ///< parallel to campaigns
  StringMap<std::uint32_t> index;               ///< key fp -> campaign index
};

enum class FamilyKind { Template, System, Params };

struct Family {
  FamilyKind kind;
  std::vector<std::uint32_t> nodes;
};

double jaccard(std::uint64_t a, std::uint64_t b) noexcept {
  auto u = std::popcount(a | b);
  return u == 0 ? 0.0 : static_cast<double>(std::popcount(a & b)) / u;
}

bool is_enforcing_action(std::string_view action) noexcept {
  return !(action.empty() || action == "allow" || action == "shadow" || action == "lift");
}

}  // namespace

struct CampaignLinker::Impl {
  explicit Impl(std::shared_ptr<const CampaignConfig> c)
      : nshards(std::max<std::size_t>(1, c->shards)),
        shards(new Shard[nshards]),
        per_shard_cap(std::max<std::size_t>(1, c->max_keys / nshards)),
        cfg(std::move(c)) {}

  std::size_t nshards;
  std::unique_ptr<Shard[]> shards;
  std::size_t per_shard_cap;

  /// The configuration snapshot; every call loads it once. Swapped by
  /// reconfigure (serialized by reconfigure_mu).
  Snapshot<CampaignConfig> cfg;
  std::mutex reconfigure_mu;

  std::atomic<std::uint64_t> exchanges{0}, evicted_cap{0}, evicted_idle{0}, dropped_cap{0}, rotation_links{0},
      actioned_evicted{0}, cluster_runs{0}, generic_families{0};
  std::atomic<double> first_ts{std::numeric_limits<double>::infinity()};
  std::atomic<bool> have_actioned{false};

  mutable std::shared_mutex actioned_mu;
  std::unordered_multimap<std::uint64_t, ActionedPrint> actioned;  ///< by network key
  std::deque<std::pair<std::uint64_t, std::string>> actioned_order;  ///< (network key, fp), oldest first

  mutable std::mutex rotation_mu;
  StringMap<RotationLink> rotations;

  std::mutex cluster_mu;
  /// Written under cluster_mu; read without it by maybe_cluster (called per
  /// exchange in replay, where a lock per record is measurable).
  std::atomic<double> last_cluster{-std::numeric_limits<double>::infinity()};
  std::uint64_t next_campaign = 1;

  mutable std::mutex pub_mu;
  std::shared_ptr<const Published> published;

  Shard& shard_for(std::string_view fp) { return shards[StringHash{}(fp) % nshards]; }

  std::shared_ptr<const Published> current() const {
    std::lock_guard lock(pub_mu);
    return published;
  }
};

CampaignLinker::CampaignLinker(CampaignConfig config)
    : impl_(std::make_unique<Impl>(std::make_shared<const CampaignConfig>(std::move(config)))) {}

std::shared_ptr<const CampaignConfig> CampaignLinker::config() const { return impl_->cfg.load(); }

bool CampaignLinker::enabled() const noexcept { return impl_->cfg.load()->enabled; }

std::vector<std::string> CampaignLinker::reconfigure(CampaignConfig next) {
  auto& im = *impl_;
  std::lock_guard reconfigure_lock(im.reconfigure_mu);
  const auto prev = im.cfg.load();
  std::vector<std::string> ignored;
  auto keep = [&](auto CampaignConfig::*field, std::string_view name) {
    if (next.*field != prev.get()->*field) {
      next.*field = prev.get()->*field;
      ignored.emplace_back(name);
    }
  };
  keep(&CampaignConfig::max_keys, kRestartOnlyFields[0]);
  keep(&CampaignConfig::shards, kRestartOnlyFields[1]);
  keep(&CampaignConfig::bucket_seconds, kRestartOnlyFields[2]);
  keep(&CampaignConfig::ipv4_prefix, kRestartOnlyFields[3]);
  keep(&CampaignConfig::ipv6_prefix, kRestartOnlyFields[4]);
  const bool disabling = prev->enabled && !next.enabled;
  im.cfg.store(std::make_shared<const CampaignConfig>(std::move(next)));
  if (disabling) {
    // A disabled linker neither tracks nor publishes: drop its state so that
    // stale campaigns are neither listed nor forwarded, and memory is freed.
    // cluster_mu first, as in cluster(): a run in progress finishes (and
    // publishes) before the state goes.
    std::lock_guard cluster_lock(im.cluster_mu);
    for (std::size_t i = 0; i < im.nshards; ++i) {
      std::lock_guard lock(im.shards[i].mu);
      im.shards[i].keys.clear();
    }
    {
      std::unique_lock lock(im.actioned_mu);
      im.actioned.clear();
      im.actioned_order.clear();
      im.have_actioned.store(false, std::memory_order_relaxed);
    }
    {
      std::lock_guard lock(im.rotation_mu);
      im.rotations.clear();
    }
    im.first_ts.store(std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
    im.last_cluster.store(-std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
    std::lock_guard lock(im.pub_mu);
    im.published.reset();
  }
  return ignored;
}

CampaignLinker::~CampaignLinker() = default;

std::size_t CampaignLinker::approx_bytes_per_key() noexcept {
  // map node (next pointer, cached hash, key string, sketch), one bucket
  // pointer, and the key's heap buffer ("fp:" + 16 hex = 19 chars > SSO).
  return sizeof(KeySketch) + sizeof(std::string) + 2 * sizeof(void*) + sizeof(std::size_t) + 32;
}

namespace {

/// Evicts the least recently seen of up to 8 sampled keys (deterministic cursor).
void evict_one(Shard& sh) {
  auto buckets = sh.keys.bucket_count();
  if (buckets == 0 || sh.keys.empty()) return;
  const std::string* victim = nullptr;
  double oldest = std::numeric_limits<double>::infinity();
  int sampled = 0;
  for (std::size_t step = 0; step < buckets && sampled < 8; ++step) {
    auto b = (sh.evict_cursor + step) % buckets;
    for (auto it = sh.keys.begin(b); it != sh.keys.end(b) && sampled < 8; ++it, ++sampled) {
      if (it->second.last_seen < oldest) {
        oldest = it->second.last_seen;
        victim = &it->first;
      }
    }
    if (sampled >= 8) sh.evict_cursor = (b + 1) % buckets;
  }
  if (victim) {
    std::string key = *victim;  // erase by a copy: the node owning *victim goes away
    sh.keys.erase(key);
  }
}

/// The fingerprint features rotation matching compares.
ActionedPrint print_of(std::string_view fp, const KeySketch& sk) {
  ActionedPrint p;
  p.key_fp = std::string(fp);
  std::array<campaign::Slot, 4> t = sk.templates;
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& s : t) {
    if (s.count == 0 || p.ntemplates == 2) break;
    p.templates[static_cast<std::size_t>(p.ntemplates++)] = s.id;
  }
  const campaign::NetSlot* best = nullptr;
  for (const auto& n : sk.networks)
    if (n.count > 0 && (!best || n.count > best->count)) best = &n;
  if (best) p.net = best->net;
  p.params = top_slot(sk.params).count > 0 ? top_slot(sk.params).id : 0;
  return p;
}

}  // namespace

void CampaignLinker::record(const Exchange& ex) {
  auto& im = *impl_;
  const auto cfg = im.cfg.load();
  const CampaignConfig& c = *cfg;
  if (!c.enabled) return;
  im.exchanges.fetch_add(1, std::memory_order_relaxed);
  double seen = im.first_ts.load(std::memory_order_relaxed);
  while (ex.ts < seen && !im.first_ts.compare_exchange_weak(seen, ex.ts, std::memory_order_relaxed)) {
  }

  // Everything that needs no lock is computed first.
  const auto& pf = ex.request.prompt;
  bool templated = pf.template_signature != 0 && pf.normalized_chars >= c.min_template_chars;
  NetworkId net = network_of(ex.client_ip, c.ipv4_prefix, c.ipv6_prefix);
  std::uint64_t params = campaign::params_hash(ex.request);
  std::uint64_t agent = ex.user_agent.empty() ? 0 : campaign::hash_text(ex.user_agent);
  auto bucket = bucket_of(ex.ts, c.bucket_seconds);

  auto& sh = im.shard_for(ex.key_fp);
  std::lock_guard lock(sh.mu);
  auto it = sh.keys.find(std::string_view(ex.key_fp));
  if (it == sh.keys.end()) {
    if (sh.keys.size() >= im.per_shard_cap) {
      evict_one(sh);
      im.evicted_cap.fetch_add(1, std::memory_order_relaxed);
    }
    it = sh.keys.emplace(ex.key_fp, KeySketch{}).first;
    it->second.first_seen = ex.ts;
    it->second.last_bucket = bucket;
  }
  KeySketch& sk = it->second;
  ++sk.requests;
  sk.last_seen = std::max(sk.last_seen, ex.ts);
  if (ex.request.assistant_turns > 0 || ex.request.tool_turns > 0) ++sk.continued;
  sk.prompt_tokens += prompt_tokens_of(ex);
  sk.completion_tokens += ex.response.completion_tokens;
  if (bucket > sk.last_bucket) {
    sk.activity = sk.activity_at(bucket);
    sk.last_bucket = bucket;
  }
  if (bucket <= sk.last_bucket && sk.last_bucket - bucket < 64) sk.activity |= std::uint64_t{1} << (sk.last_bucket - bucket);
  if (templated) {
    ++sk.templated;
    fold_slot(sk.templates, pf.template_signature, c.template_max_hamming);
  }
  if (pf.system_prompt_hash != 0) fold_slot(sk.systems, pf.system_prompt_hash);
  fold_slot(sk.params, params);
  if (agent != 0) fold_slot(sk.agents, agent);
  if (net.valid()) {
    ++sk.networked;
    bool found = false;
    std::size_t weakest = 0;
    for (std::size_t i = 0; i < sk.networks.size(); ++i) {
      auto& s = sk.networks[i];
      if (s.count > 0 && s.net == net) {
        ++s.count;
        found = true;
        break;
      }
      if (s.count < sk.networks[weakest].count) weakest = i;
    }
    if (!found) {
      if (sk.networks[weakest].count > 0) ++sk.network_misses;
      sk.networks[weakest] = campaign::NetSlot{net, 1};
    }
  }

  // Rotation: a young key is compared with the prints of actioned keys that
  // came from the same network (a hash lookup and a few comparisons).
  if (!sk.rotation_linked && im.have_actioned.load(std::memory_order_relaxed) &&
      sk.requests >= c.rotation_min_requests && sk.requests <= c.rotation_max_requests) {
    ActionedPrint mine = print_of(ex.key_fp, sk);
    if (mine.ntemplates == 0 || !mine.net.valid()) return;
    std::optional<RotationLink> link;
    {
      std::shared_lock alock(im.actioned_mu);
      auto [b, e] = im.actioned.equal_range(mine.net.key());
      const ActionedPrint* best = nullptr;  // the most recent matching action
      for (auto a = b; a != e; ++a) {
        const ActionedPrint& cand = a->second;
        if (cand.key_fp == mine.key_fp || cand.params != mine.params || !(cand.net == mine.net)) continue;
        if (sk.first_seen < cand.ts - c.rotation_slack_s || sk.first_seen > cand.ts + c.rotation_window_s) continue;
        bool same_template = false;
        for (int i = 0; i < cand.ntemplates && !same_template; ++i)
          for (int j = 0; j < mine.ntemplates && !same_template; ++j)
            same_template = std::popcount(cand.templates[static_cast<std::size_t>(i)] ^
                                          mine.templates[static_cast<std::size_t>(j)]) <= c.template_max_hamming;
        if (same_template && (!best || cand.ts > best->ts)) best = &cand;
      }
      if (best) {
        const ActionedPrint& old = *best;
        RotationLink r;
        r.ts = ex.ts;
        r.membership.campaign_id = "r-" + old.key_fp;
        r.membership.score = c.rotation_score;
        r.membership.members = 2;
        double gap = sk.first_seen - old.ts;
        r.membership.evidence.push_back(
            "likely rotation of " + old.key_fp + " (" + old.action + " at " + campaign::format_utc(old.ts) + "): same template T:" +
            campaign::hex16(mine.templates[0]).substr(0, 8) + ", same client network " + to_string(mine.net) +
            ", same request parameters");
        r.membership.evidence.push_back(
            "this key's first request came " + campaign::format_duration(std::abs(gap)) + (gap >= 0 ? " after" : " before") +
            " that action; linked after " + std::to_string(sk.requests) + " requests");
        link = std::move(r);
      }
    }
    if (link) {
      sk.rotation_linked = true;
      im.rotation_links.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard rlock(im.rotation_mu);
      im.rotations[ex.key_fp] = std::move(*link);
    }
  }
}

void CampaignLinker::note_actioned(std::string_view key_fp, std::string_view action, double ts) {
  auto& im = *impl_;
  const auto cfg = im.cfg.load();
  if (!cfg->enabled || !is_enforcing_action(action)) return;
  ActionedPrint p;
  {
    auto& sh = im.shard_for(key_fp);
    std::lock_guard lock(sh.mu);
    auto it = sh.keys.find(key_fp);
    if (it == sh.keys.end()) return;
    p = print_of(key_fp, it->second);
  }
  if (p.ntemplates == 0 || !p.net.valid()) return;  // nothing a rotated key could match
  p.action = std::string(action);
  p.ts = ts;
  auto nk = p.net.key();
  std::unique_lock lock(im.actioned_mu);
  auto [b, e] = im.actioned.equal_range(nk);
  for (auto a = b; a != e; ++a) {
    if (a->second.key_fp == p.key_fp) {  // actioned again: refresh
      a->second = std::move(p);
      return;
    }
  }
  im.actioned.emplace(nk, std::move(p));
  im.actioned_order.emplace_back(nk, std::string(key_fp));
  while (im.actioned.size() > cfg->max_actioned && !im.actioned_order.empty()) {
    auto [onk, ofp] = std::move(im.actioned_order.front());
    im.actioned_order.pop_front();
    auto [ob, oe] = im.actioned.equal_range(onk);
    for (auto a = ob; a != oe; ++a) {
      if (a->second.key_fp == ofp) {
        im.actioned.erase(a);
        im.actioned_evicted.fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
  }
  im.have_actioned.store(true, std::memory_order_relaxed);
}

bool CampaignLinker::maybe_cluster(double now) {
  const auto cfg = impl_->cfg.load();
  if (!cfg->enabled || now - impl_->last_cluster.load(std::memory_order_relaxed) < cfg->cluster_interval_s) return false;
  cluster(now);
  return true;
}

namespace {

/// The upper median (the middle element once sorted) of a non-empty list.
double upper_median(std::vector<double> v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

/// Whether a family's established keys (harvest_min_key_requests or more)
/// never converse and get answers several times as long as their prompts:
/// enough of them, a large enough share, a high enough median elaboration.
bool harvesting_shape(const std::vector<Node>& nodes, const std::vector<std::uint32_t>& family, const CampaignConfig& c) {
  std::size_t established = 0;
  std::vector<double> ratios;
  for (auto i : family) {
    if (nodes[i].requests < c.harvest_min_key_requests) continue;
    ++established;
    if (nodes[i].single_shot_only) ratios.push_back(nodes[i].elaboration);
  }
  return ratios.size() >= c.harvest_min_keys &&
         static_cast<double>(ratios.size()) >= c.harvest_single_shot_share * static_cast<double>(established) &&
         upper_median(std::move(ratios)) >= c.harvest_min_elaboration;
}

/// Copies one key's sketch into a clustering node; false when not eligible.
Node node_of(const std::string& fp, const KeySketch& sk, std::int64_t now_bucket, const CampaignConfig& c) {
  Node n;
  n.fp = fp;
  n.first_seen = sk.first_seen;
  n.last_seen = sk.last_seen;
  n.requests = sk.requests;
  for (const auto& s : sk.templates)
    if (s.count > 0 && (s.count * 5 >= sk.templated || s.count >= 3)) n.templates[static_cast<std::size_t>(n.ntemplates++)] = s.id;
  const auto& sys = top_slot(sk.systems);
  if (sys.count > 0 && sys.count * 2 >= sk.requests) n.system = sys.id;
  const auto& par = top_slot(sk.params);
  if (par.count > 0 && par.count * 2 >= sk.requests) n.params = par.id;
  const auto& ag = top_slot(sk.agents);
  if (ag.count > 0 && ag.count * 2 >= sk.requests) n.agent = ag.id;
  bool router = sk.networked >= 5 && static_cast<double>(sk.network_misses) >= c.router_min_network_misses * sk.networked;
  if (!router) {
    const campaign::NetSlot* best = nullptr;
    for (const auto& s : sk.networks)
      if (s.count > 0 && (!best || s.count > best->count)) best = &s;
    if (best && best->count * 2 >= sk.networked) n.net = best->net;
  }
  n.activity = sk.activity_at(now_bucket);
  n.single_shot_only = sk.requests >= c.harvest_min_key_requests && sk.continued == 0;
  n.elaboration = static_cast<double>(sk.completion_tokens) / static_cast<double>(std::max<std::uint64_t>(sk.prompt_tokens, 1));
  return n;
}

template <class Key>
std::vector<std::pair<Key, std::size_t>> tally(const std::vector<Key>& values) {
  std::map<Key, std::size_t> counts;
  for (const auto& v : values) ++counts[v];
  std::vector<std::pair<Key, std::size_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace

void CampaignLinker::cluster(double now) {
  auto& im = *impl_;
  std::lock_guard cluster_lock(im.cluster_mu);
  // Loaded under cluster_mu: a reconfigure that disables the linker takes
  // cluster_mu before clearing, so a run that saw `enabled` publishes first.
  const auto cfg = im.cfg.load();
  const CampaignConfig& c = *cfg;
  if (!c.enabled) return;
  im.last_cluster.store(now, std::memory_order_relaxed);
  im.cluster_runs.fetch_add(1, std::memory_order_relaxed);
  auto now_bucket = bucket_of(now, c.bucket_seconds);

  // 1. Snapshot eligible keys; evict idle ones.
  std::vector<Node> nodes;
  std::vector<std::string> evicted;
  for (std::size_t s = 0; s < im.nshards; ++s) {
    auto& sh = im.shards[s];
    std::lock_guard lock(sh.mu);
    for (auto it = sh.keys.begin(); it != sh.keys.end();) {
      const auto& sk = it->second;
      if (sk.last_seen < now - c.key_idle_ttl_s) {
        evicted.push_back(it->first);
        it = sh.keys.erase(it);
        im.evicted_idle.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (sk.last_seen >= now - c.window_s && sk.requests >= c.min_key_requests) nodes.push_back(node_of(it->first, sk, now_bucket, c));
      ++it;
    }
  }
  std::sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) { return a.fp < b.fp; });

  // Expire actioned prints and rotation links.
  {
    std::unique_lock lock(im.actioned_mu);
    while (!im.actioned_order.empty()) {
      const auto& [onk, ofp] = im.actioned_order.front();
      auto [ob, oe] = im.actioned.equal_range(onk);
      auto victim = oe;
      for (auto a = ob; a != oe; ++a)
        if (a->second.key_fp == ofp) victim = a;
      if (victim != oe && victim->second.ts >= now - c.rotation_window_s) break;
      if (victim != oe) {
        im.actioned.erase(victim);
        im.actioned_evicted.fetch_add(1, std::memory_order_relaxed);
      }
      im.actioned_order.pop_front();
    }
  }
  {
    std::lock_guard lock(im.rotation_mu);
    for (const auto& fp : evicted) im.rotations.erase(fp);
    for (auto it = im.rotations.begin(); it != im.rotations.end();) {
      if (it->second.ts < now - c.rotation_window_s) it = im.rotations.erase(it);
      else ++it;
    }
  }

  const auto n = static_cast<std::uint32_t>(nodes.size());

  // 2. Content families. Templates: LSH over 4 bands of 16 bits; candidates in
  //    a band bucket are verified by Hamming distance against a few leaders.
  UnionFind tuf(n);
  {
    struct Entry {
      std::uint32_t band;
      std::uint32_t node;
      std::uint64_t sig;
    };
    std::vector<Entry> entries, sorted;
    entries.reserve(static_cast<std::size_t>(n) * 4);
    for (std::uint32_t i = 0; i < n; ++i)
      for (int t = 0; t < nodes[i].ntemplates; ++t) {
        auto sig = nodes[i].templates[static_cast<std::size_t>(t)];
        for (std::uint32_t b = 0; b < 4; ++b)
          entries.push_back(Entry{(b << 16) | static_cast<std::uint32_t>((sig >> (16 * b)) & 0xFFFF), i, sig});
      }
    // Order by (band, node): entries are generated in node order, so a
    // stable LSD radix sort on the 18-bit band key (three 6-bit digits)
    // finishes it in linear time (this runs on every clustering pass).
    sorted.resize(entries.size());
    for (unsigned shift = 0; shift < 18; shift += 6) {
      std::array<std::uint32_t, 65> start{};
      for (const Entry& e : entries) ++start[((e.band >> shift) & 63U) + 1];
      for (std::size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
      for (const Entry& e : entries) sorted[start[(e.band >> shift) & 63U]++] = e;
      entries.swap(sorted);
    }
    std::vector<const Entry*> leaders;
    for (std::size_t i = 0; i < entries.size();) {
      std::size_t j = i;
      leaders.clear();
      for (; j < entries.size() && entries[j].band == entries[i].band; ++j) {
        bool matched = false;
        for (const Entry* l : leaders) {
          if (std::popcount(l->sig ^ entries[j].sig) <= c.template_max_hamming) {
            tuf.unite(l->node, entries[j].node);
            matched = true;
            break;
          }
        }
        if (!matched && leaders.size() < 16) leaders.push_back(&entries[j]);
      }
      i = j;
    }
  }
  std::vector<Family> families;
  {
    std::map<std::uint32_t, std::vector<std::uint32_t>> by_root;
    for (std::uint32_t i = 0; i < n; ++i)
      if (nodes[i].ntemplates > 0) by_root[tuf.find(i)].push_back(i);
    for (auto& [root, members] : by_root)
      if (members.size() >= 2) families.push_back(Family{FamilyKind::Template, std::move(members)});
    std::map<std::uint64_t, std::vector<std::uint32_t>> by_system, by_params;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (nodes[i].system != 0) by_system[nodes[i].system].push_back(i);
      if (nodes[i].params & 1) by_params[nodes[i].params].push_back(i);
    }
    for (auto& [h, members] : by_system)
      if (members.size() >= 2) families.push_back(Family{FamilyKind::System, std::move(members)});
    for (auto& [h, members] : by_params)
      if (members.size() >= 2 && static_cast<double>(members.size()) <= c.params_max_population_share * n)
        families.push_back(Family{FamilyKind::Params, std::move(members)});
  }

  // 3. Corroboration inside each family: a shared client network (unless the
  //    family is generic) or a synchronized start with overlapping activity.
  std::unordered_map<std::uint64_t, std::size_t> keys_per_net;
  for (const auto& nd : nodes)
    if (nd.net.valid()) ++keys_per_net[nd.net.key()];
  UnionFind fuf(n);
  std::uint64_t generic = 0;
  const double first_event = im.first_ts.load(std::memory_order_relaxed);
  const double warm = first_event + c.timing_warmup_s;
  for (const auto& fam : families) {
    std::vector<std::uint32_t> corroborated;
    std::map<std::uint64_t, std::size_t> nets;
    std::size_t with_net = 0;
    for (auto i : fam.nodes)
      if (nodes[i].net.valid()) {
        ++nets[nodes[i].net.key()];
        ++with_net;
      }
    bool is_generic = nets.size() >= c.generic_min_networks &&
                      static_cast<double>(nets.size()) >= c.generic_network_spread * static_cast<double>(with_net);
    if (is_generic) ++generic;
    std::vector<char> mark(fam.nodes.size(), 0);
    if (!is_generic) {
      for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
        const auto& nd = nodes[fam.nodes[k]];
        if (!nd.net.valid()) continue;
        auto shared = nets[nd.net.key()];
        if (shared >= 2 && static_cast<double>(shared) >= c.network_min_family_share * static_cast<double>(keys_per_net[nd.net.key()])) {
          mark[k] = 1;
          nodes[fam.nodes[k]].via_network = true;
        }
      }
    }
    // Timing: leader grouping by first request, no chaining beyond the window.
    std::vector<std::size_t> order;
    for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
      const auto& nd = nodes[fam.nodes[k]];
      // A first request says when a key started only if the key was not simply
      // running already when the linker started: well after the warmup and
      // after several of the key's own inter-arrival times.
      double gap = nd.requests > 1 ? (nd.last_seen - nd.first_seen) / (nd.requests - 1) : c.timing_warmup_s;
      if (nd.first_seen >= std::max(warm, first_event + c.timing_start_interarrivals * gap) &&
          std::popcount(nd.activity) >= c.timing_min_buckets)
        order.push_back(k);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return nodes[fam.nodes[a]].first_seen < nodes[fam.nodes[b]].first_seen;
    });
    std::vector<std::size_t> group;
    auto flush = [&] {
      if (group.size() >= 2)
        for (auto k : group) {
          mark[k] = 1;
          nodes[fam.nodes[k]].via_timing = true;
          fuf.unite(fam.nodes[group.front()], fam.nodes[k]);
        }
      group.clear();
    };
    for (auto k : order) {
      const auto& nd = nodes[fam.nodes[k]];
      if (!group.empty() && nd.first_seen - nodes[fam.nodes[group.front()]].first_seen <= c.timing_sync_window_s) {
        if (jaccard(nodes[fam.nodes[group.front()]].activity, nd.activity) >= c.timing_min_jaccard) group.push_back(k);
        continue;
      }
      flush();
      group.push_back(k);
    }
    flush();
    // Harvesting shape (families without shared networks or timing).
    if (harvesting_shape(nodes, fam.nodes, c)) {
      std::uint32_t first = UINT32_MAX;
      for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
        auto& nd = nodes[fam.nodes[k]];
        if (!nd.single_shot_only) continue;
        mark[k] = 1;
        nd.via_harvest = true;
        if (first == UINT32_MAX) first = fam.nodes[k];
        else fuf.unite(first, fam.nodes[k]);
      }
    }
    // Corroborated keys of one family form one campaign where they also agree
    // on something else: the same network, a timing group, the same parameter
    // vector or the same user agent. Two actors that happen to use one public
    // template from different networks with different clients stay apart.
    std::unordered_map<std::uint64_t, std::uint32_t> by_net, by_params, by_agent;
    auto join = [&](std::unordered_map<std::uint64_t, std::uint32_t>& index, std::uint64_t value, std::uint32_t node) {
      if (value == 0) return;
      auto [it, fresh] = index.try_emplace(value, node);
      if (!fresh) fuf.unite(it->second, node);
    };
    for (std::size_t k = 0; k < fam.nodes.size(); ++k) {
      if (!mark[k]) continue;
      const auto i = fam.nodes[k];
      if (nodes[i].via_network) join(by_net, nodes[i].net.key(), i);
      join(by_params, nodes[i].params, i);
      join(by_agent, nodes[i].agent, i);
    }
  }
  im.generic_families.store(generic, std::memory_order_relaxed);

  // 4. Components of corroborated keys become campaigns, with evidence.
  std::map<std::uint32_t, std::vector<std::uint32_t>> components;
  for (std::uint32_t i = 0; i < n; ++i)
    if (nodes[i].via_network || nodes[i].via_timing || nodes[i].via_harvest) components[fuf.find(i)].push_back(i);

  auto previous = im.current();
  struct Built {
    CampaignSummary summary;
    std::size_t size;
  };
  std::vector<Built> built;
  const bool hourly = std::abs(c.bucket_seconds - 3600.0) < 1e-9;
  for (auto& [root, members] : components) {
    if (members.size() < c.min_campaign_keys) continue;
    const std::size_t m = members.size();
    CampaignSummary cs;
    int kinds = 0;
    std::vector<std::uint32_t> tfam;
    std::vector<std::uint64_t> sys, par, ag, net;
    std::vector<std::uint32_t> reqs;
    std::size_t timed = 0, infra = 0, harvested = 0;
    std::vector<double> ratios;
    double since = std::numeric_limits<double>::infinity();
    std::uint64_t active = 0;
    std::map<std::uint64_t, NetworkId> net_ids;
    for (auto i : members) {
      const auto& nd = nodes[i];
      if (nd.ntemplates > 0) tfam.push_back(tuf.find(i));
      if (nd.system) sys.push_back(nd.system);
      if (nd.params) par.push_back(nd.params);
      if (nd.agent) ag.push_back(nd.agent);
      if (nd.net.valid()) {
        net.push_back(nd.net.key());
        net_ids[nd.net.key()] = nd.net;
      }
      if (nd.via_timing) ++timed;
      if (nd.via_network || nd.via_timing) ++infra;
      if (nd.via_harvest) {
        ++harvested;
        ratios.push_back(nd.elaboration);
      }
      reqs.push_back(nd.requests);
      since = std::min(since, nd.first_seen);
      active |= nd.activity;
      cs.member_fps.push_back(nd.fp);
    }
    std::string size_text = std::to_string(m);
    if (auto t = tally(tfam); !t.empty() && t.front().second >= 2) {
      std::uint64_t rep = nodes[t.front().first].templates[0];
      cs.evidence.push_back(std::to_string(t.front().second) + " of " + size_text + " keys share template T:" +
                            campaign::hex16(rep).substr(0, 8) + " (near-identical prompts, different filled-in slots)");
      ++kinds;
    }
    if (auto t = tally(sys); !t.empty() && t.front().second >= 2) {
      cs.evidence.push_back(std::to_string(t.front().second) + " keys share system prompt S:" +
                            campaign::hex16(t.front().first).substr(0, 8));
      ++kinds;
    }
    if (auto t = tally(net); !t.empty()) {
      std::size_t shown = std::min<std::size_t>(3, t.size()), covered = 0, top_cover = 0;
      std::string names;
      for (std::size_t k = 0; k < t.size(); ++k) {
        covered += t[k].second;
        if (k < shown) {
          top_cover += t[k].second;
          names += (k ? ", " : "") + to_string(net_ids[t[k].first]);
        }
      }
      if (t.size() > shown) names += " and " + std::to_string(t.size() - shown) + " more";
      cs.evidence.push_back(std::to_string(covered) + " of them come from " + std::to_string(t.size()) + " client network" +
                            (t.size() > 1 ? "s" : "") + " (" + names + ")");
      // Infrastructure counts as evidence when few networks hold most keys.
      if (top_cover * 2 >= m || t.size() * 4 <= m) ++kinds;
    }
    if (timed >= 2) {
      cs.evidence.push_back(std::to_string(timed) + " keys started within " + campaign::format_duration(c.timing_sync_window_s) +
                            " of a sibling key with overlapping activity");
      if (timed * 2 >= m) ++kinds;
    }
    {
      int recent = std::popcount(active & 0xFFFFFFULL);
      std::string unit = hourly ? "hours" : "buckets of " + campaign::format_duration(c.bucket_seconds);
      cs.evidence.push_back("together active in " + std::to_string(recent) + " of the last 24 " + unit + "; first request " +
                            campaign::format_utc(since));
      if (recent >= 20) ++kinds;
    }
    if (auto t = tally(par); !t.empty() && t.front().second * 2 >= m) {
      cs.evidence.push_back(std::to_string(t.front().second) + " send identical request parameters" +
                            ((t.front().first & 1) ? " shaped for harvesting (logprobs, n > 1 or logit_bias)" : ""));
      ++kinds;
    }
    if (auto t = tally(ag); !t.empty() && t.front().second * 2 >= m) {
      cs.evidence.push_back(std::to_string(t.front().second) + " use the same user agent");
      ++kinds;
    }
    if (harvested > 0) {
      char ratio[16];
      std::snprintf(ratio, sizeof ratio, "%.1f", upper_median(std::move(ratios)));
      cs.evidence.push_back(std::to_string(harvested) + " keys send only single-shot prompts (never a conversation) " +
                            "and get answers a median " + ratio + "x as long as their prompts" +
                            (infra == 0 ? " (no shared network or synchronised start: a behaviour link)" : ""));
    }
    std::sort(reqs.begin(), reqs.end());
    cs.evidence.push_back("median " + std::to_string(reqs[reqs.size() / 2]) + " requests per key; " +
                          campaign::with_commas(std::accumulate(reqs.begin(), reqs.end(), std::uint64_t{0})) + " in all");
    double size_bonus = 0.1 * std::min(1.0, std::log2(static_cast<double>(m) / static_cast<double>(c.min_campaign_keys)) / 5.0);
    cs.score = std::clamp(c.base_score + 0.06 * (kinds - 2) + size_bonus, 0.0, 0.99);
    // Linked by behaviour alone: medium evidence, never a blocking score.
    if (infra == 0) cs.score = std::min(cs.score, c.harvest_max_score);
    std::sort(cs.member_fps.begin(), cs.member_fps.end());
    built.push_back(Built{std::move(cs), m});
  }
  std::stable_sort(built.begin(), built.end(), [](const Built& a, const Built& b) {
    return a.summary.score != b.summary.score ? a.summary.score > b.summary.score : a.size > b.size;
  });
  if (built.size() > c.max_campaigns) {
    im.dropped_cap.fetch_add(built.size() - c.max_campaigns, std::memory_order_relaxed);
    built.resize(c.max_campaigns);
  }

  // Campaign ids stay stable across runs: a component keeps the id most of its
  // members had last time.
  auto next = std::make_shared<Published>();
  std::map<std::string, int> used;
  for (auto& b : built) {
    std::string id;
    if (previous) {
      std::map<std::string, std::size_t> votes;
      for (const auto& fp : b.summary.member_fps)
        if (auto it = previous->index.find(fp); it != previous->index.end()) ++votes[previous->campaigns[it->second].campaign_id];
      std::size_t best = 0;
      for (const auto& [vid, count] : votes)
        if (count > best && !used.count(vid)) {
          best = count;
          id = vid;
        }
    }
    if (id.empty()) id = "c-" + std::to_string(im.next_campaign++);
    used[id] = 1;
    b.summary.campaign_id = id;
    CampaignMembership mem;
    mem.campaign_id = id;
    mem.score = b.summary.score;
    mem.evidence = b.summary.evidence;
    mem.members = b.summary.member_fps.size();
    auto idx = static_cast<std::uint32_t>(next->campaigns.size());
    for (const auto& fp : b.summary.member_fps) next->index.emplace(fp, idx);
    next->memberships.push_back(std::move(mem));
    next->campaigns.push_back(std::move(b.summary));
  }
  std::lock_guard lock(im.pub_mu);
  im.published = std::move(next);
}

std::optional<CampaignMembership> CampaignLinker::membership(std::string_view key_fp) const {
  std::optional<CampaignMembership> out;
  if (auto p = impl_->current()) {
    if (auto it = p->index.find(key_fp); it != p->index.end()) out = p->memberships[it->second];
  }
  std::lock_guard lock(impl_->rotation_mu);
  if (auto it = impl_->rotations.find(key_fp); it != impl_->rotations.end()) {
    const auto& r = it->second.membership;
    if (!out) {
      out = r;
    } else {
      out->score = std::max(out->score, r.score);
      out->evidence.insert(out->evidence.end(), r.evidence.begin(), r.evidence.end());
    }
  }
  return out;
}

std::vector<CampaignSummary> CampaignLinker::campaigns() const {
  if (auto p = impl_->current()) return p->campaigns;
  return {};
}

void CampaignLinker::for_each_membership(
    const std::function<void(const std::string& key_fp, const CampaignMembership&)>& fn) const {
  auto p = impl_->current();
  if (p) {
    for (std::size_t i = 0; i < p->campaigns.size(); ++i)
      for (const auto& fp : p->campaigns[i].member_fps) fn(fp, p->memberships[i]);
  }
  std::vector<std::pair<std::string, CampaignMembership>> extra;
  {
    std::lock_guard lock(impl_->rotation_mu);
    for (const auto& [fp, link] : impl_->rotations)
      if (!p || !p->index.count(fp)) extra.emplace_back(fp, link.membership);
  }
  std::sort(extra.begin(), extra.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [fp, m] : extra) fn(fp, m);
}

CampaignStats CampaignLinker::stats() const {
  auto& im = *impl_;
  CampaignStats s;
  s.exchanges_recorded = im.exchanges.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < im.nshards; ++i) {
    std::lock_guard lock(im.shards[i].mu);
    s.keys_tracked += im.shards[i].keys.size();
  }
  s.keys_evicted_cap = im.evicted_cap.load(std::memory_order_relaxed);
  s.keys_evicted_idle = im.evicted_idle.load(std::memory_order_relaxed);
  if (auto p = im.current()) s.campaigns = p->campaigns.size();
  s.campaigns_dropped_cap = im.dropped_cap.load(std::memory_order_relaxed);
  s.generic_families = im.generic_families.load(std::memory_order_relaxed);
  {
    std::shared_lock lock(im.actioned_mu);
    s.actioned_tracked = im.actioned.size();
  }
  s.actioned_evicted = im.actioned_evicted.load(std::memory_order_relaxed);
  s.rotation_links = im.rotation_links.load(std::memory_order_relaxed);
  s.cluster_runs = im.cluster_runs.load(std::memory_order_relaxed);
  return s;
}

}  // namespace dg::detectors
