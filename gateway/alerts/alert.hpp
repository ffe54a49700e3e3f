#pragma once
/// What an alert says: the event (a decision created, escalated or lifted, or
/// a campaign detected), the decision, the key's fingerprint, the campaign,
/// the detectors' evidence, and metadata of the offending requests (hashes,
/// parameters, token counts). Never an API key, never prompt text.
///
/// Payloads: `alert_to_json` is the generic webhook body (schema in
/// docs/alerts.md); `alert_to_slack` is a Slack incoming-webhook message.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/features.hpp"
#include "detectors/finding.hpp"

namespace dg::gateway {

enum class AlertEvent : std::uint8_t { DecisionCreated, DecisionEscalated, DecisionLifted, CampaignDetected };
std::string_view to_string(AlertEvent e) noexcept;

/// The decision an alert is about (absent for a bare campaign_detected).
struct AlertDecision {
  std::string action;           ///< shadow | throttle | degrade | block
  std::string previous_action;  ///< escalated: what it was before; lifted: what was lifted
  std::string reason;
  std::string origin = "detector";  ///< detector | operator
  bool shadow = false;          ///< the policy only logs and alerts
  double created = 0;           ///< Unix seconds
  double expires = 0;           ///< Unix seconds; 0 = no expiry
};

/// Metadata of one offending request; numbers and hashes only.
struct AlertRequest {
  double ts = 0;
  detectors::Endpoint endpoint = detectors::Endpoint::Other;
  std::string model;
  // Kept as numbers (every exchange is remembered, few become alerts):
  // written as 16 hex digits in the alert JSON.
  std::uint64_t template_signature = 0;
  std::uint64_t system_prompt_hash = 0;  ///< 0 when none (null in JSON)
  std::optional<std::int64_t> max_tokens;
  std::uint32_t n = 1;
  std::optional<double> temperature;
  std::optional<double> top_p;
  bool stream = false;
  bool logprobs = false;
  std::uint32_t top_logprobs = 0;
  std::uint32_t logit_bias_size = 0;
  std::string reasoning_effort;
  bool asks_reasoning_for_answer = false;
  std::uint32_t prompt_chars = 0;
  int status = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  std::string client_ip;
  std::string user_agent;
};

/// Reduces an exchange to alert metadata (drops nothing secret because the
/// exchange holds no secret; copies only numbers, hashes and addresses).
AlertRequest alert_request_from(const detectors::Exchange& ex);

struct Alert {
  std::string id;               ///< unique per alert (random hex); receivers deduplicate on it
  AlertEvent event = AlertEvent::DecisionCreated;
  double ts = 0;                ///< event time, Unix seconds (grouping uses it)
  std::string key_fp;           ///< "fp:..."; may be empty for campaign_detected
  std::string campaign;         ///< campaign id, empty when none
  std::vector<std::string> campaign_keys;  ///< fingerprints of linked keys (capped by the producer)
  double risk = 0;
  std::optional<AlertDecision> decision;
  std::vector<detectors::Finding> findings;  ///< evidence per detector
  std::vector<AlertRequest> requests;        ///< offending requests, most recent last
  std::uint32_t grouped_count = 0;           ///< alerts of the same group suppressed since the last page (set by the dispatcher)
};

/// A fresh random alert id (32 hex digits).
std::string new_alert_id();

/// Generic webhook JSON body (compact).
std::string alert_to_json(const Alert& a);
/// Slack incoming-webhook body: `text` fallback plus Block Kit sections.
std::string alert_to_slack(const Alert& a);
/// One-line human summary ("block fp:0123… (reasoning_elicitation 0.92): …").
std::string alert_summary(const Alert& a);

}  // namespace dg::gateway
