#include "detectors/campaign_linker.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "detectors/campaign_clustering.hpp"
#include "detectors/campaign_sketch.hpp"
#include "detectors/rotation_tracker.hpp"
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

using campaign::ActionedPrint;
using campaign::fold_slot;
using campaign::KeySketch;
using campaign::Node;

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

struct RotationLink {
  CampaignMembership membership;
  double ts = 0;
};

struct Published {
  std::vector<CampaignSummary> campaigns;       ///< highest score first
  std::vector<CampaignMembership> memberships;  ///< parallel to campaigns
  StringMap<std::uint32_t> index;               ///< key fp -> campaign index
};

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

  /// The clustering nodes of the keys active within window_s with
  /// min_key_requests, sorted by fingerprint. Erases the keys idle longer
  /// than key_idle_ttl_s and appends their fingerprints to `evicted`.
  std::vector<Node> snapshot_nodes(double now, const CampaignConfig& c, std::vector<std::string>& evicted);
  /// Drops actioned prints and rotation links older than rotation_window_s,
  /// and the rotation links of `evicted` keys.
  void expire_rotations(double now, const CampaignConfig& c, const std::vector<std::string>& evicted);
  /// Copies into each flagged print its key's last request from `nodes`
  /// (sorted by fp; a key not there is idle) and marks it refreshed at `now`.
  void refresh_flagged(const std::vector<Node>& nodes, double now);

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
    ActionedPrint mine = campaign::print_of(ex.key_fp, sk);
    if (mine.ntemplates == 0 || !mine.net.valid()) return;
    std::optional<RotationLink> link;
    {
      std::shared_lock alock(im.actioned_mu);
      auto [b, e] = im.actioned.equal_range(mine.net.key());
      // The most recent matching action; a flagged key's succession only
      // when no actioned key matches.
      const ActionedPrint* best = nullptr;
      const double observed_from = im.first_ts.load(std::memory_order_relaxed);
      for (auto a = b; a != e; ++a) {
        const ActionedPrint& cand = a->second;
        if (!campaign::may_rotate_from(cand, mine, sk.first_seen, observed_from, c)) continue;
        const bool stronger = !best || (campaign::is_flagged(*best) && !campaign::is_flagged(cand)) ||
                              (campaign::is_flagged(*best) == campaign::is_flagged(cand) && cand.ts > best->ts);
        if (stronger) best = &cand;
      }
      if (best) link = RotationLink{campaign::rotation_membership(*best, mine, sk.first_seen, sk.requests, c), ex.ts};
    }
    if (link) {
      sk.rotation_linked = true;
      // A succession too short to count is kept (unscored) for its length.
      if (link->membership.score > 0) im.rotation_links.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard rlock(im.rotation_mu);
      im.rotations[ex.key_fp] = std::move(*link);
    }
  }
}

void CampaignLinker::note_actioned(std::string_view key_fp, std::string_view action, double ts) {
  auto& im = *impl_;
  const auto cfg = im.cfg.load();
  const bool flagged = action == "shadow";
  if (!cfg->enabled || (!flagged && !is_enforcing_action(action))) return;
  ActionedPrint p;
  {
    auto& sh = im.shard_for(key_fp);
    std::lock_guard lock(sh.mu);
    auto it = sh.keys.find(key_fp);
    if (it == sh.keys.end()) return;
    p = campaign::print_of(key_fp, it->second);
  }
  if (p.ntemplates == 0 || !p.net.valid()) return;  // nothing a rotated key could match
  p.action = std::string(action);
  p.ts = ts;
  if (flagged) {
    // A flagged key that itself succeeded flagged keys extends their chain.
    std::lock_guard rlock(im.rotation_mu);
    if (auto r = im.rotations.find(key_fp); r != im.rotations.end() && r->second.membership.campaign_id.starts_with("r-"))
      p.chain = static_cast<std::uint32_t>(std::max<std::size_t>(1, r->second.membership.members));
  }
  auto nk = p.net.key();
  std::unique_lock lock(im.actioned_mu);
  auto [b, e] = im.actioned.equal_range(nk);
  for (auto a = b; a != e; ++a) {
    if (a->second.key_fp == p.key_fp) {  // actioned again: refresh (a shadow does not replace an action)
      if (!flagged || campaign::is_flagged(a->second)) a->second = std::move(p);
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

std::vector<Node> CampaignLinker::Impl::snapshot_nodes(double now, const CampaignConfig& c,
                                                       std::vector<std::string>& evicted) {
  const auto now_bucket = bucket_of(now, c.bucket_seconds);
  std::vector<Node> nodes;
  for (std::size_t s = 0; s < nshards; ++s) {
    auto& sh = shards[s];
    std::lock_guard lock(sh.mu);
    for (auto it = sh.keys.begin(); it != sh.keys.end();) {
      const auto& sk = it->second;
      if (sk.last_seen < now - c.key_idle_ttl_s) {
        evicted.push_back(it->first);
        it = sh.keys.erase(it);
        evicted_idle.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (sk.last_seen >= now - c.window_s && sk.requests >= c.min_key_requests)
        nodes.push_back(campaign::node_of(it->first, sk, now_bucket, c));
      ++it;
    }
  }
  std::sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) { return a.fp < b.fp; });
  return nodes;
}

void CampaignLinker::Impl::refresh_flagged(const std::vector<Node>& nodes, double now) {
  std::unique_lock lock(actioned_mu);
  for (auto& [nk, p] : actioned) {
    if (!campaign::is_flagged(p)) continue;
    const auto it = std::lower_bound(nodes.begin(), nodes.end(), p.key_fp,
                                     [](const Node& n, const std::string& fp) { return n.fp < fp; });
    if (it != nodes.end() && it->fp == p.key_fp) p.last_seen = std::max(p.last_seen, it->last_seen);
    p.refreshed = now;
  }
}

void CampaignLinker::Impl::expire_rotations(double now, const CampaignConfig& c, const std::vector<std::string>& evicted) {
  {
    std::unique_lock lock(actioned_mu);
    while (!actioned_order.empty()) {
      const auto& [onk, ofp] = actioned_order.front();
      auto [ob, oe] = actioned.equal_range(onk);
      auto victim = oe;
      for (auto a = ob; a != oe; ++a)
        if (a->second.key_fp == ofp) victim = a;
      if (victim != oe && victim->second.ts >= now - c.rotation_window_s) break;
      if (victim != oe) {
        actioned.erase(victim);
        actioned_evicted.fetch_add(1, std::memory_order_relaxed);
      }
      actioned_order.pop_front();
    }
  }
  {
    std::lock_guard lock(rotation_mu);
    for (const auto& fp : evicted) rotations.erase(fp);
    for (auto it = rotations.begin(); it != rotations.end();) {
      if (it->second.ts < now - c.rotation_window_s) it = rotations.erase(it);
      else ++it;
    }
  }
}

namespace {

/// The published form of `built`, in its order. Campaign ids stay stable
/// across runs: a campaign keeps the id most of its members had in
/// `previous` (an id not taken yet in this run); otherwise it gets
/// "c-<next_campaign++>".
std::shared_ptr<Published> with_stable_ids(std::vector<campaign::CampaignDraft> built, const Published* previous,
                                           std::uint64_t& next_campaign) {
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
    if (id.empty()) id = "c-" + std::to_string(next_campaign++);
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
  return next;
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

  // 1. Snapshot eligible keys; evict idle ones, expire actioned prints and
  //    rotation links.
  std::vector<std::string> evicted;
  std::vector<Node> nodes = im.snapshot_nodes(now, c, evicted);
  im.expire_rotations(now, c, evicted);
  im.refresh_flagged(nodes, now);

  // 2. Content families; 3. corroboration; 4. campaigns with evidence
  //    (detectors/campaign_clustering.hpp).
  auto templates = campaign::template_groups(nodes, c);
  const auto families = campaign::candidate_families(nodes, templates, c);
  auto links = campaign::corroborate(nodes, families, im.first_ts.load(std::memory_order_relaxed), c);
  im.generic_families.store(links.generic_families, std::memory_order_relaxed);
  auto built = campaign::assemble_campaigns(nodes, templates, links.campaigns, c);
  if (built.size() > c.max_campaigns) {
    im.dropped_cap.fetch_add(built.size() - c.max_campaigns, std::memory_order_relaxed);
    built.resize(c.max_campaigns);
  }

  // 5. Publish, with ids carried over from the previous result.
  const auto previous = im.current();
  auto next = with_stable_ids(std::move(built), previous.get(), im.next_campaign);
  std::lock_guard lock(im.pub_mu);
  im.published = std::move(next);
}

std::optional<CampaignMembership> CampaignLinker::membership(std::string_view key_fp) const {
  std::optional<CampaignMembership> out;
  if (auto p = impl_->current()) {
    if (auto it = p->index.find(key_fp); it != p->index.end()) out = p->memberships[it->second];
  }
  std::lock_guard lock(impl_->rotation_mu);
  // (An unscored link is a succession too short to count: not a membership.)
  if (auto it = impl_->rotations.find(key_fp); it != impl_->rotations.end() && it->second.membership.score > 0) {
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
      if (link.membership.score > 0 && (!p || !p->index.count(fp))) extra.emplace_back(fp, link.membership);
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
