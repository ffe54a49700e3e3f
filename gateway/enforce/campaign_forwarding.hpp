#pragma once
/// How campaign findings reach the detection engine, live and in replay alike:
/// the linker's published memberships after each clustering, and a rotation
/// link (a young key that matches an actioned key) at once.

#include <cstddef>

#include "detectors/campaign_linker.hpp"
#include "detectors/engine.hpp"

namespace dg::gateway {

/// Forwards every membership of the last published result to the engine as an
/// external "campaign" finding (after cluster()). Returns the number of keys forwarded.
std::size_t forward_memberships(const detectors::CampaignLinker& linker, detectors::Engine& engine, double now);

/// After linker.record(ex): a rotation link (young key matching an actioned
/// key) goes to the engine at once, so the same exchange is evaluated with it.
void forward_rotation_link(const detectors::CampaignLinker& linker, detectors::Engine& engine,
                           const detectors::Exchange& ex);

}  // namespace dg::gateway
