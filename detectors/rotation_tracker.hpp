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
  std::string action;  ///< the enforcing action (actioned keys only)
  double ts = 0;       ///< when it was actioned (actioned keys only)
  std::array<std::uint64_t, 2> templates{};  ///< the two most counted template signatures
  int ntemplates = 0;
  NetworkId net;            ///< the most counted client network
  std::uint64_t params = 0;  ///< the most counted parameter vector (0: none)
};

/// The fingerprint features rotation matching compares, from a key's sketch.
ActionedPrint print_of(std::string_view fp, const KeySketch& sk);

/// Whether a key (`mine`, first seen at `first_seen`) may be a rotation of
/// the actioned key `old`: another key with the same client network and
/// parameters, a first request between rotation_slack_s before and
/// rotation_window_s after the action, and a template at most
/// template_max_hamming bits from one of `old`'s.
bool may_rotate_from(const ActionedPrint& old, const ActionedPrint& mine, double first_seen, const CampaignConfig& c);

/// The membership of a key linked as a rotation of `old` ("r-<old fp>",
/// rotation_score, two members) with its evidence; `requests`: the key's
/// requests so far.
CampaignMembership rotation_membership(const ActionedPrint& old, const ActionedPrint& mine, double first_seen,
                                       std::uint32_t requests, const CampaignConfig& c);

}  // namespace dg::detectors::campaign
