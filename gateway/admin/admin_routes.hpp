#pragma once
/// The admin API's enforcement routes (all bearer-protected except probes):
///   GET  /healthz, /readyz                      (public)
///   GET  /v1/decisions[?all=true]               decisions in force (all = remembered ones too)
///   GET  /v1/decisions/FP
///   POST /v1/decisions {"key_fp","action","reason"[,"ttl_s"]}   operator block/throttle/degrade/shadow
///   DELETE /v1/decisions/FP [{"reason"}]        operator lift (detection leaves the key alone for the grace period)
///   GET  /v1/keys/FP                            assessment, evidence and decision of one key
///   GET  /v1/campaigns                          from the campaign provider (empty list until the linker lands)
///   GET  /v1/policy                             version, loaded_at, source, reload counters
///   POST /v1/policy/reload                      reload now; 422 with file:line:column when invalid

#include <boost/json/value.hpp>

#include <functional>

#include "detectors/policy_engine.hpp"
#include "gateway/admin/admin_server.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/control/policy_reloader.hpp"

namespace dg::gateway {

struct AdminContext {
  detectors::PolicyEngine* policy = nullptr;      ///< required
  DecisionStore* store = nullptr;                 ///< required
  PolicyReloader* reloader = nullptr;             ///< optional (no reload route effect without it)
  const AssessmentSource* detection = nullptr;    ///< optional (per-key assessment)
  std::function<boost::json::value()> campaigns;  ///< optional provider of the campaign list
  std::function<bool()> ready;                    ///< optional readiness probe (default: ready)
  std::function<double()> clock;                  ///< Unix seconds; default the system clock
};

void register_admin_routes(AdminServer& server, AdminContext context);

/// JSON form of a key assessment (risk, scores, findings with evidence, campaign).
boost::json::object assessment_to_json(const detectors::KeyAssessment& a);

}  // namespace dg::gateway
