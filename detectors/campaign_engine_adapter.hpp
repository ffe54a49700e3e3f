#pragma once
/// Glue between the campaign linker and the detection engine: a campaign (or
/// rotation) membership becomes an external Finding on every member key, so a
/// policy can act on all of them at once.
///
/// Intended wiring (the engine owner adds Engine::set_external_finding):
///
///   linker.cluster(now);
///   forward_campaign_findings(linker, now, [&](const std::string& fp, const Finding& f, double until) {
///     engine.set_external_finding(fp, f, until);
///   });
///
/// Live: after the periodic cluster() on the main context's timer. Replay: after
/// each maybe_cluster(ts) that returned true, before the record at `ts` is observed.
/// Rotation links appear between cluster() runs; replay may additionally call
/// campaign_finding(*linker.membership(fp)) for a young key after record().

#include <functional>
#include <string>

#include "detectors/campaign_linker.hpp"
#include "detectors/finding.hpp"

namespace dg::detectors {

/// Receives (key fingerprint, finding, valid-until event time).
using ExternalFindingSink = std::function<void(const std::string& key_fp, const Finding& finding, double until_ts)>;

/// The Finding for a membership: detector "campaign", the membership's score,
/// and evidence led by the campaign id and size.
Finding campaign_finding(const CampaignMembership& membership);

/// Calls `sink` once per key with a membership, with until = now + finding_ttl_s.
/// Returns the number of keys forwarded.
std::size_t forward_campaign_findings(const CampaignLinker& linker, double now, const ExternalFindingSink& sink);

}  // namespace dg::detectors
