#pragma once
/// The phases of one clustering run of the campaign linker, as pure functions
/// over a snapshot of the tracked keys (internal to CampaignLinker; header
/// shared with its tests):
///
///   nodes = node_of(...) per eligible key, sorted by fingerprint
///   templates = template_groups(nodes, c)        near-identical template signatures
///   families = candidate_families(nodes, templates, c)   shared content
///   links = corroborate(nodes, families, first_event, c)  shared network, timing, harvest shape
///   drafts = assemble_campaigns(nodes, templates, links.campaigns, c)  evidence and score
///
/// Deterministic: the same nodes in the same order give the same result.
/// No clock, no locks, no I/O.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "detectors/campaign_config.hpp"
#include "detectors/campaign_linker.hpp"
#include "detectors/campaign_network.hpp"
#include "detectors/campaign_sketch.hpp"

namespace dg::detectors::campaign {

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

/// Union-find over node indices with path halving; the smaller index is
/// always the root, so components do not depend on the order of unions.
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

enum class FamilyKind { Template, System, Params };

/// Keys that share content: a template group, a system prompt or a rare
/// harvesting-shaped parameter vector (node indices, ascending).
struct Family {
  FamilyKind kind;
  std::vector<std::uint32_t> nodes;
};

/// A campaign before it gets its id.
struct CampaignDraft {
  CampaignSummary summary;  ///< campaign_id empty; member_fps sorted
  std::size_t size = 0;     ///< member keys
};

/// What corroboration found.
struct Corroboration {
  explicit Corroboration(std::size_t n) : campaigns(n) {}
  UnionFind campaigns;               ///< corroborated keys united into campaigns
  std::uint64_t generic_families = 0;  ///< families spread over too many networks to count their networks
};

/// Copies one key's sketch into a clustering node: the templates, system
/// prompt, parameters and user agent that dominate the key, and its network
/// unless the key looks like a router (many networks).
Node node_of(const std::string& fp, const KeySketch& sk, std::int64_t now_bucket, const CampaignConfig& c);

/// Unites the nodes whose template signatures are at most
/// c.template_max_hamming bits apart: LSH over 4 bands of 16 bits, the
/// candidates of a band bucket verified against up to 16 leaders.
UnionFind template_groups(const std::vector<Node>& nodes, const CampaignConfig& c);

/// The content families of two keys or more: template groups, system prompts,
/// and harvesting-shaped parameter vectors (odd hashes) held by at most
/// c.params_max_population_share of the nodes. In that order, each ordered by
/// its key (root index or hash).
std::vector<Family> candidate_families(const std::vector<Node>& nodes, UnionFind& templates, const CampaignConfig& c);

/// Whether a family's established keys (harvest_min_key_requests or more)
/// never converse and get answers several times as long as their prompts:
/// enough of them, a large enough share, a high enough median elaboration.
bool harvesting_shape(const std::vector<Node>& nodes, const std::vector<std::uint32_t>& family, const CampaignConfig& c);

/// Corroboration inside each family: a shared client network (unless the
/// family is generic), a synchronized start with overlapping activity, or a
/// harvesting shape. Sets the nodes' via_* flags and unites corroborated keys
/// that also agree on a network, a timing group, parameters or user agent.
/// `first_event`: the time of the first exchange the linker saw.
Corroboration corroborate(std::vector<Node>& nodes, const std::vector<Family>& families, double first_event,
                          const CampaignConfig& c);

/// The components of corroborated keys with at least c.min_campaign_keys
/// members, with their evidence and score, highest score first (then larger
/// first; otherwise in component order). Not capped at max_campaigns.
std::vector<CampaignDraft> assemble_campaigns(const std::vector<Node>& nodes, UnionFind& templates, UnionFind& campaigns,
                                              const CampaignConfig& c);

}  // namespace dg::detectors::campaign
