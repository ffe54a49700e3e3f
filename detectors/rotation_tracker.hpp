#pragma once
/// Key rotation matching of the campaign linker (internal to CampaignLinker;
/// header shared with its tests): what is remembered of an actioned key, and
/// whether a young key looks like its replacement. Pure functions; the
/// linker owns the stored prints and links.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "detectors/campaign_config.hpp"
#include "detectors/campaign_linker.hpp"
#include "detectors/campaign_network.hpp"
#include "detectors/campaign_sketch.hpp"

namespace dg::detectors::campaign {

/// What rotation matching remembers of a key (an actioned key, or a young key
/// being compared with them).
struct ActionedPrint {
  std::string key_fp;
  std::string action;  ///< the enforcing action, or "shadow" for a flagged key (stored keys only)
  double ts = 0;       ///< when it was actioned (stored keys only)
  /// Flagged keys only: the keys of the succession this one ends (1: none
  /// before it), and its last request as of the linker's last cluster run
  /// (`refreshed`), for the succession check.
  std::uint32_t chain = 1;
  double last_seen = 0;
  double refreshed = 0;
  std::array<std::uint64_t, 2> templates{};  ///< the two most counted template signatures
  int ntemplates = 0;
  NetworkId net;            ///< the most counted client network
  std::uint64_t params = 0;  ///< the most counted parameter vector (0: none)
};

/// The fingerprint features rotation matching compares, from a key's sketch.
ActionedPrint print_of(std::string_view fp, const KeySketch& sk);

/// Whether a stored print is of a key under only a shadow decision.
inline bool is_flagged(const ActionedPrint& p) noexcept { return p.action == "shadow"; }

/// Whether a key (`mine`, first seen at `first_seen`) may be a rotation of
/// the stored key `old`: another key with the same client network and
/// parameters, a first request between rotation_slack_s before and
/// rotation_window_s after the action, and a template at most
/// template_max_hamming bits from one of `old`'s. A flagged `old` must also
/// have been succeeded: silent before `first_seen` (as of a refresh after
/// it), and `first_seen` a real start, at least timing_warmup_s after the
/// linker's first event (`observed_from`).
bool may_rotate_from(const ActionedPrint& old, const ActionedPrint& mine, double first_seen, double observed_from,
                     const CampaignConfig& c);

/// The membership of a key linked as a rotation of `old` ("r-<old fp>",
/// rotation_score, two members; succeeding a flagged key: the chain's
/// length as members, rotation_chain_score once it reaches
/// rotation_chain_keys, else 0) with its evidence; `requests`: the key's
/// requests so far.
CampaignMembership rotation_membership(const ActionedPrint& old, const ActionedPrint& mine, double first_seen,
                                       std::uint32_t requests, const CampaignConfig& c);

}  // namespace dg::detectors::campaign
