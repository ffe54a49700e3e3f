#pragma once
/// The admin API's enforcement routes (all bearer-protected except probes);
/// the contract, with every body and error, is docs/admin-api.openapi.yaml:
///   GET  /healthz, /readyz                      (public)
///   GET  /v1/decisions[?all=true]               decisions in force (all = remembered ones too)
///   GET  /v1/decisions/{key_fp}
///   POST /v1/decisions {"key_fp","action","reason"[,"ttl_s"][,"requests_per_minute"]}
///                                               operator block/throttle/degrade/shadow (or allow)
///   DELETE /v1/decisions/{key_fp} [{"reason"}]  operator lift of the decision in force (404 when none;
///                                               detection then leaves the key alone for the grace period)
///   GET  /v1/keys/{key_fp}                      assessment, evidence and decision of one key
///   GET  /v1/campaigns                          from the campaign provider (empty list until the linker lands)
///   GET  /v1/policy                             version, loaded_at, source, reload counters
///   POST /v1/policy/reload                      reload now; 422 with file:line:column when invalid
/// Bodies are validated strictly (admin_body.hpp): unknown fields, wrong
/// types and out-of-range values (ttl_s in [0, 315360000], requests_per_minute
/// in [0.01, 1e6] and only for throttle) are 400 with `param` naming the field.

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
