#pragma once
/// Enforcement decisions: which action applies to a key, why, and until when.
/// Plain data shared by the policy engine (detectors/), the decision table,
/// journal, audit log and admin API (gateway/), and replay.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dg::detectors {

/// What happens to a key's requests. Ordered by severity (Allow lowest).
enum class Action : std::uint8_t { Allow, Shadow, Throttle, Degrade, Block };

std::string_view to_string(Action action) noexcept;
/// Parses "allow" | "shadow" | "throttle" | "degrade" | "block".
std::optional<Action> action_from_string(std::string_view text) noexcept;
/// Severity for comparisons: Allow 0 < Shadow 1 < Throttle 2 < Degrade 3 < Block 4.
constexpr int severity(Action a) noexcept { return static_cast<int>(a); }

/// Degrade parameters: how the request body is rewritten.
struct DegradeParams {
  std::int64_t max_tokens = 256;  ///< cap on max_tokens / max_completion_tokens / max_output_tokens (0 = none)
  bool strip_logprobs = true;     ///< remove logprobs / top_logprobs
  bool strip_logit_bias = true;   ///< remove logit_bias
  bool force_single_choice = true;  ///< force n = 1
};

/// Who took a decision.
enum class Origin : std::uint8_t { Detector, Operator };
std::string_view to_string(Origin origin) noexcept;
std::optional<Origin> origin_from_string(std::string_view text) noexcept;

/// One key's decision. `expires == 0` means it never expires. An operator
/// "lift" is a Decision with action Allow and origin Operator: it ends any
/// earlier decision and keeps detection from acting on the key until it expires.
struct Decision {
  std::string key_fp;
  Action action = Action::Allow;      ///< what the proxy enforces
  Action intended = Action::Allow;    ///< for Shadow: the action a non-shadow rule would have taken
  std::string rule;                   ///< policy rule name ("" for operator decisions)
  std::string reason;                 ///< short human-readable reason
  std::vector<std::string> evidence;  ///< detector evidence (words and numbers, never prompt text)
  Origin origin = Origin::Detector;
  double created = 0;                 ///< Unix seconds (event time)
  double expires = 0;                 ///< Unix seconds; 0 = never
  std::uint32_t offense_count = 1;    ///< detector decisions on this key within the escalation memory
  std::uint32_t block_count = 0;      ///< blocks on this key within the escalation memory, this one included
  double risk = 0;                    ///< the key's risk when decided
  std::string campaign;               ///< campaign id, if any

  // Parameters of the action, copied from the policy so that a decision
  // enforces what was decided even after a reload.
  double throttle_rpm = 0;             ///< Throttle: requests per minute
  double throttle_burst = 0;           ///< Throttle: bucket size (requests)
  DegradeParams degrade;               ///< Degrade: how the body is rewritten
  std::uint64_t output_token_budget = 0;  ///< tokens per budget window for this key (0 = policy default)

  /// True while the decision is in force at `now`.
  bool active(double now) const noexcept { return expires == 0 || now < expires; }
};

/// Read access to the latest decision of each key (active or expired but
/// still remembered for escalation). Implemented by gateway::DecisionTable
/// and by replay's in-memory table.
class DecisionView {
 public:
  virtual ~DecisionView() = default;
  /// The latest decision recorded for `key_fp`, whether or not it expired.
  virtual std::optional<Decision> latest(std::string_view key_fp) const = 0;
};

}  // namespace dg::detectors
